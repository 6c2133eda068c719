"""Where a node sits among statements: in a loop body, in which `if`/`try` branch, in which block.

One batchable provider, computed in the same traversal as the other facts (libcst's
ParentNodeProvider is a traversal of its own, and cost a quarter of a cold run).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import libcst as cst
from libcst.metadata import BatchableMetadataProvider

from .conditions import truth
from .names import dotted_name
from .visitors import CachedVisitors
from .walk import visit_in_place

__all__ = ["is_docstring", "Place", "StructureFacts", "exclusive", "raises", "statement_call", "per_item", "terminates", "literal_names"]


@dataclass(frozen=True)
class Place:
    """A call's or statement's surroundings, within its function."""

    loop: Optional[cst.CSTNode]  # the innermost `for`/`while` whose body holds it
    for_loop: Optional[cst.For]  # the innermost `for` whose body holds it
    branches: Tuple[Tuple[cst.CSTNode, int], ...]  # (if/try, branch number) from the function down
    block: Optional[cst.IndentedBlock]  # the block holding its statement
    line: Optional[cst.SimpleStatementLine]  # its statement line
    #: the innermost loop that runs once per item of data (not a retry, not over a literal
    #: collection or a `range()`): what "per item" means for DAO106, DAO701 and DAO702
    item_loop: Optional[cst.CSTNode] = None
    item_for_loop: Optional[cst.For] = None


def exclusive(first: Place, second: Place) -> bool:
    """No single run of the function reaches both (they sit in different if/try branches)."""
    for (node_a, branch_a), (node_b, branch_b) in zip(first.branches, second.branches):
        if node_a is not node_b:
            return False
        if branch_a != branch_b and -1 not in (branch_a, branch_b):
            return True
    return False


def opposite_ifs(statements: Sequence[cst.CSTNode]) -> Dict[int, cst.If]:
    """`if x:` (no `else`, `x` not rebound in it) followed by `if not x:`: no run enters
    both. Maps the second `if` to the first."""
    found: Dict[int, cst.If] = {}
    for first, second in zip(statements, statements[1:]):
        if not isinstance(first, cst.If) or not isinstance(second, cst.If) or first.orelse is not None:
            continue
        a, b = truth(first.test), truth(second.test)
        if a is None or b is None or a[0] != b[0] or a[1] == b[1]:
            continue
        if any(isinstance(n, cst.Name) and n.value == a[0] for n in _bound(first.body)):
            continue
        found[id(second)] = first
    return found


def _bound(body: cst.CSTNode) -> List[cst.CSTNode]:
    """The names assigned anywhere in `body`."""
    out: List[cst.CSTNode] = []

    class Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            out.append(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            out.append(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            out.append(node.target)

    visit_in_place(body, Finder())
    return out


class _Frame:
    def __init__(self) -> None:
        self.loops: List[cst.CSTNode] = []
        self.for_loops: List[cst.For] = []
        self.branches: List[Tuple[cst.CSTNode, int]] = []
        self.handlers: dict = {}
        self.item_loops: List[cst.CSTNode] = []  # the loops that run once per item
        self.item_for_loops: List[cst.For] = []
        self.literals = Literals()  # names bound to literal collections here
        #: blocks inside the innermost item loop that end by leaving the function (`raise`,
        #: `return`): what they hold runs at most once per run of the loop
        self.leaving: List[Tuple[int, bool]] = []  # (item loops open when entered, it leaves)


class StructureFacts(CachedVisitors, BatchableMetadataProvider[Place]):
    """Attaches a `Place` to every call, statement line and assignment."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: List[_Frame] = [_Frame()]
        self.module_literals = Literals()
        self.blocks: List[Optional[cst.IndentedBlock]] = [None]
        self.lines: List[Optional[cst.SimpleStatementLine]] = [None]
        self.opposites: Dict[int, cst.If] = {}  # id of `if not x:` -> the `if x:` just before it

    def _place(self) -> Place:
        frame = self.frames[-1]
        once = any(leaves for depth, leaves in frame.leaving if depth == len(frame.item_loops))
        return Place(
            frame.loops[-1] if frame.loops else None,
            frame.for_loops[-1] if frame.for_loops else None,
            tuple(frame.branches),
            self.blocks[-1],
            self.lines[-1],
            frame.item_loops[-1] if frame.item_loops and not once else None,
            frame.item_for_loops[-1] if frame.item_for_loops and not once else None,
        )

    # scopes
    def visit_Module(self, node: cst.Module) -> None:
        self.module_literals = literal_names(node.body)
        self.opposites.update(opposite_ifs(node.body))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        outer = self.frames[-1].literals if len(self.frames) > 1 else Literals()
        self.frames.append(_Frame())
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        self.frames[-1].literals = literal_names(body, self.module_literals | outer) | self.module_literals | outer

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.frames.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.frames.append(_Frame())

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.frames.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.frames.append(_Frame())
        self.frames[-1].literals = class_literals(node)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.frames.pop()

    # loops
    def visit_For_body(self, node: cst.For) -> None:
        frame = self.frames[-1]
        frame.loops.append(node)
        frame.for_loops.append(node)
        if per_item(node, frame.literals | self.module_literals):
            frame.item_loops.append(node)
            frame.item_for_loops.append(node)

    def leave_For_body(self, node: cst.For) -> None:
        frame = self.frames[-1]
        frame.loops.pop()
        frame.for_loops.pop()
        if frame.item_loops and frame.item_loops[-1] is node:
            frame.item_loops.pop()
            frame.item_for_loops.pop()

    def visit_While_body(self, node: cst.While) -> None:
        frame = self.frames[-1]
        frame.loops.append(node)
        if per_item(node):
            frame.item_loops.append(node)

    def leave_While_body(self, node: cst.While) -> None:
        frame = self.frames[-1]
        frame.loops.pop()
        if frame.item_loops and frame.item_loops[-1] is node:
            frame.item_loops.pop()

    # branches
    def visit_If_body(self, node: cst.If) -> None:
        # `if x: ...` then `if not x: ...`: the second is the first's `else`
        first = self.opposites.get(id(node))
        self.frames[-1].branches.append((first, 1) if first is not None else (node, 0))

    def leave_If_body(self, node: cst.If) -> None:
        self.frames[-1].branches.pop()

    def visit_If_orelse(self, node: cst.If) -> None:
        self.frames[-1].branches.append((node, 1))

    def leave_If_orelse(self, node: cst.If) -> None:
        self.frames[-1].branches.pop()

    def visit_Try_body(self, node: cst.Try) -> None:
        self.frames[-1].branches.append((node, 0))

    def leave_Try_body(self, node: cst.Try) -> None:
        self.frames[-1].branches.pop()

    def visit_Try_orelse(self, node: cst.Try) -> None:
        # `else` runs after the `try` body succeeded: its path, not a handler's
        self.frames[-1].branches.append((node, 0))

    def leave_Try_orelse(self, node: cst.Try) -> None:
        self.frames[-1].branches.pop()

    def visit_Try_handlers(self, node: cst.Try) -> None:
        self.frames[-1].handlers[node] = 0

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        frame = self.frames[-1]
        owner = next(reversed(frame.handlers), None) if frame.handlers else None
        if owner is not None:
            frame.handlers[owner] += 1
            frame.branches.append((owner, frame.handlers[owner]))
        else:
            frame.branches.append((node, 1))

    def leave_ExceptHandler(self, original_node: cst.ExceptHandler) -> None:
        self.frames[-1].branches.pop()

    def leave_Try_handlers(self, node: cst.Try) -> None:
        self.frames[-1].handlers.pop(node, None)

    def visit_Try_finalbody(self, node: cst.Try) -> None:
        self.frames[-1].branches.append((node, -1))

    def leave_Try_finalbody(self, node: cst.Try) -> None:
        self.frames[-1].branches.pop()

    # blocks and lines
    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.blocks.append(node)
        self.opposites.update(opposite_ifs(node.body))
        frame = self.frames[-1]
        last = node.body[-1] if node.body else None
        leaves = isinstance(last, cst.SimpleStatementLine) and any(isinstance(x, (cst.Return, cst.Raise)) for x in last.body)
        frame.leaving.append((len(frame.item_loops), leaves))

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self.blocks.pop()
        frame = self.frames[-1]
        if frame.leaving:
            frame.leaving.pop()

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        self.set_metadata(node, self._place())
        self.lines.append(node)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        self.lines.pop()

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self.lines.append(None)

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self.lines.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        self.set_metadata(node, self._place())

    def visit_Call(self, node: cst.Call) -> None:
        self.set_metadata(node, self._place())


