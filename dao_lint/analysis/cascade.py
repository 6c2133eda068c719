"""Hand-made cascades: a parent's children removed by hand right before the parent is deleted.

One fact for DAO501, which reports each removal step, and for the rules that must not give
other advice on the same statements (DAO701 would ask to bulk the child deletes; the answer
is the cascade, RULES.md "one root cause, one finding").

The shapes, each in one block of statements, with only flushes between the steps and the
delete:

- `parent.children = []` / `parent.children.clear()`, or `for child in parent.children:
  session.delete(child)`, then `session.delete(parent)` or a DAO's `delete(parent)`;
- a loop over a collection that empties each item's relationships (`for m in models:
  m.owners = []; session.merge(m)`, possibly under `if models:`), then a bulk delete of those
  items (`query(M).filter(M.id.in_(ids)).delete()`, `execute(delete(M)...)`, a DAO's
  `delete(models)`) whose statement names the collection or a name computed from it;
- the children found by their own query on the parent's key (`for m in
  session.query(Member).filter(Member.group_id == group.id): m.delete()`, possibly under an
  `if`), deleted one by one, and the parent deleted later in the same block (`group.delete()`,
  `session.delete(group)`): here other statements may stand between, the key names the parent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Set, Tuple

import libcst as cst

from .names import dotted_name
from .session import SessionUse
from .rows import ROW_WRITES
from .structure import statement_call
from .walk import visit_in_place

__all__ = ["Cascade", "manual_cascades"]

UseOf = Callable[[cst.Call], Optional[SessionUse]]
DaoMethodOf = Callable[[cst.Call], Optional[str]]


@dataclass
class Cascade:
    """Removal steps of one parent (or collection of parents) and the delete they precede."""

    parent: str
    steps: List[cst.CSTNode] = field(default_factory=list)  # the statements to report
    loops: List[cst.CSTNode] = field(default_factory=list)  # loops whose writes are part of it


def manual_cascades(statements: Sequence[cst.BaseStatement], use_of: UseOf, dao_method_of: DaoMethodOf) -> List[Cascade]:
    """The hand-made cascades among one block's statements."""
    found: List[Cascade] = []
    pending: List[tuple] = []  # (kind, parent, step statements, loops): kind "one" or "many"
    for number, statement in enumerate(statements):
        step = _step(statement, use_of)
        if step is not None:
            pending.append(step)
            continue
        deleted = _deleted(statement, use_of, dao_method_of) if pending else None
        if deleted is not None:
            target, referenced = deleted
            derived = _derived_names(statements, {parent for kind, parent, _, _ in pending if kind == "many"})
            matched = [
                p for p in pending
                if (p[0] == "one" and p[1] == target) or (p[0] == "many" and (p[1] in referenced or referenced & derived.get(p[1], set())))
            ]
            for _, parent, steps, loops in matched:
                found.append(Cascade(parent, list(steps), list(loops)))
            pending = []
            continue
        if not _flush(statement, use_of):
            pending = []  # only flushes may stand between the steps and the delete
    for number, statement in enumerate(statements):
        step = _query_children(statement, statements[:number], use_of)
        if step is not None and any(_parent_deleted(later, step[0], use_of, dao_method_of) for later in statements[number + 1 :]):
            # reported at each child's delete: the call to take away (RULES.md, positions)
            found.append(Cascade(step[0], [step[1].body.body[0]], [step[1]]))
    return found


_ROW_DELETES = tuple(m for m in ROW_WRITES if m != "save")


