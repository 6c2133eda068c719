"""The nested-session rewrite (DAO101/DAO102/DAO105) run dry, for the file summary: why it
would leave a function alone, and which calls the SAVEPOINT blocks it writes would hold."""
from __future__ import annotations

from typing import List, Optional, Set, Tuple

import libcst as cst

from ..analysis.walk import visit_in_place
from .nested_session import Facts, FunctionRewrite, Refused
from .statements import is_nested_block

__all__ = ["refusal", "rewrite_outcome"]


def refusal(function: cst.FunctionDef, facts: Facts) -> Optional[str]:
    """Why the nested-session rewrite must leave `function` alone, or None when it applies."""
    return rewrite_outcome(function, facts)[0]


def rewrite_outcome(function: cst.FunctionDef, facts: Facts) -> Tuple[Optional[str], List[cst.Call]]:
    """(why the rewrite must leave `function` alone, or None; the calls the SAVEPOINT blocks
    it writes would hold): a call there that still commits the session would end the
    block's transaction (`dao_lint.refusals`)."""
    try:
        result = FunctionRewrite(facts).apply(function)
    except Refused as exc:
        return str(exc), []
    before: Set[int] = set()
    held: List[cst.Call] = []

    class Blocks(cst.CSTVisitor):
        def __init__(self, new: bool) -> None:
            super().__init__()
            self.new = new

        def visit_With(self, node: cst.With) -> None:
            if not is_nested_block(node):
                return
            if not self.new:
                before.add(id(node))
            elif id(node) not in before:
                visit_in_place(node.body, Calls())

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            held.append(call)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    if result is function:
        return None, []
    visit_in_place(function.body, Blocks(False))
    visit_in_place(function.body, Calls())
    original = {id(call) for call in held}
    held.clear()
    visit_in_place(result.body, Blocks(True))
    # the calls as written (not the `flush()` the rewrite writes in place of a commit)
    return None, [call for call in held if id(call) in original]
