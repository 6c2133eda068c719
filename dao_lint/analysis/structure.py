"""Where a node sits among statements: in a loop body, in a `finally`, the block it is in.

Built on libcst's ParentNodeProvider; questions stop at the enclosing function.
"""
from __future__ import annotations

from typing import Callable, Optional

import libcst as cst
from libcst.metadata import ParentNodeProvider

__all__ = ["enclosing_loop", "enclosing_statement", "ParentNodeProvider", "LOOPS"]

LOOPS = (cst.For, cst.While)


def enclosing_statement(get_parent: Callable[[cst.CSTNode], Optional[cst.CSTNode]], node: cst.CSTNode) -> Optional[cst.CSTNode]:
    """The statement (simple line or compound) that contains `node`."""
    current: Optional[cst.CSTNode] = node
    while current is not None and not isinstance(current, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        current = get_parent(current)
    return current


def enclosing_loop(
    get_parent: Callable[[cst.CSTNode], Optional[cst.CSTNode]], node: cst.CSTNode, kinds=LOOPS
) -> Optional[cst.CSTNode]:
    """The nearest `for`/`while` whose *body* holds `node` (not its iterable), within the function."""
    child: cst.CSTNode = node
    current = get_parent(node)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.Module)):
        if isinstance(current, kinds) and child is current.body:
            return current
        child, current = current, get_parent(current)
    return None