def per_item(loop: cst.CSTNode, literals: Collection[str] = ()) -> bool:
    """The loop runs once per item of data. Not per item: a `for` over a literal collection
    (written there, or a name `literals` says is bound to one: `checks = (a, b)`, a
    module-level `TABLES = [...]`, a class's `FIELDS = (...)` as `self.FIELDS`, and their
    `.items()`/`.values()`), over a `range()` (a fixed count: pages), over a retry helper
    (`for attempt in Retrying(...)`), and a loop that retries one operation: it leaves on the
    success path right after it (`try: op(); break`). A `break` or `return` elsewhere
    (polling, searching, a statement loop) does not make a loop a retry."""
    if isinstance(loop, cst.For):
        iterable = loop.iter
        if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute) and iterable.func.attr.value in ("items", "values", "keys") and not iterable.args:
            iterable = iterable.func.value
        if isinstance(iterable, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
            return False
        while isinstance(iterable, cst.Subscript):  # a part of a literal: `setup["departments"]`
            iterable = iterable.value
        named = dotted_name(iterable)
        if named is not None and named in literals:
            return False
        if isinstance(iterable, cst.Call):
            callee = iterable.func.value if isinstance(iterable.func, cst.Name) else (
                iterable.func.attr.value if isinstance(iterable.func, cst.Attribute) else ""
            )
            if callee == "range" or "retr" in callee.lower():
                return False
    return not _retries(loop.body)


_MUTATORS = frozenset({"append", "extend", "insert", "update", "add", "setdefault", "__setitem__"})


class Literals:
    """Names bound to literal collections (`checks = (check_a, check_b)`): written with their
    items, and not filled afterwards (`found = []` then `found.append(x)` is data). Whether a
    name is filled is asked only of names a loop walks, and remembered."""

    def __init__(self, candidates: Optional[Dict[str, Sequence[cst.CSTNode]]] = None, parts: Sequence["Literals"] = ()) -> None:
        self.candidates = candidates or {}  # name -> the statements that could fill it
        self.parts = tuple(p for p in parts if p)
        self.memo: Dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.candidates or self.parts)

    def __or__(self, other: "Literals") -> "Literals":
        return Literals(parts=(self, other))

    def __contains__(self, name: object) -> bool:
        if name in self.candidates:
            if name not in self.memo:
                self.memo[name] = not _filled(self.candidates[name], {name})
            if self.memo[name]:
                return True
        return any(name in part for part in self.parts)


