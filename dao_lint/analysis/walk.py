"""One traversal of a libcst tree for many batched visitors, without rebuilding the tree.

libcst's `visit_batched` goes through `_visit_and_replace_children`, which constructs (and
validates) a new copy of every node even for a read-only visitor: that was a quarter of a
cold check. `walk` reads the children in place, in the order libcst would visit them, and
calls the same `visit_<Type>`, `visit_<Type>_<field>`, `leave_<Type>_<field>` and
`leave_<Type>` functions in the same order. Whitespace and punctuation subtrees are skipped
unless a visitor asks for one of their types.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, FrozenSet, List, Sequence, Tuple

import libcst as cst
from libcst._nodes import op as _op
from libcst._nodes import whitespace as _whitespace

__all__ = ["walk", "child_fields", "visit_in_place", "contains"]

_ORDER: Dict[object, Tuple[str, ...]] = {}
_NULLABLE: Dict[type, Tuple[str, ...]] = {}
_TRIVIA: FrozenSet[type] = frozenset(
    value
    for module in (_op, _whitespace)
    for value in vars(module).values()
    if isinstance(value, type) and issubclass(value, cst.CSTNode)
)


class _FieldRecorder(cst.CSTVisitor):
    """Records the fields `_visit_and_replace_children` visits, without descending."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: List[str] = []

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        self.fields.append(attribute)

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False


def _probe(node: cst.CSTNode) -> Tuple[str, ...]:
    recorder = _FieldRecorder()
    node._visit_and_replace_children(recorder)  # one shallow copy, once per class
    return tuple(dict.fromkeys(recorder.fields))


def child_fields(node: cst.CSTNode) -> Tuple[str, ...]:
    """The fields of `node` holding children, in libcst's visiting order.

    Learned from the first node of each class, and again for each pattern of unset optional
    fields (libcst skips an f-string's `format_spec` hooks when it is unset).
    """
    cls = type(node)
    nullable = _NULLABLE.get(cls)
    if nullable is None:
        nullable = _NULLABLE[cls] = tuple(f.name for f in dataclasses.fields(node) if f.default is None)
    key = (cls, tuple(getattr(node, name) is None for name in nullable)) if nullable else cls
    order = _ORDER.get(key)
    if order is None:
        order = _ORDER[key] = _probe(node)
    return order


def walk(module: cst.CSTNode, visitors: Sequence[object]) -> None:
    """Run the batched visitors (objects with `get_visitors()`) over `module` in one pass."""
    table: Dict[str, List[Callable]] = {}
    for visitor in visitors:
        for name, function in visitor.get_visitors().items():
            table.setdefault(name, []).append(function)
    by_name: Dict[str, Tuple[list, list, Dict[str, list], Dict[str, list]]] = {}
    for key, functions in table.items():
        kind, _, rest = key.partition("_")
        name, _, field = rest.partition("_")
        entry = by_name.setdefault(name, ([], [], {}, {}))
        if not field:
            entry[0 if kind == "visit" else 1].extend(functions)
        else:
            entry[2 if kind == "visit" else 3].setdefault(field, []).extend(functions)
    skip = frozenset(cls for cls in _TRIVIA if cls.__name__ not in by_name)
    nothing: Tuple[list, list, Dict[str, list], Dict[str, list]] = ([], [], {}, {})
    plans: Dict[type, tuple] = {}

    def visit(node: cst.CSTNode) -> None:
        cls = type(node)
        plan = plans.get(cls)
        if plan is None:
            child_fields(node)  # learns whether the class has optional fields
            plan = plans[cls] = (*by_name.get(cls.__name__, nothing), None if _NULLABLE[cls] else _ORDER[cls])
        on_visit, on_leave, on_field, after_field, fixed = plan
        for function in on_visit:
            function(node)
        for field in fixed if fixed is not None else child_fields(node):
            if on_field and field in on_field:
                for function in on_field[field]:
                    function(node)
            value = getattr(node, field)
            kind = type(value)
            if kind is tuple or kind is list:
                for child in value:
                    if type(child) not in skip and isinstance(child, cst.CSTNode):
                        visit(child)
            elif value is not None and kind not in skip and isinstance(value, cst.CSTNode):
                visit(value)
            if after_field and field in after_field:
                for function in after_field[field]:
                    function(node)
        for function in on_leave:
            function(node)

    visit(module)


# keyed by where the class is defined: visitors are often classes local to a function,
# a new class object on every call but always with the same methods
_METHODS: Dict[Tuple[str, str], Tuple[FrozenSet[str], FrozenSet[type]]] = {}


def visit_in_place(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`node.visit(visitor)` for a read-only CSTVisitor, without copying the tree: a
    `visit_<Type>` returning False skips the children, as in libcst."""
    cls = type(visitor)
    where = (cls.__module__, cls.__qualname__)
    known = _METHODS.get(where)
    if known is None:
        names = frozenset(
            name for name in dir(cls) if (name.startswith("visit_") or name.startswith("leave_")) and not getattr(getattr(cls, name), "_is_no_op", False)
        )
        wanted = {name.split("_", 2)[1] for name in names}
        known = _METHODS[where] = (names, frozenset(t for t in _TRIVIA if t.__name__ not in wanted))
    methods, skip = known

    def visit(current: cst.CSTNode) -> None:
        name = type(current).__name__
        before = f"visit_{name}"
        if before in methods and getattr(visitor, before)(current) is False:
            pass
        else:
            for field in child_fields(current):
                hook = f"visit_{name}_{field}"
                if hook in methods:
                    getattr(visitor, hook)(current)
                value = getattr(current, field)
                if type(value) is tuple or type(value) is list:
                    for child in value:
                        if type(child) not in skip and isinstance(child, cst.CSTNode):
                            visit(child)
                elif value is not None and type(value) not in skip and isinstance(value, cst.CSTNode):
                    visit(value)
                hook = f"leave_{name}_{field}"
                if hook in methods:
                    getattr(visitor, hook)(current)
        after = f"leave_{name}"
        if after in methods:
            getattr(visitor, after)(current)

    visit(node)


def contains(tree: cst.CSTNode, node: cst.CSTNode) -> bool:
    """Whether `node` (this very object) is `tree` or one of its descendants."""
    stack = [tree]
    while stack:
        current = stack.pop()
        if current is node:
            return True
        for field in child_fields(current):
            value = getattr(current, field)
            if type(value) is tuple or type(value) is list:
                stack.extend(child for child in value if isinstance(child, cst.CSTNode))
            elif isinstance(value, cst.CSTNode):
                stack.append(value)
    return False
