"""DAO101/DAO102: a DAO's commit and rollback become a SAVEPOINT around its writes.

    db.session.add(item)            with db.session.begin_nested():
    db.session.commit()       ->        db.session.add(item)

The writes a commit made durable (the statements before it in the same block, from the
first one that changes state) move into `with <session>.begin_nested():` (`async with`
for an awaited commit) and the commit goes. A commit alone in an `if commit:` branch takes
the branch with it and wraps the writes before the branch. A rollback in an `except`
handler that re-raises goes, and the `try` body's writes get a SAVEPOINT if they have none.
Everything else keeps its nodes, so formatting and comments stay as they were.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper

from ..analysis import Action, DaoFacts, FileContext, FileContextProvider, Origin, SessionFacts
from ..analysis.structure import raises, statement_call

__all__ = ["NestedSessionRewrite", "rewrite_nested"]

_WRITE_WORDS = frozenset(
    {
        "create", "update", "delete", "upsert", "bulk", "save", "add", "remove", "set", "insert",
        "overwrite", "override", "merge", "persist", "store", "put", "destroy", "erase", "modify",
        "edit", "copy", "import", "clear", "append", "extend", "discard", "pop",
    }
)


class _Commit:
    """A removed commit whose writes still need a SAVEPOINT in an enclosing block."""

    def __init__(self, session: cst.BaseExpression, awaited: bool) -> None:
        self.session = session
        self.awaited = awaited


class NestedSessionRewrite(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (SessionFacts, DaoFacts)

    def __init__(self, targets: Set[str]) -> None:
        super().__init__()
        self.targets = targets
        self.changed: List[str] = []
        self.commits = 0
        self.rollbacks = 0

    # -- facts ---------------------------------------------------------------------------
    def _use(self, node: cst.CSTNode):  # noqa: ANN202
        return self.get_metadata(SessionFacts, node, None)

    def _statement_call(self, statement: cst.BaseStatement, action: Action) -> Optional[Tuple[cst.Call, bool]]:
        """The session call of a one-call statement line doing `action`, and whether it is awaited."""
        found = statement_call(statement)
        if found is None:
            return None
        value, awaited = found
        use = self._use(value)
        if use is None or use.action is not action or use.origin is Origin.CREATED:
            return None
        return value, awaited

    def _touches_state(self, node: cst.CSTNode) -> bool:
        found = []
        rewrite = self

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> Optional[bool]:
                use = rewrite._use(call)
                if use is not None and use.action is Action.WRITE:
                    found.append(call)
                    return False
                func = call.func
                if isinstance(func, cst.Name) and func.value in ("setattr", "delattr"):
                    found.append(call)
                if isinstance(func, cst.Attribute):
                    word = func.attr.value.lstrip("_").split("_")[0]
                    receiver = func.value
                    if word in _WRITE_WORDS and not (isinstance(receiver, cst.Name) and receiver.value in ("dict", "set", "list")):
                        if isinstance(receiver, (cst.Attribute, cst.Call)) or (
                            isinstance(receiver, cst.Name) and (receiver.value in ("cls", "self") or receiver.value[:1].isupper())
                        ):
                            found.append(call)
                return None

            def visit_Assign(self, assign: cst.Assign) -> None:
                if any(isinstance(t.target, (cst.Attribute, cst.Subscript)) for t in assign.targets):
                    found.append(assign)

            def visit_AugAssign(self, assign: cst.AugAssign) -> None:
                if isinstance(assign.target, (cst.Attribute, cst.Subscript)):
                    found.append(assign)

            def visit_AnnAssign(self, assign: cst.AnnAssign) -> None:
                if isinstance(assign.target, (cst.Attribute, cst.Subscript)):
                    found.append(assign)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

            def visit_ClassDef(self, node: cst.ClassDef) -> bool:
                return False

        node.visit(Finder())
        return bool(found)

    def _guarded_rollback(self, statement: cst.BaseStatement) -> Optional[Tuple[cst.Call, bool]]:
        """`if commit: session.rollback()`: a rollback behind a side-effect-free test."""
        if not isinstance(statement, cst.If) or statement.orelse is not None or not _pure_test(statement.test):
            return None
        body = statement.body
        if not isinstance(body, cst.IndentedBlock) or len(body.body) != 1:
            return None
        return self._statement_call(body.body[0], Action.ROLLBACK)

    def _is_nested_block(self, statement: cst.BaseStatement) -> bool:
        # structural on purpose: blocks this rewrite just made have no metadata
        if not isinstance(statement, cst.With):
            return False
        return any(
            isinstance(item.item, cst.Call)
            and isinstance(item.item.func, cst.Attribute)
            and item.item.func.attr.value == "begin_nested"
            for item in statement.items
        )

    # -- rewriting -------------------------------------------------------------------------
    def _wrap(self, statements: List[cst.BaseStatement], start: int, commit: _Commit) -> List[cst.BaseStatement]:
        """Wrap statements[from the first state change at or after `start`:] in a SAVEPOINT."""
        segment = statements[start:]
        first = next((i for i, s in enumerate(segment) if self._is_nested_block(s) or self._touches_state(s)), None)
        if first is None:
            return statements
        body = segment[first:]
        if all(self._is_nested_block(s) or not self._touches_state(s) for s in body):
            return statements  # already inside SAVEPOINTs: only the commit goes
        head = body[0]
        leading = head.leading_lines
        body = [head.with_changes(leading_lines=())] + list(body[1:])
        item = cst.WithItem(
            cst.Call(func=cst.Attribute(value=commit.session.deep_clone(), attr=cst.Name("begin_nested")))
        )
        block = cst.With(
            items=[item],
            body=cst.IndentedBlock(body=body),
            asynchronous=cst.Asynchronous() if commit.awaited else None,
            leading_lines=leading,
        )
        return statements[: start + first] + [block]

    def _block(self, statements: Sequence[cst.BaseStatement]) -> Tuple[List[cst.BaseStatement], Optional[_Commit]]:
        """Rewrite a block; the second item is a commit still owed to the enclosing block."""
        out: List[cst.BaseStatement] = []
        barrier = 0
        owed: Optional[_Commit] = None
        for statement in statements:
            commit = self._statement_call(statement, Action.COMMIT)
            if commit is not None:
                call, awaited = commit
                self.commits += 1
                pending = _Commit(call.func.value, awaited)
                if not any(self._touches_state(s) for s in out[barrier:]):
                    owed = owed or pending
                else:
                    out = self._wrap(out, barrier, pending)
                barrier = len(out)
                continue
            rewritten, child_owed = self._compound(statement)
            if child_owed is not None:
                if rewritten is None:  # the statement vanished with its commit: wrap before it
                    if any(self._touches_state(s) for s in out[barrier:]):
                        out = self._wrap(out, barrier, child_owed)
                    else:
                        owed = owed or child_owed
                    barrier = len(out)
                    continue
                owed = owed or child_owed
            if rewritten is not None:
                out.append(rewritten)
        return out, owed

    def _compound(self, statement: cst.BaseStatement) -> Tuple[Optional[cst.BaseStatement], Optional[_Commit]]:
        """Rewrite the blocks inside a compound statement; None when it should disappear."""
        if isinstance(statement, cst.If):
            body, owed = self._suite(statement.body)
            orelse = statement.orelse
            if orelse is not None:
                if isinstance(orelse, cst.Else):
                    else_body, else_owed = self._suite(orelse.body)
                    orelse = orelse.with_changes(body=else_body) if else_body is not None else None
                else:
                    rewritten, else_owed = self._compound(orelse)
                    orelse = rewritten
                owed = owed or else_owed
            if body is None:
                if orelse is None and _pure_test(statement.test):
                    return None, owed  # `if commit: session.commit()` goes entirely
                body = cst.IndentedBlock(body=[cst.SimpleStatementLine([cst.Pass()])])
            return statement.with_changes(body=body, orelse=orelse), owed
        if isinstance(statement, (cst.For, cst.While)):
            body, owed = self._suite(statement.body)
            if body is None:
                body = cst.IndentedBlock(body=[cst.SimpleStatementLine([cst.Pass()])])
            # a commit per iteration covers that iteration's writes: wrap them inside the loop
            if owed is not None:
                inner = list(body.body)
                wrapped = self._wrap(inner, 0, owed)
                body = body.with_changes(body=wrapped)
                owed = None
            return statement.with_changes(body=body), None
        if isinstance(statement, cst.With):
            body, owed = self._suite(statement.body)
            if body is None:
                body = cst.IndentedBlock(body=[cst.SimpleStatementLine([cst.Pass()])])
            return statement.with_changes(body=body), owed
        if isinstance(statement, cst.Try):
            return self._try(statement)
        return statement, None

    def _suite(self, suite: cst.BaseSuite) -> Tuple[Optional[cst.BaseSuite], Optional[_Commit]]:
        if not isinstance(suite, cst.IndentedBlock):
            return suite, None  # one-line suites (`if x: y`) are left alone
        body, owed = self._block(suite.body)
        if not body:
            return None, owed
        return suite.with_changes(body=body), owed

    def _try(self, statement: cst.Try) -> Tuple[cst.BaseStatement, Optional[_Commit]]:
        body, owed = self._suite(statement.body)
        handlers = []
        dropped_rollback: Optional[_Commit] = None
        for handler in statement.handlers:
            handler_body = handler.body
            if isinstance(handler_body, cst.IndentedBlock):
                kept: List[cst.BaseStatement] = []
                statements = list(handler_body.body)
                for number, inner in enumerate(statements):
                    rollback = self._statement_call(inner, Action.ROLLBACK) or self._guarded_rollback(inner)
                    if rollback is not None and raises(statements[number + 1 :]):
                        call, awaited = rollback
                        self.rollbacks += 1
                        dropped_rollback = dropped_rollback or _Commit(call.func.value, awaited)
                        continue
                    kept.append(inner)
                handler = handler.with_changes(body=handler_body.with_changes(body=kept))
            handlers.append(handler)
        if body is None:
            body = cst.IndentedBlock(body=[cst.SimpleStatementLine([cst.Pass()])])
        # writes whose failure was rolled back by hand now roll back to their own SAVEPOINT
        pending = owed or dropped_rollback
        if pending is not None and isinstance(body, cst.IndentedBlock):
            statements = list(body.body)
            wrapped = self._wrap(statements, 0, pending)
            if wrapped is not statements:
                body = body.with_changes(body=wrapped)
                owed = None
            elif owed is not None and not any(self._touches_state(s) for s in statements):
                pass  # nothing to wrap here: the enclosing block owes the SAVEPOINT
            else:
                owed = None
        orelse = statement.orelse
        finalbody = statement.finalbody
        if orelse is not None:
            new_orelse, else_owed = self._suite(orelse.body)
            orelse = orelse.with_changes(body=new_orelse) if new_orelse is not None else None
            owed = owed or else_owed
        if finalbody is not None:
            new_final, final_owed = self._suite(finalbody.body)
            finalbody = finalbody.with_changes(body=new_final or cst.IndentedBlock(body=[cst.SimpleStatementLine([cst.Pass()])]))
            owed = owed or final_owed
        return statement.with_changes(body=body, handlers=handlers, orelse=orelse, finalbody=finalbody), owed

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        scope = self.get_metadata(DaoFacts, original_node, None)
        if scope is None or scope.qualname not in self.targets or not isinstance(original_node.body, cst.IndentedBlock):
            return updated_node
        body, owed = self._block(original_node.body.body)
        if owed is not None:
            body = self._wrap(body, 0, owed)
        if not body:
            body = [cst.SimpleStatementLine([cst.Pass()])]
        if body == list(original_node.body.body):
            return updated_node
        self.changed.append(scope.qualname)
        return updated_node.with_changes(body=original_node.body.with_changes(body=body))


def _pure_test(test: cst.BaseExpression) -> bool:
    """A test with no side effects (`commit`, `not commit`, `self.commit`)."""
    if isinstance(test, cst.UnaryOperation):
        return _pure_test(test.expression)
    return isinstance(test, (cst.Name, cst.Attribute))


def rewrite_nested(module: cst.Module, context: FileContext, targets: Set[str]) -> Tuple[cst.Module, int, int]:
    """Apply the rewrite to the functions named in `targets`.

    Returns the module and how many commits and rollbacks went.
    """
    if not targets:
        return module, 0, 0
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    transformer = NestedSessionRewrite(targets)
    result = wrapper.visit(transformer)
    if not transformer.changed:
        return module, 0, 0
    return result, transformer.commits, transformer.rollbacks
