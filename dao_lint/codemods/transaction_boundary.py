"""DAO105 at a boundary: add the transaction decorator, drop the boundary's own commit/rollback."""
from __future__ import annotations

from typing import List, Optional, Sequence, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper

from ..analysis import Action, DaoFacts, FileContext, FileContextProvider, SessionFacts
from ..analysis.names import dotted_name
from ..analysis.structure import raises, statement_call
from .imports import add_import
from ..analysis.session_kinds import OWN_ORIGINS
from ..analysis.walk import visit_in_place
from .statements import removed_lines

__all__ = ["decorate_boundaries"]


class _Boundary(cst.CSTTransformer):
    """Adds the decorator to boundaries and removes what it takes over: their commits, and
    the rollbacks in handlers that re-raise. A commit goes only where it is the last thing
    the function does on every path; where the function goes on after it (reads an id,
    returns a value, calls anything, loops again) it becomes `flush()`, so that ids are
    assigned and errors raised at the same place as before, and so does a commit in a `try`
    whose handlers wait for its errors. A statement whose removal would leave a block empty
    stays (the decorator's commit then finds nothing left to do)."""

    METADATA_DEPENDENCIES = (DaoFacts, SessionFacts)

    def __init__(self, targets: Set[str], decorator: str, called: bool, own_only: Set[str] = frozenset()) -> None:
        super().__init__()
        self.targets = targets
        self.own_only = own_only  # decorated only if one of their own commits goes
        self.replaced = 0  # the commits this function lost or turned into a flush
        self.module_name, _, self.name = decorator.rstrip("()").rpartition(".")
        self.called = called
        self.changed: List[str] = []

    def _control(self, statement: cst.BaseStatement, action: Action) -> Optional[cst.Call]:
        found = statement_call(statement)
        if found is None:
            return None
        use = self.get_metadata(SessionFacts, found[0], None)
        if use is not None and use.action is action and use.origin not in OWN_ORIGINS:
            return found[0]
        return None

    def _clean(
        self, statements: Sequence[cst.BaseStatement], in_handler: bool = False, guarded: bool = False, last: bool = True,
        discarded: bool = False, undone: bool = False,
    ) -> List[cst.BaseStatement]:
        """`last`: nothing runs after these statements before the function returns;
        `discarded`: what runs after them rolls back or closes the session; `undone`: a
        failure here is rolled back by a handler (the `try` around them)."""
        out: List[cst.BaseStatement] = []
        carry: List[cst.EmptyLine] = []
        for number, statement in enumerate(statements):
            rest = statements[number + 1 :]
            # the function ends after it on this path: nothing but idle statements follow,
            # to the end of the function or to a `return` of its own
            ends = all(_idle(s) for s in rest) and (last or any(_returns(s) for s in rest))
            commit = self._control(statement, Action.COMMIT)
            later = not all(_idle(s) for s in rest)
            if commit is not None and (discarded or self._discards(rest, raising=True) or (undone and later)):
                # a rollback or a close after it would throw a flush away, and a commit right
                # before a `raise` is meant to last: the decorator's rollback would undo it
                out.append(statement)
                continue
            if commit is not None and (guarded or not ends):
                out.append(statement.deep_replace(commit.func.attr, cst.Name("flush")))
                self.replaced += 1
                continue
            rollback = self._control(statement, Action.ROLLBACK) if in_handler else None
            if commit is not None or (rollback is not None and raises(statements[number + 1 :])):
                self.replaced += commit is not None
                carry.extend(removed_lines(statement))
                continue
            if isinstance(statement, cst.Try) and self._only_undoes(statement):
                # `try: ... except: rollback; raise`: the decorator does exactly that
                inner = self._clean(statement.body.body, guarded=guarded, last=ends, discarded=discarded or self._discards(rest), undone=undone)
                first = inner[0]
                inner[0] = first.with_changes(leading_lines=[*carry, *statement.leading_lines, *first.leading_lines])
                carry = []
                out.extend(inner)
                continue
            statement = self._inner(statement, guarded, ends, discarded or self._discards(rest), undone)
            if carry:
                statement = statement.with_changes(leading_lines=[*carry, *statement.leading_lines])
                carry = []
            out.append(statement)
        if not out:
            return list(statements)  # never an empty block: keep what was there
        self.carry = carry
        return out

    def _only_undoes(self, statement: cst.Try) -> bool:
        """Every handler only rolls back and re-raises, and nothing else hangs on the `try`."""
        if statement.orelse is not None or statement.finalbody is not None or not isinstance(statement.body, cst.IndentedBlock):
            return False
        for handler in statement.handlers:
            body = handler.body.body if isinstance(handler.body, cst.IndentedBlock) else ()
            if not body or handler.name is not None:
                return False
            *undo, last = body
            bare = isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 and isinstance(last.body[0], cst.Raise) and last.body[0].exc is None
            if not bare or any(self._control(s, Action.ROLLBACK) is None for s in undo):
                return False
        return True

    def _discards(self, statements: Sequence[cst.CSTNode], raising: bool = False) -> bool:
        """Whether `statements` roll back or close the session (with `raising`, or raise at
        their own level: `commit(); raise Error`)."""
        transformer = self
        found: List[bool] = []

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                use = transformer.get_metadata(SessionFacts, call, None)
                if use is not None and use.action in (Action.ROLLBACK, Action.CLOSE) and use.origin not in OWN_ORIGINS:
                    found.append(True)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

        for statement in statements:
            visit_in_place(statement, Finder())
            if raising and isinstance(statement, cst.SimpleStatementLine) and any(isinstance(s, cst.Raise) for s in statement.body):
                found.append(True)
        return bool(found)

    def _suite(
        self, suite: cst.BaseSuite, in_handler: bool = False, guarded: bool = False, last: bool = False, discarded: bool = False,
        undone: bool = False,
    ) -> cst.BaseSuite:
        if not isinstance(suite, cst.IndentedBlock):
            return suite
        self.carry = []
        body = self._clean(suite.body, in_handler, guarded, last, discarded, undone)
        footer = [*self.carry, *suite.footer]
        self.carry = []
        return suite.with_changes(body=body, footer=footer)

    def _inner(self, statement: cst.BaseStatement, guarded: bool, last: bool, discarded: bool = False, undone: bool = False) -> cst.BaseStatement:
        """`last`: nothing runs after `statement` before the function returns; `discarded`:
        what runs after it rolls back or closes the session."""
        if isinstance(statement, (cst.If, cst.For, cst.While, cst.With)):
            loops = isinstance(statement, (cst.For, cst.While))  # its body runs again
            again = loops and self._discards([statement.body])  # (a rollback in the next round)
            changes = {"body": self._suite(statement.body, guarded=guarded, last=last and not loops, discarded=discarded or again, undone=undone)}
            orelse = getattr(statement, "orelse", None)
            if isinstance(orelse, cst.Else):
                changes["orelse"] = orelse.with_changes(body=self._suite(orelse.body, guarded=guarded, last=last, discarded=discarded, undone=undone))
            elif isinstance(orelse, cst.If):
                changes["orelse"] = self._inner(orelse, guarded, last, discarded, undone)
            return statement.with_changes(**changes)
        if isinstance(statement, cst.Try):
            after = last and _idle_part(statement.finalbody)
            closing = discarded or (statement.finalbody is not None and self._discards([statement.finalbody]))
            handlers = [h.with_changes(body=self._suite(h.body, in_handler=True, last=after, discarded=closing)) for h in statement.handlers]
            body_last = after and _idle_part(statement.orelse)
            later = [part for part in (statement.orelse, statement.finalbody) if part is not None]
            changes = {
                "body": self._suite(
                    statement.body, guarded=guarded or bool(statement.handlers), last=body_last, discarded=discarded or self._discards(later),
                    undone=undone or self._discards(statement.handlers, raising=False),
                ),
                "handlers": handlers,
            }
            if statement.orelse is not None:
                changes["orelse"] = statement.orelse.with_changes(body=self._suite(statement.orelse.body, guarded=guarded, last=after, discarded=closing))
            if statement.finalbody is not None:
                changes["finalbody"] = statement.finalbody.with_changes(body=self._suite(statement.finalbody.body, guarded=guarded, last=last, discarded=discarded))
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
        if scope.qualname not in self.targets:
            return updated_node
        self.replaced = 0
        node = updated_node.with_changes(body=self._suite(original_node.body, last=True))
        if scope.qualname in self.own_only and not self.replaced:
            return updated_node  # every commit of its own stays: the decorator would replace none
        if not self._has_decorator(original_node):
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


