"""Calls of a DAO's methods, by name: which verbs write and which read, and whether a
method of the file's own DAO-layer class is seen to touch the database itself."""
from __future__ import annotations

import re
from typing import Dict, List

import libcst as cst

from . import Action, DaoFacts, SessionFacts
from .dao import dao_call
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
    itself (asked once the file is walked, when every call's facts exist)."""

    def __init__(self) -> None:
        self.methods: Dict[str, Dict[str, cst.FunctionDef]] = {}

    def note(self, node: cst.ClassDef) -> None:
        body = getattr(node.body, "body", ())
        self.methods[node.name.value] = {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}

    def does(self, rule, class_name: str, method: str, action: Action) -> bool:
        """The class's method reads (writes), or a method of that name in another class of
        the file does: `self` may be any of them (an interface whose body raises
        NotImplementedError, a mixin, a subclass overriding it)."""
        own = self.methods.get(class_name, {}).get(method)
        candidates = [own] if own is not None else []
        candidates += [m[method] for name, m in self.methods.items() if name != class_name and method in m]
        return any(self._does(rule, found, action) for found in candidates)

    @staticmethod
    def _does(rule, found: cst.FunctionDef, action: Action) -> bool:
        hits: List[cst.Call] = []

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                use = rule.fact(SessionFacts, call)
                if use is not None and use.action is action:
                    hits.append(call)

        visit_in_place(found.body, Finder())
        return bool(hits)