def _literal_assignments(statements) -> Iterator[Tuple[cst.BaseAssignTargetExpression, cst.BaseExpression]]:  # noqa: ANN001
    for statement in statements:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                value = getattr(small, "value", None)
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and isinstance(value, (cst.List, cst.Tuple, cst.Set, cst.Dict)) and value.elements:
                    for target in ([t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]):
                        yield target, value


def literal_names(statements, around: Optional[Literals] = None) -> Literals:  # noqa: ANN001 - a block's statements
    """The names a block binds to a literal collection (see `Literals`), and to a part of one
    (`setup = DOMAIN_TYPES.get(domain)`, `row = ROWS[0]`, the literal here or in `around`)."""
    statements = list(statements)
    own = Literals({t.value: statements for t, _ in _literal_assignments(statements) if isinstance(t, cst.Name)})
    known = own | around if around else own
    parts: Dict[str, Sequence[cst.CSTNode]] = {}
    for statement in statements:
        for small in getattr(statement, "body", ()) if isinstance(statement, cst.SimpleStatementLine) else ():
            if not isinstance(small, cst.Assign) or len(small.targets) != 1 or not isinstance(small.targets[0].target, cst.Name):
                continue
            value = small.value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "get":
                value = value.func.value
            elif not isinstance(value, cst.Subscript):
                continue
            while isinstance(value, cst.Subscript):
                value = value.value
            if isinstance(value, cst.Name) and value.value in known:
                parts[small.targets[0].target.value] = statements
    return own | Literals(parts) if parts else own


