"""Helpers for rule authors: run a rule's examples and compare with what they expect.

May import: api, fix, running, checking, rules, model, analysis, foundations.
"""
from __future__ import annotations

from typing import Iterator, List, Optional, Set, Tuple, Type, Union

from .foundations.config import Config
from .checking.engine import check_source
from .rules.base import Invalid, Rule, Valid, registry

__all__ = ["examples", "found_in", "check_example", "ExampleFailure"]


class ExampleFailure(AssertionError):
    """An example did not produce what it says."""


def examples() -> Iterator[Tuple[Type[Rule], Union[Valid, Invalid], str]]:
    """Every (rule, example, test id) in the registry."""
    from . import rules  # noqa: F401

    for code in sorted(registry):
        rule = registry[code]
        for kind, items in (("valid", rule.valid), ("invalid", rule.invalid)):
            for number, example in enumerate(items, 1):
                label = example.title.replace(" ", "-") or str(number)
                yield rule, example, f"{code}-{kind}-{label}"


def found_in(code: str, path: str, config: Optional[Config] = None) -> List[str]:
    """`CODE at LINE:COL` (1-based) for every diagnostic in `code`, all rules selected, the
    project's (cross-file) ones included, as `check` reports them for a one-file project."""
    from .api import merge_findings, project_extras

    config = config or Config(select=("ALL",))
    result = check_source(code, path, config, summarize=True)
    if result.summary is not None:  # a one-file project: its cross-file findings too
        extras = project_extras([result], {result.summary.path: config})
        result = merge_findings(result, extras.get(result.summary.path, ()), path, config, code.encode("utf-8"))
    return [f"{d.code} at {d.line}:{d.column + 1}" for d in result.diagnostics]


def example_config(example: Union[Valid, Invalid], root: str = ".") -> Config:
    """The configuration an example runs with: all codes, plus the example's own options."""
    from .foundations.config import parse_table

    table = {"select": ["ALL"], **dict(example.options)}
    return parse_table(table, "<example>", root)


def fixed(example: Union[Valid, Invalid]) -> str:
    """The example's code after `dao-lint fix --unsafe-fixes`, as a one-file project."""
    import os
    import tempfile

    from .fix.fixer import fix_files

    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, *example.path.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(example.code)
        report = fix_files([(path, example_config(example, root))], unsafe=True, write=False)
        for item in report.files:
            if item.error:
                raise ExampleFailure(f"fix failed on the example: {item.error}")
            if item.after is not None:
                return item.after.decode("utf-8")
    return example.code


def check_example(rule: Type[Rule], example: Union[Valid, Invalid], config: Optional[Config] = None) -> None:
    """Raise ExampleFailure unless the example behaves as it says.

    A valid example produces no diagnostic of `rule`. An invalid one produces exactly its
    `expect` list, counting only the codes that `expect` names (which must include `rule`).
    """
    found = found_in(example.code, example.path, config or example_config(example))
    if isinstance(example, Valid):
        own = [f for f in found if f.startswith(rule.code + " ")]
        if own:
            raise ExampleFailure(f"valid example of {rule.code} produced {own}:\n{example.code}")
        return
    codes: Set[str] = {e.split()[0] for e in example.expect}
    if rule.code not in codes:
        raise ExampleFailure(f"invalid example of {rule.code} does not expect {rule.code}")
    relevant = sorted(f for f in found if f.split()[0] in codes)
    if relevant != sorted(example.expect):
        raise ExampleFailure(
            f"invalid example of {rule.code}: expected {sorted(example.expect)}, found {relevant}:\n{example.code}"
        )
    if example.after is not None:
        result = fixed(example)
        if result != example.after:
            raise ExampleFailure(f"fix of {rule.code}'s example gave:\n{result}\nexpected:\n{example.after}")
