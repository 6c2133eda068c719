"""DAO105 at a boundary: add the transaction decorator, drop the boundary's own commit/rollback."""
from __future__ import annotations

from typing import List, Sequence, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper

from ..analysis import Action, DaoFacts, FileContext, FileContextProvider, Origin, SessionFacts
from ..analysis.names import dotted_name
from ..analysis.structure import raises, statement_call
from .imports import add_import

__all__ = ["decorate_boundaries"]


class _Boundary(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (DaoFacts, SessionFacts)

    def __init__(self, targets: Set[str], decorator: str, called: bool, strip: Set[str] = frozenset()) -> None:
        super().__init__()
        self.targets = targets
        self.strip = strip
        self.module_name, _, self.name = decorator.rstrip("()").rpartition(".")
        self.called = called
        self.depth: List[bool] = []
        self.changed: List[str] = []

    def _control(self, statement: cst.BaseStatement, action: Action) -> bool:
        found = statement_call(statement)
        if found is None:
            return False
        use = self.get_metadata(SessionFacts, found[0], None)
        return use is not None and use.action is action and use.origin is not Origin.CREATED

    def _clean(self, statements: Sequence[cst.BaseStatement], in_handler: bool) -> List[cst.BaseStatement]:
        out = []
        for number, statement in enumerate(statements):
            if self._control(statement, Action.COMMIT):
                continue
            if in_handler and self._control(statement, Action.ROLLBACK) and raises(statements[number + 1 :]):
                continue
            out.append(self._inner(statement))
        return out

    def _suite(self, suite: cst.BaseSuite, in_handler: bool = False) -> cst.BaseSuite:
        if not isinstance(suite, cst.IndentedBlock):
            return suite
        body = self._clean(suite.body, in_handler) or [cst.SimpleStatementLine([cst.Pass()])]
        return suite.with_changes(body=body)

    def _inner(self, statement: cst.BaseStatement) -> cst.BaseStatement:
        if isinstance(statement, (cst.If, cst.For, cst.While, cst.With)):
            changes = {"body": self._suite(statement.body)}
            orelse = getattr(statement, "orelse", None)
            if isinstance(orelse, cst.Else):
                changes["orelse"] = orelse.with_changes(body=self._suite(orelse.body))
            elif isinstance(orelse, cst.If):
                changes["orelse"] = self._inner(orelse)
            return statement.with_changes(**changes)
        if isinstance(statement, cst.Try):
            handlers = [h.with_changes(body=self._suite(h.body, in_handler=True)) for h in statement.handlers]
            changes = {"body": self._suite(statement.body), "handlers": handlers}
            if statement.orelse is not None:
                changes["orelse"] = statement.orelse.with_changes(body=self._suite(statement.orelse.body))
            if statement.finalbody is not None:
                changes["finalbody"] = statement.finalbody.with_changes(body=self._suite(statement.finalbody.body))
            return statement.with_changes(**changes)
        return statement

    def _has_decorator(self, node: cst.FunctionDef) -> bool:
        for item in node.decorators:
            expr = item.decorator.func if isinstance(item.decorator, cst.Call) else item.decorator
            if (dotted_name(expr) or "").rsplit(".", 1)[-1] == self.name:
                return True
        return False

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        scope = self.get_metadata(DaoFacts, original_node, None)
        if scope is None or not isinstance(original_node.body, cst.IndentedBlock):
            return updated_node
        if scope.qualname not in self.targets and scope.qualname not in self.strip:
            return updated_node
        body = self._clean(original_node.body.body, in_handler=False) or [cst.SimpleStatementLine([cst.Pass()])]
        node = updated_node.with_changes(body=original_node.body.with_changes(body=body))
        if scope.qualname in self.targets and not self._has_decorator(original_node):
            expression: cst.BaseExpression = cst.Name(self.name)
            if self.called:
                expression = cst.Call(func=expression)
            decorators = list(node.decorators)
            # innermost, so that the unit of work wraps exactly the function body
            decorators.append(cst.Decorator(decorator=expression))
            node = node.with_changes(decorators=decorators)
        if node.deep_equals(updated_node):
            return updated_node
        self.changed.append(scope.qualname)
        return node


def decorate_boundaries(
    module: cst.Module, context: FileContext, targets: Set[str], decorator: str, called: bool, strip: Set[str] = frozenset()
) -> Tuple[cst.Module, List[str]]:
    """Give each boundary in `targets` the decorator (and its import); drop its own commits.

    Functions in `strip` (helpers covered by a unit of work) only lose their commits.
    """
    if not targets and not strip:
        return module, []
    transformer = _Boundary(targets, decorator, called, strip)
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    result = wrapper.visit(transformer)
    decorated = [name for name in transformer.changed if name in targets]
    if decorated and transformer.module_name and context.module_name != transformer.module_name:
        result = add_import(result, transformer.module_name, transformer.name)
    return result, transformer.changed
