"""Which session writes are redundant: `merge(obj)` / `add(obj)` of an object the function
loaded through the session (it is persistent already). One fact for DAO401, which reports
it, and the rules that must not report the same statement again (DAO701)."""
from __future__ import annotations

from typing import Dict, List

import libcst as cst
from libcst.metadata import BatchableMetadataProvider

from .session import Action, SessionFacts
from .visitors import CachedVisitors

__all__ = ["PersistenceFacts", "loaded_by_session"]


class PersistenceFacts(CachedVisitors, BatchableMetadataProvider[cst.Call]):
    """Attaches to a redundant `add(obj)` / `merge(obj)` call the call that loaded `obj`."""

    METADATA_DEPENDENCIES = (SessionFacts,)

    def __init__(self) -> None:
        super().__init__()
        self.loaded: List[Dict[str, cst.Call]] = [{}]  # per function: name -> the call that loaded it

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.loaded.append({})

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.loaded.pop()

    def visit_For_body(self, node: cst.For) -> None:
        # `for run in session.scalars(select(Run)...)`: each `run` is loaded, persistent
        if isinstance(node.target, cst.Name):
            if isinstance(node.iter, cst.Call) and loaded_by_session(self, node.iter):
                self.loaded[-1][node.target.value] = node.iter
            else:
                self.loaded[-1].pop(node.target.value, None)

    def leave_Assign(self, node: cst.Assign) -> None:
        reads = isinstance(node.value, cst.Call) and loaded_by_session(self, node.value)
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                if reads:
                    self.loaded[-1][target.target.value] = node.value
                else:
                    self.loaded[-1].pop(target.target.value, None)

    def visit_Call(self, node: cst.Call) -> None:
        use = self.get_metadata(SessionFacts, node, None)
        if use is None or use.action is not Action.WRITE or use.method not in ("merge", "add"):
            return
        if len(node.args) != 1 or not isinstance(node.args[0].value, cst.Name):
            return
        name = node.args[0].value.value
        if name in self.loaded[-1]:
            self.set_metadata(node, self.loaded[-1][name])


def loaded_by_session(provider, call: cst.Call) -> bool:  # noqa: ANN001 - anything with get_metadata
    """The value comes from a session read: the outermost call's chain holds one."""
    current: cst.BaseExpression = call
    while isinstance(current, (cst.Call, cst.Attribute, cst.Subscript)):
        if isinstance(current, cst.Call):
            use = provider.get_metadata(SessionFacts, current, None)
            if use is not None and use.action is Action.READ:
                return True
            current = current.func
        else:
            current = current.value
    return False