def _query_children(statement: cst.CSTNode, earlier: Sequence[cst.CSTNode], use_of: UseOf) -> Optional[Tuple[str, cst.For]]:
    """(the parent, the loop) for `[if ...:] for c in <query on P.id>: c.delete()`."""
    loop = statement
    if isinstance(loop, cst.If) and isinstance(loop.body, cst.IndentedBlock):
        loop = next((s for s in loop.body.body if isinstance(s, cst.For)), None)
    if not isinstance(loop, cst.For) or not isinstance(loop.target, cst.Name) or not isinstance(loop.body, cst.IndentedBlock) or len(loop.body.body) != 1:
        return None
    item = loop.target.value
    found = statement_call(loop.body.body[0])
    if found is None:
        return None
    call, use = found[0], use_of(found[0])
    own = isinstance(call.func, cst.Attribute) and dotted_name(call.func.value) == item and call.func.attr.value in _ROW_DELETES
    if not own and not (use is not None and use.method == "delete" and call.args and dotted_name(call.args[0].value) == item):
        return None
    sources: List[cst.CSTNode] = [loop.iter]
    head = loop.iter
    while isinstance(head, (cst.Call, cst.Attribute)):
        head = head.func if isinstance(head, cst.Call) else head.value
    if isinstance(head, cst.Name):  # `members.all()`: the query kept in `members` before
        sources += [s for s in earlier if isinstance(s, cst.SimpleStatementLine) and any(
            isinstance(small, cst.Assign) and any(dotted_name(t.target) == head.value for t in small.targets) for small in s.body)]
    parent = _keyed_parent(sources)
    return (parent, loop) if parent is not None and parent != item else None


def _keyed_parent(nodes: Sequence[cst.CSTNode]) -> Optional[str]:
    """`P` for a query that compares a column with `P.id` (the parent's key)."""
    found: List[str] = []

    class Finder(cst.CSTVisitor):
        def visit_ComparisonTarget(self, target: cst.ComparisonTarget) -> None:
            value = target.comparator
            if isinstance(target.operator, cst.Equal) and isinstance(value, cst.Attribute) and value.attr.value == "id" and isinstance(value.value, cst.Name):
                found.append(value.value.value)

    for node in nodes:
        visit_in_place(node, Finder())
    return found[0] if len(set(found)) == 1 else None


def _parent_deleted(statement: cst.CSTNode, parent: str, use_of: UseOf, dao_method_of: DaoMethodOf) -> bool:
    """`parent.delete()` / `parent.purge()`, `session.delete(parent)`, a DAO's `delete(parent)`."""
    found = statement_call(statement)
    if found is not None:
        func = found[0].func
        if isinstance(func, cst.Attribute) and dotted_name(func.value) == parent and func.attr.value in _ROW_DELETES and not found[0].args:
            return True
    deleted = _deleted(statement, use_of, dao_method_of)
    return deleted is not None and deleted[0] == parent


# -- steps -------------------------------------------------------------------------------------
def _step(statement: cst.CSTNode, use_of: UseOf) -> Optional[tuple]:
    parent = clearing(statement)
    if parent is not None:
        return ("one", parent, [statement], [])
    parent = _deleted_children(statement, use_of)
    if parent is not None:
        return ("one", parent, [statement], [statement])
    return _clearing_loop(statement, use_of)


