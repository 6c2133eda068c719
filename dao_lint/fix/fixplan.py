"""What `dao-lint fix` plans to change project-wide, and what it keeps with reasons: the plan
`dao_lint.planning` makes and the codemods carry out."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from ..model.summary import FunctionKey, Position

__all__ = ["FixPlan", "Kept", "Removed"]


@dataclass(frozen=True)
class Kept:
    """A finding the fix left in place, and why."""

    code: str
    path: str
    position: Position
    function: str
    reason: str
    #: where the uncovered call paths start: functions to declare boundaries
    entries: Tuple[FunctionKey, ...] = ()


@dataclass(frozen=True)
class Removed:
    """A commit or rollback the fix removes, and the units of work that now commit its writes."""

    code: str
    path: str
    function: str
    covers: Tuple[str, ...]


@dataclass
class FixPlan:
    nested: Dict[str, Set[str]] = field(default_factory=dict)
    drop_flag: Dict[str, Set[str]] = field(default_factory=dict)
    drop_keywords: Dict[str, Set[Tuple[Position, Position]]] = field(default_factory=dict)
    decorate: Dict[str, Set[str]] = field(default_factory=dict)
    #: of those, the boundaries no callee's rewrite needs: decorated only if one of their own
    #: commits goes
    own_only: Dict[str, Set[str]] = field(default_factory=dict)
    sqlite: Dict[str, Set[str]] = field(default_factory=dict)
    sqlite_literal: Dict[str, Set[str]] = field(default_factory=dict)  # engines with a plain sqlite URL
    #: DAO301 renames: path -> {qualname of the method: new name}, and call spans -> new name
    rename_defs: Dict[str, Dict[str, str]] = field(default_factory=dict)
    rename_calls: Dict[str, Dict[Tuple[Position, Position], str]] = field(default_factory=dict)
    kept: List[Kept] = field(default_factory=list)
    removed: List[Removed] = field(default_factory=list)
    decorator: Optional[str] = None
    decorator_called: bool = False
    unsafe: bool = False
    first_party: Tuple[str, ...] = ()  # the project's top-level packages

    def paths(self) -> Set[str]:
        found: Set[str] = set()
        for table in (self.nested, self.drop_flag, self.drop_keywords, self.decorate, self.sqlite, self.rename_defs, self.rename_calls):
            found |= {p for p, items in table.items() if items}
        return found
