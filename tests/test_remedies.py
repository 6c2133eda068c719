"""Every rule page's "Use instead" is the remedy of its example (issue 14): at the path the
page names, the example fires its code, the remedy is clean under every default rule (a
user who follows the advice reaches a clean check), and it does what the example did (the
same functions, each returning a value where the example's did)."""
import ast

import pytest

from dao_lint import rules  # noqa: F401 - registers the rule classes
from dao_lint.foundations.config import parse_table
from dao_lint.checking.engine import check_source
from dao_lint.rules.base import registry


def _default_config(example):
    return parse_table(dict(example.options), "<remedy>", ".")


def _functions(code):
    """[(name, returns a value)] in source order."""
    tree = ast.parse(code)
    functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return [(f.name, any(isinstance(r, ast.Return) and r.value is not None for r in ast.walk(f))) for f in functions]


def _does_what_the_example_did(example, remedy):
    """Each function of the example is still there (by name, or in order where the remedy
    renames, as DAO301 asks) and returns a value where it did; a remedy may add functions
    (a listener the fix writes, a setUp that opens the rolled-back transaction)."""
    before, after = _functions(example), _functions(remedy)
    by_name = dict(after)
    renamed = [item for item in after if item[0] not in dict(before)]
    for name, returns in before:
        if name in by_name:
            if by_name[name] != returns:
                return False
        elif not renamed or renamed.pop(0)[1] != returns:
            return False
    return True


@pytest.mark.parametrize("code", sorted(registry))
def test_the_page_example_fires_and_its_remedy_is_clean(code):
    rule = registry[code]
    example = rule.invalid[0]
    remedy = example.remedy if example.remedy is not None else example.after
    assert remedy is not None, f"{code}: the page example needs a remedy (or a fix's `after`)"
    config = _default_config(example)
    if not rule.default_enabled:
        config = parse_table({**dict(example.options), "extend-select": [code]}, "<remedy>", ".")
    fired = {d.code for d in check_source(example.code, example.path, config).diagnostics}
    assert code in fired, f"{code}: the example does not fire at {example.path}"
    left = [f"{d.code} at {d.line}: {d.message}" for d in check_source(remedy, example.path, config).diagnostics]
    assert left == [], f"{code}: following the advice at {example.path} still gives {left}"
    assert _does_what_the_example_did(example.code, remedy), f"{code}: the remedy does not do what the example did"


def test_the_behaviour_check_sees_a_dropped_return():
    example = "def create(user):\n    try:\n        add(user)\n    except Error:\n        return None\n    return user\n"
    assert not _does_what_the_example_did(example, "def create(user):\n    add(user)\n")
    assert _does_what_the_example_did(example, "def create(user):\n    add(user)\n    return user\n")


FIXED = [(code, number) for code, rule in sorted(registry.items()) for number, example in enumerate(rule.invalid) if example.after is not None]


@pytest.mark.parametrize("code,number", FIXED)
def test_a_fix_creates_no_finding_of_another_code(code, number):
    """What `dao-lint fix` writes, checked again with every rule: nothing that was not there."""
    from dao_lint.testing import fixed

    example = registry[code].invalid[number]
    config = parse_table({**dict(example.options), "select": ["ALL"]}, "<fixed>", ".")
    before = {d.code for d in check_source(example.code, example.path, config).diagnostics}
    after = {d.code for d in check_source(fixed(example), example.path, config).diagnostics}
    assert after - before == set(), f"{code}: the fix of example {number} creates {sorted(after - before)}"


def _blank_line_errors(code):
    import pycodestyle

    style = pycodestyle.StyleGuide(quiet=True, select=["E3"])
    checker = pycodestyle.Checker(lines=code.splitlines(keepends=True), options=style.options)
    found = []
    checker.report_error = lambda line, column, text, check: found.append(text.split()[0])  # noqa: ARG005
    checker.check_all()
    return set(found)


@pytest.mark.parametrize("code,number", FIXED)
def test_a_fix_keeps_pycodestyle_blank_lines(code, number):
    from dao_lint.testing import fixed

    example = registry[code].invalid[number]
    assert _blank_line_errors(fixed(example)) <= _blank_line_errors(example.code)


def test_the_blank_line_check_sees_pycodestyle_errors():
    assert _blank_line_errors("import x\ndef a():\n    pass\n\n\n\n\ndef b():\n    pass\n") == {"E302", "E303"}
