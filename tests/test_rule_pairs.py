"""Two codes on one node must not pull in different directions (issue 14). Every pair of
codes that fires at one position, over every rule example and the sample project, must be
in this table with the reason their advice agrees; a pair that is one root cause reported
twice is fixed in the rules, not listed here."""
import collections
import json
import subprocess
import sys

from dao_lint import rules  # noqa: F401 - registers the rule classes
from dao_lint.checking.engine import check_source
from dao_lint.rules.base import registry
from dao_lint.testing import example_config

from .conftest import SAMPLE

ALLOWED = {
    ("DAO101", "DAO106"): "a DAO commits inside a loop: both move the commit out, to the unit of work",
    ("DAO105", "DAO106"): "a commit outside a boundary, in a loop: both say the unit of work commits, once",
    ("DAO201", "DAO701"): "a write outside a DAO, per item: a DAO's bulk method answers both",
    ("DAO202", "DAO702"): "a read outside a DAO, per item: a DAO method reading with in_() answers both",
    ("DAO202", "DAO601"): "an existence check outside a DAO: moving it into a DAO is a step toward the "
    "constraint DAO601 asks for, which removes the read altogether; neither undoes the other",
}


def _pairs():
    found = collections.defaultdict(list)

    def add(diagnostics, origin):
        at = collections.defaultdict(set)
        for d in diagnostics:
            at[(d.path, d.line, d.column)].add(d.code)
        for where, codes in at.items():
            codes = sorted(codes)
            for i, first in enumerate(codes):
                for second in codes[i + 1 :]:
                    found[(first, second)].append(f"{origin}: {where}")

    for code, rule in registry.items():
        for example in (*rule.invalid, *rule.valid):
            add(check_source(example.code, example.path, example_config(example)).diagnostics, code)
    out = subprocess.run(
        [sys.executable, "-m", "dao_lint", "check", ".", "--format", "json", "--no-cache", "--extend-select", "DAO111"],
        cwd=SAMPLE, capture_output=True, text=True, check=False,
    ).stdout
    from dao_lint.foundations.types import Diagnostic, Span

    add([Diagnostic(r["path"], Span(r["line"], r["column"], r["end_line"], r["end_column"]), r["code"], r["name"], r["message"]) for r in json.loads(out)], "sample app")
    return found


def test_every_pair_of_codes_on_one_node_agrees():
    found = _pairs()
    unexplained = {pair: where[:2] for pair, where in found.items() if pair not in ALLOWED}
    assert unexplained == {}


def test_the_table_lists_only_pairs_that_occur():
    # a stale entry would hide a future contradiction under an old reason
    assert set(ALLOWED) <= set(_pairs())
