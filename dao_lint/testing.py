"""Helpers for rule authors: run a rule's examples and compare with what they expect."""
from __future__ import annotations

from typing import Iterator, List, Optional, Set, Tuple, Type, Union

from .config import Config
from .engine import check_source
from .rule import Invalid, Rule, Valid, registry

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
    """`CODE at LINE:COL` (1-based) for every diagnostic in `code`, all rules selected."""
    config = config or Config(select=("ALL",))
    result = check_source(code, path, config)
    return [f"{d.code} at {d.line}:{d.column + 1}" for d in result.diagnostics]


def check_example(rule: Type[Rule], example: Union[Valid, Invalid], config: Optional[Config] = None) -> None:
    """Raise ExampleFailure unless the example behaves as it says.

    A valid example produces no diagnostic of `rule`. An invalid one produces exactly its
    `expect` list, counting only the codes that `expect` names (which must include `rule`).
    """
    found = found_in(example.code, example.path, config)
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
