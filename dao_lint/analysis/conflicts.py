"""Where a conflict is already caught: the code under an `except IntegrityError`.

R6's remedy for a check-then-write is a unique constraint and a caught `IntegrityError`. A
check whose write runs inside a `try` that catches it, inside a `with` of a context manager
of the module that catches it (`with _create_scoped_session(...) as session:`), or inside a
private helper every caller in the module runs that way, has the remedy in place already.
A walker's hooks call this tracker; it answers whether a finding stands, now or at the end.
"""
from __future__ import annotations

from typing import Dict, List, Set, Tuple

import libcst as cst

from .names import callee_name, dotted_name
from .walk import visit_in_place

__all__ = ["ConflictCover"]


def _conflict_handler(handler: cst.ExceptHandler) -> bool:
    if handler.type is None:
        return False
    types = [e.value for e in handler.type.elements] if isinstance(handler.type, cst.Tuple) else [handler.type]
    return any((dotted_name(t) or "").rsplit(".", 1)[-1] == "IntegrityError" for t in types)


def _catches_conflict(function: cst.FunctionDef) -> bool:
    found: List[bool] = []

    class Finder(cst.CSTVisitor):
        def visit_ExceptHandler(self, handler: cst.ExceptHandler) -> None:
            if _conflict_handler(handler):
                found.append(True)

    visit_in_place(function, Finder())
    return bool(found)


class ConflictCover:
    """The `try`s and `with`s around the walk's position that catch a conflict."""

    def __init__(self) -> None:
        self.forgiving: Set[str] = set()  # the module's functions that catch IntegrityError
        self.forgiven: List[cst.CSTNode] = []
        self.functions: List[str] = []
        self.held: Dict[str, List[tuple]] = {}  # private helper -> its findings, held
        #: private helper -> each call: (forgiven where it is, the function making it)
        self.callers: Dict[str, List[Tuple[bool, str]]] = {}

    def module(self, node: cst.Module) -> None:
        self.forgiving = {s.name.value for s in node.body if isinstance(s, cst.FunctionDef) and _catches_conflict(s)}

    def enter(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Try) and any(_conflict_handler(h) for h in node.handlers):
            self.forgiven.append(node)
        elif isinstance(node, cst.With) and any(isinstance(i.item, cst.Call) and callee_name(i.item) in self.forgiving for i in node.items):
            self.forgiven.append(node)
        elif isinstance(node, cst.FunctionDef):
            self.functions.append(node.name.value)

    def leave(self, node: cst.CSTNode) -> None:
        if self.forgiven and self.forgiven[-1] is node:
            self.forgiven.pop()
        elif isinstance(node, cst.FunctionDef):
            self.functions.pop()

    def call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and dotted_name(func.value) in ("self", "cls"):
            name = func.attr.value
        else:
            name = func.value if isinstance(func, cst.Name) else ""
        if name.startswith("_"):
            self.callers.setdefault(name, []).append((bool(self.forgiven), self.functions[-1] if self.functions else ""))

    def stands(self, finding: tuple) -> bool:
        """Whether a finding made here stands now; a private helper's is held for the end."""
        if self.forgiven:
            return False
        if self.functions and self.functions[-1].startswith("_"):
            self.held.setdefault(self.functions[-1], []).append(finding)
            return False
        return True

    def released(self) -> List[Tuple]:
        """The held findings of helpers not every caller of which catches the conflict
        (itself, or by being such a helper: `_create_trial(session)` calling `_set_value`)."""
        covered: Set[str] = set()
        changed = True
        while changed:
            changed = False
            for helper, calls in self.callers.items():
                if helper not in covered and calls and all(here or caller in covered for here, caller in calls):
                    covered.add(helper)
                    changed = True
        return [finding for helper, findings in self.held.items() if helper not in covered for finding in findings]
