"""Positions of calls and function definitions from CPython's `ast`, without libcst codegen.

libcst's PositionProvider generates the code of the whole module to learn where each node
is; that cost as much as parsing. CPython's parser gives the same positions for calls and
`def`s almost for free. Both trees list those nodes in source order, so the n-th call met
in a libcst pre-order walk is the n-th call of the `ast` sorted by (start, -end). Each pair
is checked (same callee name); on any disagreement, the file falls back to libcst's
provider, so a position is never wrong, only sometimes slower to get.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

import libcst as cst
from libcst.metadata import BatchableMetadataProvider, CodePosition, CodeRange

from ..foundations.files import compile_quietly
from .context import FileContext, FileContextProvider
from .visitors import CachedVisitors

__all__ = ["AstPositions", "NodePosition", "AstPositionFacts"]

_LINES = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class NodePosition:
    """Where a node is, plus the `ast` node it matched (for parameters of a `def`)."""

    range: CodeRange
    node: ast.AST


def _callee(node: ast.AST) -> Optional[str]:
    func = getattr(node, "func", None)
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


_FIELDS: dict = {}


_EXITS = (ast.Return, ast.Break, ast.Continue, ast.Raise)


def _calls_and_functions(tree: ast.AST) -> Tuple[List[ast.Call], List[ast.AST], List[ast.AST]]:
    """Every call, `def` and `return`/`break`/`continue` of the tree (`ast.walk` visits
    contexts and operators too, and is twice as slow)."""
    calls: List[ast.Call] = []
    functions: List[ast.AST] = []
    exits: List[ast.AST] = []
    stack = [tree]
    pop, push = stack.pop, stack.append
    call, function, async_function, node_type = ast.Call, ast.FunctionDef, ast.AsyncFunctionDef, ast.AST
    while stack:
        node = pop()
        kind = type(node)
        if kind is call:
            calls.append(node)
        elif kind is function or kind is async_function:
            functions.append(node)
        elif kind in _EXITS:
            exits.append(node)
        fields = _FIELDS.get(kind)
        if fields is None:
            fields = _FIELDS[kind] = tuple(name for name in kind._fields if name not in ("ctx", "op"))
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        push(item)
            elif isinstance(value, node_type):
                push(value)
    return calls, functions, exits


class AstPositions:
    """The sorted `ast` calls and `def`s of one module text."""

    def __init__(self, text: str) -> None:
        self.lines = _LINES.split(text)
        self.calls: List[ast.Call] = []
        self.functions: List[ast.AST] = []
        self.exits: List[ast.AST] = []
        try:
            tree = compile_quietly(text, tree_only=True)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            self.valid = False
            return
        self.valid = True
        self.calls, self.functions, self.exits = _calls_and_functions(tree)
        key = lambda n: (n.lineno, n.col_offset, -n.end_lineno, -n.end_col_offset)  # noqa: E731
        self.calls.sort(key=key)
        self.functions.sort(key=key)
        self.exits.sort(key=key)

    def _column(self, line: int, offset: int) -> int:
        """Character column of a UTF-8 byte offset (ast counts bytes, libcst characters)."""
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return offset
        return len(text.encode("utf-8")[:offset].decode("utf-8", errors="replace"))

    def range_of(self, node: ast.AST) -> CodeRange:
        return CodeRange(
            CodePosition(node.lineno, self._column(node.lineno, node.col_offset)),
            CodePosition(node.end_lineno, self._column(node.end_lineno, node.end_col_offset)),
        )


class AstPositionFacts(CachedVisitors, BatchableMetadataProvider[NodePosition]):
    """Attaches a NodePosition to calls, function definitions and `return`/`break`/`continue`/`raise`
    (none if the trees disagree)."""

    METADATA_DEPENDENCIES = (FileContextProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.positions: Optional[AstPositions] = None
        self.calls = 0
        self.functions = 0
        self.exits = 0
        self.pending: List[Tuple[cst.CSTNode, ast.AST]] = []
        self.ok = True

    def visit_Module(self, node: cst.Module) -> None:
        context: FileContext = self.get_metadata(FileContextProvider, node)
        self.positions = AstPositions(context.text) if context.text is not None else None
        self.ok = bool(self.positions and self.positions.valid)

    def visit_Call(self, node: cst.Call) -> None:
        if not self.ok:
            return
        calls = self.positions.calls
        if self.calls >= len(calls):
            self._give_up()
            return
        match = calls[self.calls]
        self.calls += 1
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else None
        if name != _callee(match):
            self._give_up()
            return
        # set as we go, so that rules in the same traversal can already ask; withdrawn
        # below if the pairing turns out not to hold
        self.set_metadata(node, NodePosition(self.positions.range_of(match), match))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self.ok:
            return
        functions = self.positions.functions
        if self.functions >= len(functions) or functions[self.functions].name != node.name.value:
            self._give_up()
            return
        self.set_metadata(node, NodePosition(self.positions.range_of(functions[self.functions]), functions[self.functions]))
        self.functions += 1

    def _exit(self, node: cst.CSTNode, kind: type) -> None:
        if not self.ok:
            return
        exits = self.positions.exits
        if self.exits >= len(exits) or type(exits[self.exits]) is not kind:
            self._give_up()
            return
        self.set_metadata(node, NodePosition(self.positions.range_of(exits[self.exits]), exits[self.exits]))
        self.exits += 1

    def visit_Return(self, node: cst.Return) -> None:
        self._exit(node, ast.Return)

    def visit_Break(self, node: cst.Break) -> None:
        self._exit(node, ast.Break)

    def visit_Continue(self, node: cst.Continue) -> None:
        self._exit(node, ast.Continue)

    def visit_Raise(self, node: cst.Raise) -> None:
        self._exit(node, ast.Raise)

    def _give_up(self) -> None:
        self.ok = False
        self._computed.clear()

    def leave_Module(self, original_node: cst.Module) -> None:
        # all or nothing: a single disagreement means the pairing cannot be trusted
        if self.ok and (
            self.calls != len(self.positions.calls)
            or self.functions != len(self.positions.functions)
            or self.exits != len(self.positions.exits)
        ):
            self._give_up()
