"""The registry, the docs generated from it, and the rule contract."""
import re

import pytest

from dao_lint.foundations.config import Config, _KEYS
from dao_lint.checking.docs import render_all, write_docs
from dao_lint.rules.base import TOOL_CODES, Invalid, Valid, all_codes, registry
from dao_lint.testing import ExampleFailure, check_example

from .conftest import ROOT


def test_codes_names_and_fields():
    names = set()
    for code, rule in registry.items():
        assert re.fullmatch(r"DAO[1-9]\d\d", code)
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", rule.name), rule.name
        assert rule.name not in names
        names.add(rule.name)
        assert re.fullmatch(r"R\d+(/R\d+)?", rule.seed)
        assert rule.fix_safety in ("none", "safe", "unsafe")
        assert (rule.fix_title is None) == (rule.fix_safety == "none")
        if rule.fix_title:
            assert any(e.after is not None for e in rule.invalid), f"{code} has a fix but no `after`"
        assert rule.__doc__ and len(rule.__doc__.strip().split("\n\n")) >= 2, f"{code} needs what and why"
        assert "{" not in rule.message or "}" in rule.message
        assert code not in rule.message, "reporters add the code"
        for option in rule.options:
            assert option in _KEYS, f"{code} documents unknown option {option}"
    assert {t.code for t in TOOL_CODES} == {"DAO000", "DAO001", "DAO002", "DAO003"}
    assert set(all_codes()) == set(registry) | {t.code for t in TOOL_CODES}


def test_static_code_table_matches_the_registry():
    from dao_lint.foundations.codes import CODES

    expected = {t.code: (t.name, True) for t in TOOL_CODES}
    expected.update({code: (rule.name, rule.default_enabled) for code, rule in registry.items()})
    assert CODES == expected
    from dao_lint.foundations.codes import FIXES

    fixes = {code: rule.fix_safety for code, rule in registry.items() if rule.fix_safety != "none"}
    assert FIXES == {**fixes, "DAO003": "safe"}
    from dao_lint.foundations.codes import PLANNED_FIXES

    assert PLANNED_FIXES == {code for code, rule in registry.items() if rule.fix_scope == "project" and rule.fix_safety != "none"}


def test_docs_are_up_to_date():
    stale = write_docs(str(ROOT / "docs" / "rules"), check=True)
    assert stale == [], f"run `dao-lint docs` to regenerate: {stale}"


def test_every_rule_has_a_page_with_the_sections_in_order():
    pages = render_all()
    sections = ["## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety", "## Options", "## References"]
    for code, rule in registry.items():
        page = pages[f"{code}.md"]
        assert page.startswith(f"# {rule.name} ({code})\n")
        positions = [page.index(s) for s in sections]
        assert positions == sorted(positions)
        assert rule.invalid[0].code.strip() in page
        assert code in pages["README.md"]


def test_readme_links_every_rule():
    readme = (ROOT / "README.md").read_text()
    for code in registry:
        assert f"docs/rules/{code}.md" in readme


def test_check_example_catches_wrong_expectations():
    rule = registry["DAO101"]
    example = rule.invalid[0]
    wrong = Invalid(example.code, expect="DAO101 at 1:1", path=example.path)
    with pytest.raises(ExampleFailure):
        check_example(rule, wrong)
    with pytest.raises(ExampleFailure):
        check_example(rule, Valid(example.code, path=example.path))


def test_a_crashing_rule_is_an_internal_error_and_the_others_still_report(monkeypatch):
    from dao_lint.api import lint_source
    from dao_lint.rules.boundary import QueryOutsideDao

    def visit_Call(self, node):  # named like the method it replaces: libcst looks at __name__
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(QueryOutsideDao, "visit_Call", visit_Call)
    source = "class ChartDAO:\n    def create(self, chart):\n        chart.ready = True\n        db.session.commit()\n"
    found = lint_source(source, "a.py", Config())
    assert [d.code for d in found] == ["DAO000", "DAO101"]
    assert "DAO202" in found[0].message and "query-outside-dao" in found[0].message and "boom" in found[0].message


def test_internal_error_exits_2_from_the_cli(monkeypatch, in_tmp):
    from click.testing import CliRunner

    from dao_lint.frontends.cli import cli
    from dao_lint.rules.boundary import QueryOutsideDao

    def visit_Call(self, node):
        return 1 / 0

    monkeypatch.setattr(QueryOutsideDao, "visit_Call", visit_Call)
    (in_tmp / "a_dao.py").write_text("class ChartDAO:\n    def create(self, chart):\n        chart.ready = True\n        db.session.commit()\n")
    (in_tmp / "b_dao.py").write_text("class TagDAO:\n    def create(self, tag):\n        tag.ready = True\n        db.session.commit()\n")
    result = CliRunner().invoke(cli, ["check", ".", "--jobs", "1"])
    assert result.exit_code == 2
    assert result.output.count("DAO000") == 2 and result.output.count("DAO101") == 2


def test_every_rule_summary_is_one_line_with_single_spaces():
    """`dao-lint rules` prints one line per rule: a docstring's wrapped first paragraph must
    not carry its indentation into it."""
    from dao_lint.rules.base import registry

    for code, rule in registry.items():
        summary = rule.summary()
        assert summary and "\n" not in summary and "  " not in summary, (code, summary)
