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


_NODE_TYPES: Dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    """`issubclass(kind, cst.CSTNode)`, remembered: CSTNode is an ABC, and its subclass test
    was a tenth of a traversal when asked of every child."""
    answer = _NODE_TYPES.get(kind)
    if answer is None:
        answer = _NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return answer


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
    walkable: Dict[type, bool] = {}  # the type of a field's value -> whether to go into it

    def judge(kind: type) -> bool:
        walkable[kind] = answer = kind not in skip and _is_node(kind)
        return answer

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
                    go = walkable.get(type(child))
                    if go or (go is None and judge(type(child))):
                        visit(child)
            else:
                go = walkable.get(kind)
                if go or (go is None and judge(kind)):
                    visit(value)
            if after_field and field in after_field:
                for function in after_field[field]:
                    function(node)
        for function in on_leave:
            function(node)

    visit(module)


# keyed by where the class is defined: visitors are often classes local to a function,
# a new class object on every call but always with the same methods. Per class: its hook
# names, the trivia it skips, and (filled as met) a plan per node type and whether to go
# into a value of a given type.
_METHODS: Dict[Tuple[str, str], Tuple[FrozenSet[str], FrozenSet[type], Dict[type, tuple], Dict[type, bool]]] = {}


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
        known = _METHODS[where] = (names, frozenset(t for t in _TRIVIA if t.__name__ not in wanted), {}, {})
    methods, skip, plans, walkable = known

    def judge(kind: type) -> bool:
        walkable[kind] = answer = kind not in skip and _is_node(kind)
        return answer

    def plan_for(kind: type) -> tuple:
        name = kind.__name__
        before, after = f"visit_{name}", f"leave_{name}"
        fields = any(m.startswith(f"visit_{name}_") or m.startswith(f"leave_{name}_") for m in methods)
        plans[kind] = plan = (before if before in methods else None, after if after in methods else None, name if fields else None)
        return plan

    def visit(current: cst.CSTNode) -> None:
        before, after, hooked = plans.get(type(current)) or plan_for(type(current))
        if before is None or getattr(visitor, before)(current) is not False:
            for field in child_fields(current):
                if hooked is not None:
                    hook = f"visit_{hooked}_{field}"
                    if hook in methods:
                        getattr(visitor, hook)(current)
                value = getattr(current, field)
                kind = type(value)
                if kind is tuple or kind is list:
                    for child in value:
                        go = walkable.get(type(child))
                        if go or (go is None and judge(type(child))):
                            visit(child)
                else:
                    go = walkable.get(kind)
                    if go or (go is None and judge(kind)):
                        visit(value)
                if hooked is not None:
                    hook = f"leave_{hooked}_{field}"
                    if hook in methods:
                        getattr(visitor, hook)(current)
        if after is not None:
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
                stack.extend(child for child in value if _is_node(type(child)))
            elif _is_node(type(value)):
                stack.append(value)
    return False