def class_literals(node: cst.ClassDef) -> Literals:
    """A class's literal collections as its methods reach them: `self.FIELDS`, `cls.FIELDS`
    (class-level `FIELDS = (...)`, or `self.fields = (...)` at the top of a method)."""
    body = list(getattr(node.body, "body", ()))
    names: Dict[str, Sequence[cst.CSTNode]] = {}
    for target, _ in _literal_assignments(body):
        if isinstance(target, cst.Name):
            for owner in ("self", "cls", node.name.value):
                names[f"{owner}.{target.value}"] = ()  # (class attributes are filled through `self.X`: rare)
    for method in body:
        if isinstance(method, cst.FunctionDef) and isinstance(method.body, cst.IndentedBlock):
            for target, _ in _literal_assignments(method.body.body):
                dotted = dotted_name(target) or ""
                if dotted.startswith("self.") and dotted.count(".") == 1:
                    names[dotted] = ()
    return Literals(names)


def _filled(statements, names: Set[str]) -> Set[str]:  # noqa: ANN001
    """Which of `names` the statements fill or rebind: `x.append(...)`, `x[k] = v`, `x += ...`."""
    filled: Set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            func = call.func
            if isinstance(func, cst.Attribute) and func.attr.value in _MUTATORS and isinstance(func.value, cst.Name) and func.value.value in names:
                filled.add(func.value.value)

        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            if isinstance(target.target, cst.Subscript) and isinstance(target.target.value, cst.Name) and target.target.value.value in names:
                filled.add(target.target.value.value)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name) and node.target.value in names:
                filled.add(node.target.value)

    for statement in statements:
        visit_in_place(statement, Finder())
    return filled


def _retries(body: cst.BaseSuite) -> bool:
    """The loop leaves on the success path right after its operation: a `try` whose body
    ends with `break`/`return`, or a body that itself ends with one."""
    statements = list(getattr(body, "body", ()))
    if not statements:
        return False
    if _ends_leaving(statements):
        return True
    return any(isinstance(s, cst.Try) and _ends_leaving(list(getattr(s.body, "body", ()))) for s in statements)


def leaves_after(place: Place) -> bool:
    """The statement at `place` is followed in its block by a `return` or `raise` (or a
    `break` of its own loop): it runs at most once per run of the loop, on its way out."""
    block, line = place.block, place.line
    if block is None or line is None:
        return False
    statements = list(block.body)
    if line not in statements:
        return False
    for statement in statements[statements.index(line) :]:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Return, cst.Raise)) or (isinstance(small, cst.Break) and place.loop is place.item_loop):
                    return True
    return False


def _ends_leaving(statements) -> bool:  # noqa: ANN001
    last = statements[-1] if statements else None
    return isinstance(last, cst.SimpleStatementLine) and any(isinstance(x, (cst.Break, cst.Return)) for x in last.body)


def terminates(statements) -> bool:  # noqa: ANN001 - a sequence of statements
    """Control leaves the block at its end: its last statement returns, raises, or jumps."""
    if not statements:
        return False
    last = statements[-1]
    return isinstance(last, cst.SimpleStatementLine) and any(
        isinstance(x, (cst.Return, cst.Raise, cst.Break, cst.Continue)) for x in last.body
    )


def raises(statements) -> bool:  # noqa: ANN001 - a sequence of statements
    """A `raise` statement line is among `statements` (a handler re-raises after this point)."""
    return any(
        isinstance(s, cst.SimpleStatementLine) and any(isinstance(x, cst.Raise) for x in s.body) for s in statements
    )


def statement_call(statement: cst.CSTNode) -> Optional[Tuple[cst.Call, bool]]:
    """The call a one-call statement line consists of (`x.y()` or `await x.y()`), and
    whether it is awaited; None for anything else."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if not isinstance(small, cst.Expr):
        return None
    value, awaited = small.value, False
    if isinstance(value, cst.Await):
        value, awaited = value.expression, True
    return (value, awaited) if isinstance(value, cst.Call) else None


def is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
