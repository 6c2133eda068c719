"""Calls of a DAO's methods, by name: which verbs write and which read, and whether a
method of the file's own DAO-layer class is seen to touch the database itself."""
from __future__ import annotations

import re
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from . import Action, DaoFacts, SessionFacts
from .dao import dao_call
from .names import dotted_name
from .walk import visit_in_place

__all__ = ["DAO_READS", "DAO_WRITES", "OwnMethods", "dao_method_call", "named"]

DAO_READS = ("find", "get")
# the verbs a DAO method's name starts with (`create`, `create_chart`; private helpers
# too: `self._set_trial_value(...)` once per item writes once per item)
DAO_WRITES = ("create", "update", "delete", "upsert", "set", "add", "insert", "save", "remove", "put", "store")


def named(method: str, verbs) -> bool:  # noqa: ANN001
    """`method` is one of `verbs`, or starts with one and an underscore (`add_tag`, not `address`)."""
    name = method.lstrip("_")
    return name in verbs or re.split(r"_|(?=[A-Z])", name, maxsplit=1)[0].lower() in verbs


def dao_method_call(rule, node: cst.Call):  # noqa: ANN202
    """(DAO, method, its own class's) for `ChartDAO.create(...)`, and for `cls.create(...)`
    / `self.create(...)` inside a class of the DAO layer (whose method must then be seen to
    read or write itself: `OwnMethods`)."""
    found = dao_call(rule, node)
    if found is not None:
        return (*found, False)
    func = node.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("cls", "self"):
        scope = rule.fact(DaoFacts, node)
        if scope is not None and scope.in_dao and scope.class_name:
            # a DAO class's method is DAO work by its name; another class of the DAO layer
            # (a store, a model) must be seen to do it
            return scope.class_name, func.attr.value, not scope.dao_class
    return None


class OwnMethods:
    """The methods of the file's classes, and whether one reads or writes the database
    (asked once the file is walked, when every call's facts exist)."""

    def __init__(self) -> None:
        self.methods: Dict[str, Dict[str, cst.FunctionDef]] = {}
        self.bases: Dict[str, List[str]] = {}

    def note(self, node: cst.ClassDef) -> None:
        body = getattr(node.body, "body", ())
        self.methods[node.name.value] = {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}
        self.bases[node.name.value] = [dotted_name(b.value) or "" for b in node.bases]

    def does(self, rule, class_name: str, method: str, action: Action, seen: Optional[Set[Tuple[str, str]]] = None) -> bool:
        """The method `self.<method>` reaches from the class (its own, or a base's of the
        file) reads (writes), directly or through further `self.`/`cls.` calls. Where the
        class leaves it to others (not defined, or only an interface raising
        NotImplementedError), any class of the file defining it counts: `self` may be any
        of them (a mixin's partner, a subclass)."""
        seen = set() if seen is None else seen
        if (class_name, method) in seen:
            return False
        seen.add((class_name, method))
        own = self._resolve(class_name, method, 0)
        if own is not None and not _abstract(own):
            candidates = [own]
        else:
            candidates = [m[method] for name, m in self.methods.items() if name != class_name and method in m and not _abstract(m[method])]
        return any(self._does(rule, class_name, found, action, seen) for found in candidates)

    def _resolve(self, class_name: str, method: str, depth: int) -> Optional[cst.FunctionDef]:
        found = self.methods.get(class_name, {}).get(method)
        if found is not None or depth > 8:
            return found
        for base in self.bases.get(class_name, ()):
            found = self._resolve(base, method, depth + 1)
            if found is not None:
                return found
        return None

    def _does(self, rule, class_name: str, found: cst.FunctionDef, action: Action, seen: Set[Tuple[str, str]]) -> bool:
        hits: List[cst.Call] = []
        verbs = DAO_WRITES if action is Action.WRITE else DAO_READS
        own = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                use = rule.fact(SessionFacts, call)
                if use is not None and use.action is action:
                    hits.append(call)
                    return
                # or through a DAO's method named for it (`ChartDAO.create(...)`), or the
                # class's own method that does it (`cls.create(**data)`)
                dao = dao_method_call(rule, call)
                if dao is None or not named(dao[1], verbs):
                    return
                if not dao[2] or own.does(rule, class_name, dao[1], action, seen):
                    hits.append(call)

        visit_in_place(found.body, Finder())
        return bool(hits)


def _abstract(node: cst.FunctionDef) -> bool:
    """The body only raises NotImplementedError, passes or is `...` (a docstring aside)."""
    body = getattr(node.body, "body", ())
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if isinstance(small, cst.Pass) or (isinstance(small, cst.Expr) and isinstance(small.value, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString))):
                continue
            if isinstance(small, cst.Raise) and small.exc is not None:
                error = small.exc.func if isinstance(small.exc, cst.Call) else small.exc
                if dotted_name(error) == "NotImplementedError":
                    continue
            return False
    return True
