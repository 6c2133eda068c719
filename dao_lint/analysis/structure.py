"""Where a node sits among statements: in a loop body, in which `if`/`try` branch, in which block.

One batchable provider, computed in the same traversal as the other facts (libcst's
ParentNodeProvider is a traversal of its own, and cost a quarter of a cold run).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import libcst as cst
from libcst.metadata import BatchableMetadataProvider

from .visitors import CachedVisitors

__all__ = ["Place", "StructureFacts", "exclusive", "raises", "statement_call"]


@dataclass(frozen=True)
class Place:
    """A call's or statement's surroundings, within its function."""

    loop: Optional[cst.CSTNode]  # the innermost `for`/`while` whose body holds it
    for_loop: Optional[cst.For]  # the innermost `for` whose body holds it
    branches: Tuple[Tuple[cst.CSTNode, int], ...]  # (if/try, branch number) from the function down
    block: Optional[cst.IndentedBlock]  # the block holding its statement
    line: Optional[cst.SimpleStatementLine]  # its statement line


def exclusive(first: Place, second: Place) -> bool:
    """No single run of the function reaches both (they sit in different if/try branches)."""
    for (node_a, branch_a), (node_b, branch_b) in zip(first.branches, second.branches):
        if node_a is not node_b:
            return False
        if branch_a != branch_b and -1 not in (branch_a, branch_b):
            return True
    return False


class _Frame:
    def __init__(self) -> None:
        self.loops: List[cst.CSTNode] = []
        self.for_loops: List[cst.For] = []
        self.branches: List[Tuple[cst.CSTNode, int]] = []
        self.handlers: dict = {}


class StructureFacts(CachedVisitors, BatchableMetadataProvider[Place]):
    """Attaches a `Place` to every call, statement line and assignment."""

    def __init__(self) -> None:
        super().__init__()
        self.frames: List[_Frame] = [_Frame()]
        self.blocks: List[Optional[cst.IndentedBlock]] = [None]
        self.lines: List[Optional[cst.SimpleStatementLine]] = [None]

    def _place(self) -> Place:
        frame = self.frames[-1]
        return Place(
            frame.loops[-1] if frame.loops else None,
            frame.for_loops[-1] if frame.for_loops else None,
            tuple(frame.branches),
            self.blocks[-1],
            self.lines[-1],
        )

    # scopes
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.frames.append(_Frame())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.frames.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.frames.append(_Frame())

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.frames.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.frames.append(_Frame())

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.frames.pop()

    # loops
    def visit_For_body(self, node: cst.For) -> None:
        self.frames[-1].loops.append(node)
        self.frames[-1].for_loops.append(node)

    def leave_For_body(self, node: cst.For) -> None:
        self.frames[-1].loops.pop()
        self.frames[-1].for_loops.pop()

    def visit_While_body(self, node: cst.While) -> None:
        self.frames[-1].loops.append(node)

    def leave_While_body(self, node: cst.While) -> None:
        self.frames[-1].loops.pop()

    # branches
    def visit_If_body(self, node: cst.If) -> None:
        self.frames[-1].branches.append((node, 0))

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

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self.blocks.pop()

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
