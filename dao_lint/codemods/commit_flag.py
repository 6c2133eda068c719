"""DAO103: drop a DAO's `commit` parameter and its `if commit:` branch (arguments: call_sites)."""
from __future__ import annotations

from typing import List, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper

from ..analysis import DaoFacts, FileContext, FileContextProvider

__all__ = ["drop_commit_parameters"]


def _uses_name(node: cst.CSTNode, name: str) -> bool:
    """`name` is read as a variable somewhere under `node` (not as an attribute or keyword)."""
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            attribute.value.visit(self)
            return False

        def visit_Arg(self, arg: cst.Arg) -> bool:
            arg.value.visit(self)
            return False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                found.append(node)

    node.visit(Finder())
    return bool(found)


def _only_commits(suite: cst.BaseSuite) -> bool:
    if not isinstance(suite, cst.IndentedBlock):
        return False
    for statement in suite.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            value = small.value if isinstance(small, cst.Expr) else None
            if isinstance(value, cst.Await):
                value = value.expression
            if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "commit"):
                return False
    return True


class _DropParameter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (DaoFacts,)

    def __init__(self, targets: Set[str]) -> None:
        super().__init__()
        self.targets = targets
        self.active: List[bool] = []
        self.changed: List[str] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.get_metadata(DaoFacts, node, None)
        self.active.append(bool(scope and scope.qualname in self.targets))

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        if not self.active.pop():
            return updated_node
        params = updated_node.params
        changes = {}
        for group in ("posonly_params", "params", "kwonly_params"):
            items = list(getattr(params, group))
            kept = [p for p in items if p.name.value != "commit"]
            if len(kept) != len(items):
                if kept and items[-1] not in kept:
                    kept[-1] = kept[-1].with_changes(comma=items[-1].comma)
                changes[group] = kept
        if not changes:
            return updated_node
        if _uses_name(updated_node.body, "commit"):
            return original_node  # the flag is still read somewhere: removing it would break the code
        new_params = params.with_changes(**changes)
        if not new_params.kwonly_params and isinstance(new_params.star_arg, cst.ParamStar):
            new_params = new_params.with_changes(star_arg=cst.MaybeSentinel.DEFAULT)
        scope = self.get_metadata(DaoFacts, original_node, None)
        self.changed.append(scope.qualname if scope else original_node.name.value)
        return updated_node.with_changes(params=new_params)

    def leave_If(self, original_node: cst.If, updated_node: cst.If):  # noqa: ANN201
        if not self.active or not self.active[-1]:
            return updated_node
        test = updated_node.test
        if isinstance(test, cst.Name) and test.value == "commit" and _only_commits(updated_node.body):
            if updated_node.orelse is None:
                return cst.RemovalSentinel.REMOVE
            if isinstance(updated_node.orelse, cst.Else):
                return cst.FlattenSentinel(list(updated_node.orelse.body.body))
        return updated_node


def drop_commit_parameters(module: cst.Module, context: FileContext, targets: Set[str]) -> Tuple[cst.Module, List[str]]:
    """Remove the `commit` parameter and its commit-only `if commit:` branch from `targets`."""
    if not targets:
        return module, []
    transformer = _DropParameter(targets)
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    return wrapper.visit(transformer), transformer.changed