def _idle(statement: cst.BaseStatement) -> bool:
    """Does nothing a commit must come before: `pass`, `...`, a docstring, a bare `return`
    or one of a literal (`return None`, `return True`)."""
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    for small in statement.body:
        if isinstance(small, cst.Pass):
            continue
        if isinstance(small, cst.Expr) and isinstance(small.value, (cst.Ellipsis, cst.SimpleString)):
            continue
        if isinstance(small, cst.Return) and (small.value is None or _literal(small.value)):
            continue
        return False
    return True


def _returns(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(isinstance(small, cst.Return) for small in statement.body)


def _literal(value: cst.BaseExpression) -> bool:
    if isinstance(value, cst.Name):
        return value.value in ("None", "True", "False")
    return isinstance(value, (cst.Integer, cst.Float, cst.SimpleString))


def _idle_part(part: Optional[cst.CSTNode]) -> bool:
    """An `else:`/`finally:` of a `try` that is absent or does nothing."""
    if part is None:
        return True
    body = part.body
    return isinstance(body, cst.IndentedBlock) and all(_idle(s) for s in body.body)


def decorate_boundaries(
    module: cst.Module, context: FileContext, targets: Set[str], decorator: str, called: bool, first_party: Sequence[str] = (),
    own_only: Set[str] = frozenset(),
) -> Tuple[cst.Module, List[str]]:
    """Give each boundary in `targets` the decorator (and its import); drop its own commits.

    `first_party`: the project's top-level packages (where isort files the import)."""
    if not targets:
        return module, []
    transformer = _Boundary(targets, decorator, called, own_only)
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    result = wrapper.visit(transformer)
    decorated = [name for name in transformer.changed if name in targets]
    if decorated and transformer.module_name and context.module_name != transformer.module_name:
        result = add_import(result, transformer.module_name, transformer.name, first_party)
    return result, transformer.changed