def clearing(statement: cst.CSTNode) -> Optional[str]:
    """The parent whose relationship `statement` empties: `p.children = []`, `p.children.clear()`."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        target = small.targets[0].target
        value = small.value
        empty = isinstance(value, (cst.List, cst.Set)) and not value.elements
        empty = empty or (isinstance(value, cst.Call) and not value.args and dotted_name(value.func) in ("list", "set"))
        if empty and isinstance(target, cst.Attribute):
            return dotted_name(target.value)
    if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
        func = small.value.func
        if isinstance(func, cst.Attribute) and func.attr.value == "clear" and isinstance(func.value, cst.Attribute):
            return dotted_name(func.value.value)
    return None


def _deleted_children(statement: cst.CSTNode, use_of: UseOf) -> Optional[str]:
    """`for child in parent.children: session.delete(child)` -> "parent"."""
    if not isinstance(statement, cst.For) or not isinstance(statement.iter, cst.Attribute):
        return None
    body = statement.body
    if not isinstance(body, cst.IndentedBlock) or len(body.body) != 1:
        return None
    call = _session_call(body.body[0], use_of, ("delete",))
    if call is None or not call.args or dotted_name(call.args[0].value) != dotted_name(statement.target):
        return None
    return dotted_name(statement.iter.value)


def _clearing_loop(statement: cst.CSTNode, use_of: UseOf) -> Optional[tuple]:
    """`[if models:] for m in models: m.owners = []; [session.merge(m)]` -> ("many", "models", ...)."""
    if isinstance(statement, cst.If) and statement.orelse is None and isinstance(statement.body, cst.IndentedBlock):
        if len(statement.body.body) != 1:
            return None
        statement = statement.body.body[0]
    if not isinstance(statement, cst.For) or not isinstance(statement.target, cst.Name):
        return None
    collection = dotted_name(statement.iter)
    body = statement.body
    if collection is None or not isinstance(body, cst.IndentedBlock):
        return None
    item = statement.target.value
    steps = []
    for inner in body.body:
        if clearing(inner) == item:
            steps.append(inner)
            continue
        call = _session_call(inner, use_of, ("merge", "add", "flush"))
        if call is None or (call.args and dotted_name(call.args[0].value) != item):
            return None
    return ("many", collection, steps, [statement]) if steps else None


# -- the delete --------------------------------------------------------------------------------
def _deleted(statement: cst.CSTNode, use_of: UseOf, dao_method_of: DaoMethodOf) -> Optional[tuple]:
    """(the one object deleted or "", names the delete statement reads) for a delete statement;
    a `try:` or `with` counts by its first statement."""
    while isinstance(statement, (cst.Try, cst.With)) and isinstance(statement.body, cst.IndentedBlock) and statement.body.body:
        statement = statement.body.body[0]
    if not isinstance(statement, cst.SimpleStatementLine):
        return None
    found: List[tuple] = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> Optional[bool]:
            if found:
                return False
            use = use_of(call)
            if use is not None and _deletes(use, call):
                one = dotted_name(call.args[0].value) if use.method == "delete" and call.args else ""
                found.append((one or "", call))
                return False
            method = dao_method_of(call)
            if method is not None and method.startswith(("delete", "bulk_delete")) and call.args:
                found.append((dotted_name(call.args[0].value) or "", call))
                return False
            return None

    visit_in_place(statement, Finder())
    if not found:
        return None
    return found[0][0], _names(statement)


def _deletes(use: SessionUse, call: cst.Call) -> bool:
    if use.method == "delete" or use.method.endswith(".delete"):
        return True
    if use.method in ("execute", "exec") and call.args:
        argument = call.args[0].value
        while isinstance(argument, cst.Call) and isinstance(argument.func, cst.Attribute):
            argument = argument.func.value  # delete(M).where(...)
        return isinstance(argument, cst.Call) and dotted_name(argument.func) in ("delete", "sa.delete", "sqlalchemy.delete")
    return False


def _session_call(statement: cst.CSTNode, use_of: UseOf, methods: Sequence[str]) -> Optional[cst.Call]:
    found = statement_call(statement)
    if found is None:
        return None
    use = use_of(found[0])
    return found[0] if use is not None and use.method in methods else None


def _flush(statement: cst.CSTNode, use_of: UseOf) -> bool:
    return _session_call(statement, use_of, ("flush",)) is not None


def _names(node: cst.CSTNode) -> Set[str]:
    names: Set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            names.add(name.value)

    visit_in_place(node, Finder())
    return names


def _derived_names(statements: Sequence[cst.BaseStatement], collections: Set[str]) -> dict:
    """collection -> names assigned from an expression that reads it (`ids = [m.id for m in models]`)."""
    derived: dict = {name: set() for name in collections}
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.Assign):
                continue
            read = _names(small.value)
            for name in collections:
                if name in read or read & derived[name]:
                    for target in small.targets:
                        if isinstance(target.target, cst.Name):
                            derived[name].add(target.target.value)
    return derived
