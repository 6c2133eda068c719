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

__all__ = ["walk", "child_fields"]

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
    wanted = {name.split("_", 2)[1] for name in table}
    skip = frozenset(cls for cls in _TRIVIA if cls.__name__ not in wanted)
    by_type: Dict[type, Tuple[tuple, tuple, Dict[str, tuple], Dict[str, tuple]]] = {}

    def plan(cls: type) -> Tuple[tuple, tuple, Dict[str, tuple], Dict[str, tuple]]:
        name = cls.__name__
        prefix_visit, prefix_leave = f"visit_{name}_", f"leave_{name}_"
        entry = (
            tuple(table.get(f"visit_{name}", ())),
            tuple(table.get(f"leave_{name}", ())),
            {k[len(prefix_visit):]: tuple(v) for k, v in table.items() if k.startswith(prefix_visit)},
            {k[len(prefix_leave):]: tuple(v) for k, v in table.items() if k.startswith(prefix_leave)},
        )
        by_type[cls] = entry
        return entry

    def visit(node: cst.CSTNode) -> None:
        cls = type(node)
        entry = by_type.get(cls) or plan(cls)
        on_visit, on_leave, on_field, after_field = entry
        for function in on_visit:
            function(node)
        for field in child_fields(node):
            before = on_field.get(field) if on_field else None
            if before:
                for function in before:
                    function(node)
            value = getattr(node, field)
            if isinstance(value, cst.CSTNode):
                if type(value) not in skip:
                    visit(value)
            elif isinstance(value, (tuple, list)):
                for child in value:
                    if isinstance(child, cst.CSTNode) and type(child) not in skip:
                        visit(child)
            after = after_field.get(field) if after_field else None
            if after:
                for function in after:
                    function(node)
        for function in on_leave:
            function(node)

    visit(module)
