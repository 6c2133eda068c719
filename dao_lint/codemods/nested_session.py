"""DAO101/DAO102: a DAO's commit and rollback become a SAVEPOINT around its writes.

    db.session.add(item)            with db.session.begin_nested():
    db.session.commit()       ->        db.session.add(item)

The writes a commit made durable (the statements before it in the same block, from the
first one that changes state) move into `with <session>.begin_nested():` (`async with`
for an awaited commit) and the commit goes. A commit alone in an `if commit:` branch takes
the branch with it and wraps the writes before the branch.

Errors keep their meaning. A commit inside a `try` whose handlers wait for its errors keeps
its flush point there: the SAVEPOINT block goes inside the `try` (its exit flushes), or,
when the writes come before the `try` and every handler re-raises, the commit becomes
`flush()` and the SAVEPOINT encloses the writes and the `try`. A rollback in a handler goes
only where a SAVEPOINT now undoes the same work, so the session stays usable after the
error. Where none of this applies the function is left as it was and the reason is given:
a rewrite is all or nothing, per function.

Comments of removed statements are kept (moved to the next statement), no empty block is
written, and everything else keeps its nodes, so formatting stays as it was.
"""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper

from ..analysis import Action, DaoFacts, FileContext, FileContextProvider, SessionUse
from ..analysis import SessionFacts
from ..analysis.session_kinds import OWN_ORIGINS
from ..analysis.structure import raises, statement_call
from .statements import WRITE_WORDS, Owed, State, body_of, flush_statement, is_nested_block, pure_test, removed_lines
from ..analysis.walk import visit_in_place

__all__ = ["Facts", "FunctionRewrite", "NestedSessionRewrite", "Refused", "rewrite_nested"]

Facts = Callable[[cst.CSTNode], Optional[SessionUse]]


class Refused(Exception):
    """The function cannot be rewritten without changing what it does; the message says why."""


class FunctionRewrite:
    """Rewrites one DAO function, or refuses with the reason (`Refused`)."""

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.commits = 0
        self.rollbacks = 0
        # A DAO that commits had its caller's earlier writes committed already, so its
        # rollback undid only its own work; a rollback-only DAO's also discarded the caller's.
        self.removes_commits = False
        self.in_savepoint = False

    # -- facts ---------------------------------------------------------------------------
    def _transaction_call(self, statement: cst.BaseStatement, action: Action) -> Optional[Tuple[cst.Call, bool]]:
        """The session call of a one-call statement line doing `action`, and whether it is awaited."""
        found = statement_call(statement)
        if found is None:
            return None
        use = self.facts(found[0])
        if use is None or use.action is not action or use.origin in OWN_ORIGINS:
            return None
        return found

    def _guarded_rollback(self, statement: cst.BaseStatement) -> Optional[Tuple[cst.Call, bool]]:
        """`if commit: session.rollback()`: a rollback behind a side-effect-free test."""
        if not isinstance(statement, cst.If) or statement.orelse is not None or not pure_test(statement.test):
            return None
        body = statement.body
        if not isinstance(body, cst.IndentedBlock) or len(body.body) != 1:
            return None
        return self._transaction_call(body.body[0], Action.ROLLBACK)

    def state(self, nodes: Sequence[cst.CSTNode]) -> State:
        """Whether `nodes` change database state, and whether only inside SAVEPOINT blocks."""
        found = {"outside": False, "inside": False}
        rewrite = self

        class Finder(cst.CSTVisitor):
            def visit_With(self, node: cst.With) -> Optional[bool]:
                if is_nested_block(node):
                    if rewrite.state(body_of(node)) is not State.NONE:
                        found["inside"] = True
                    return False
                return None

            def visit_Call(self, call: cst.Call) -> Optional[bool]:
                use = rewrite.facts(call)
                if use is not None and use.action is Action.WRITE:
                    # `flush()` only sends writes made before; a SAVEPOINT around it alone
                    # would start after them (begin_nested() flushes first)
                    if use.method != "flush":
                        found["outside"] = True
                    return False
                func = call.func
                if isinstance(func, cst.Name) and func.value in ("setattr", "delattr"):
                    found["outside"] = True
                if isinstance(func, cst.Attribute):
                    word = func.attr.value.lstrip("_").split("_")[0]
                    receiver = func.value
                    own = (isinstance(receiver, cst.Name) and receiver.value in ("self", "cls")) or (
                        isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Name) and receiver.func.value == "super"
                    )
                    name = func.attr.value
                    constructs = name[:1].isupper() or name.endswith(("cls", "class", "model"))
                    if own and not constructs:
                        found["outside"] = True  # the object's own methods may write (an active record)
                    # `package_tag.delete()`, `ChartDAO.create()`: may change what the
                    # session holds (wrapping an in-memory call too costs nothing)
                    if word in WRITE_WORDS and not (isinstance(receiver, cst.Name) and receiver.value in ("dict", "set", "list")):
                        found["outside"] = True
                return None

            def _target(self, target: cst.BaseExpression) -> None:
                if isinstance(target, (cst.Attribute, cst.Subscript)):
                    found["outside"] = True

            def visit_Assign(self, assign: cst.Assign) -> None:
                for target in assign.targets:
                    self._target(target.target)

            def visit_AugAssign(self, assign: cst.AugAssign) -> None:
                self._target(assign.target)

            def visit_AnnAssign(self, assign: cst.AnnAssign) -> None:
                self._target(assign.target)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

            def visit_ClassDef(self, node: cst.ClassDef) -> bool:
                return False

        for node in nodes:
            visit_in_place(node, Finder())
        if found["outside"]:
            return State.UNCOVERED
        return State.COVERED if found["inside"] else State.NONE

    # -- rewriting -------------------------------------------------------------------------
    def _wrap(self, statements: List[cst.BaseStatement], start: int, owed: Owed) -> List[cst.BaseStatement]:
        """Wrap statements[from the first state change at or after `start`:] in a SAVEPOINT."""
        segment = statements[start:]
        first = next((i for i, s in enumerate(segment) if self.state([s]) is State.UNCOVERED), None)
        if first is None:
            return statements
        body = segment[first:]
        head = body[0]
        leading = head.leading_lines
        body = [head.with_changes(leading_lines=())] + list(body[1:])
        item = cst.WithItem(cst.Call(func=cst.Attribute(value=owed.session.deep_clone(), attr=cst.Name("begin_nested"))))
        block = cst.With(
            items=[item],
            body=cst.IndentedBlock(body=body),
            asynchronous=cst.Asynchronous() if owed.awaited else None,
            leading_lines=leading,
        )
        return statements[: start + first] + [block]

    def block(
        self, statements: Sequence[cst.BaseStatement], guarded: bool = False, in_savepoint: bool = False
    ) -> Tuple[List[cst.BaseStatement], Optional[Owed], List[cst.EmptyLine]]:
        """Rewrite a block: (statements, a commit owed to the enclosing block, comments left over).

        `guarded`: the block is the body of a `try` whose handlers catch the commit's errors.
        `in_savepoint`: the block is the body of a `begin_nested()` block already.
        """
        out: List[cst.BaseStatement] = []
        carry: List[cst.EmptyLine] = []
        barrier = 0  # statements before this were made durable by an earlier commit
        owed: Optional[Owed] = None

        def append(statement: cst.BaseStatement) -> None:
            nonlocal carry
            if carry:
                statement = statement.with_changes(leading_lines=[*carry, *statement.leading_lines])
                carry = []
            out.append(statement)

        def settle(pending: Owed) -> None:
            """A commit at this point: wrap the writes since the barrier, or owe it upward."""
            nonlocal out, owed, barrier
            state = self.state(out[barrier:])
            if state is State.UNCOVERED and not in_savepoint:
                out = self._wrap(out, barrier, pending)
            elif state is State.NONE and not in_savepoint:
                owed = owed or pending
            barrier = len(out)

        for statement in statements:
            commit = self._transaction_call(statement, Action.COMMIT)
            if commit is not None:
                call, awaited = commit
                self.commits += 1
                pending = Owed(call.func.value, awaited)
                if guarded and not in_savepoint and self.state(out[barrier:]) is State.NONE:
                    # its writes come before the `try`: keep the flush point here
                    append(statement.deep_replace(call.func.attr, cst.Name("flush")))
                    pending.with_try = True
                    owed = owed or pending
                    barrier = len(out)
                    continue
                carry.extend(removed_lines(statement))
                settle(pending)
                continue
            rewritten, child_owed, removed = self._compound(statement)
            if rewritten is None:  # `if commit: session.commit()` went
                if guarded and child_owed is not None and self.state(out[barrier:]) is State.NONE:
                    flush = flush_statement(child_owed).with_changes(leading_lines=statement.leading_lines)
                    append(flush)
                    child_owed.with_try = True
                    owed = owed or child_owed
                    barrier = len(out)
                    continue
                carry.extend(removed)
                if child_owed is not None:
                    settle(child_owed)
                continue
            if child_owed is not None and child_owed.with_try:
                # the `try` flushes the commit's writes: the SAVEPOINT must enclose both
                if self.state(out[barrier:]) is not State.UNCOVERED:
                    raise Refused("the commit's writes are not in the block of the `try` that handles its errors")
                append(rewritten)
                out = self._wrap(out, barrier, child_owed)
                barrier = len(out)
                continue
            append(rewritten)
            if child_owed is not None:
                # the writes before this statement and its own, outside SAVEPOINTs
                settle(child_owed)
        return out, owed, carry

    def _suite(
        self, suite: cst.BaseSuite, what: str, guarded: bool = False, in_savepoint: bool = False
    ) -> Tuple[Optional[cst.BaseSuite], Optional[Owed], List[cst.EmptyLine]]:
        """Rewrite an indented block; (None, ...) when nothing is left of it."""
        if not isinstance(suite, cst.IndentedBlock):
            return suite, None, []  # one-line suites (`if x: y`) are left alone (checked after)
        body, owed, carry = self.block(suite.body, guarded, in_savepoint or self.in_savepoint)
        if not body:
            return None, owed, carry
        if carry:
            suite = suite.with_changes(footer=[*carry, *suite.footer])
        return suite.with_changes(body=body), owed, []

    def _required(
        self, suite: cst.BaseSuite, what: str, guarded: bool = False, in_savepoint: bool = False
    ) -> Tuple[cst.BaseSuite, Optional[Owed]]:
        body, owed, _ = self._suite(suite, what, guarded, in_savepoint)
        if body is None:
            raise Refused(f"removing the commit would leave {what} empty")
        return body, owed

    def _compound(self, statement: cst.BaseStatement) -> Tuple[Optional[cst.BaseStatement], Optional[Owed], List[cst.EmptyLine]]:
        """Rewrite the blocks inside a compound statement; None when it should disappear."""
        if isinstance(statement, cst.If):
            body, owed, carry = self._suite(statement.body, "an `if` branch")
            orelse = statement.orelse
            if isinstance(orelse, cst.Else):
                new_else, else_owed = self._required(orelse.body, "an `else` branch")
                orelse = orelse.with_changes(body=new_else)
                owed = owed or else_owed
            elif isinstance(orelse, cst.If):
                new_elif, else_owed, _ = self._compound(orelse)
                if new_elif is None:
                    raise Refused("removing the commit would leave an `elif` branch empty")
                orelse = new_elif
                owed = owed or else_owed
            if body is None:
                if orelse is None and pure_test(statement.test):
                    # `if commit: session.commit()` goes entirely; its comments stay
                    return None, owed, removed_lines(statement)
                raise Refused("removing the commit would leave an `if` branch empty")
            return statement.with_changes(body=body, orelse=orelse), owed, []
        if isinstance(statement, (cst.For, cst.While)):
            body, owed = self._required(statement.body, "a loop body")
            orelse = statement.orelse
            if orelse is not None:
                new_else, else_owed = self._required(orelse.body, "a loop's `else`")
                orelse = orelse.with_changes(body=new_else)
                owed = owed or else_owed
            if owed is not None and isinstance(body, cst.IndentedBlock):
                # a commit per iteration covers that iteration's writes: wrap them inside the loop
                inner = list(body.body)
                state = self.state(inner)
                if state is State.UNCOVERED:
                    body = body.with_changes(body=self._wrap(inner, 0, owed))
                    owed = None
                elif state is State.COVERED:
                    owed = None
            return statement.with_changes(body=body, orelse=orelse), owed, []
        if isinstance(statement, cst.With):
            if is_nested_block(statement):
                # a commit inside a SAVEPOINT block: its writes are covered already
                outer, self.in_savepoint = self.in_savepoint, True
                try:
                    body, owed = self._required(statement.body, "a `with` block")
                finally:
                    self.in_savepoint = outer
                return statement.with_changes(body=body), None, []
            body, owed = self._required(statement.body, "a `with` block")
            return statement.with_changes(body=body), owed, []
        if isinstance(statement, cst.Try):
            return self._try(statement)
        return statement, None, []

    def _try(self, statement: cst.Try) -> Tuple[Optional[cst.BaseStatement], Optional[Owed], List[cst.EmptyLine]]:
        guarded = bool(statement.handlers)
        body, owed = self._required(statement.body, "a `try` body", guarded)
        reraise = all(self._reraises(h) for h in statement.handlers)
        if owed is not None and owed.with_try and not reraise:
            raise Refused(
                "the commit sits in a `try` whose handler swallows its errors, and what it makes "
                "durable is not written in that `try` (a SAVEPOINT inside the `try` would have to move it)"
            )
        handlers, rollbacks = self._handlers(statement.handlers)
        if rollbacks:
            # a rollback goes only where a SAVEPOINT now undoes the same work
            self.rollbacks += len(rollbacks)
            statements = list(body.body) if isinstance(body, cst.IndentedBlock) else []
            state = self.state(statements)
            if owed is not None and owed.with_try:
                pass  # the SAVEPOINT that will enclose this `try` undoes it; the error goes on
            elif state is State.NONE:
                raise Refused("the rollback undoes work done before the `try`, which no SAVEPOINT here can take over")
            elif state is State.UNCOVERED:
                if not reraise and not self.removes_commits:
                    raise Refused(
                        "the handler swallows the error after rolling back; a SAVEPOINT would keep "
                        "the caller's earlier writes that this rollback discarded"
                    )
                call, awaited = rollbacks[0]
                body = body.with_changes(body=self._wrap(statements, 0, Owed(call.func.value, awaited)))
        orelse = statement.orelse
        finalbody = statement.finalbody
        if orelse is not None:
            new_orelse, else_owed = self._required(orelse.body, "a `try`'s `else`")
            orelse = orelse.with_changes(body=new_orelse)
            owed = owed or else_owed
        if finalbody is not None:
            new_final, final_owed = self._required(finalbody.body, "a `finally` block")
            finalbody = finalbody.with_changes(body=new_final)
            owed = owed or final_owed
        return statement.with_changes(body=body, handlers=handlers, orelse=orelse, finalbody=finalbody), owed, []

    def _handlers(self, handlers: Sequence[cst.ExceptHandler]) -> Tuple[List[cst.ExceptHandler], List[Tuple[cst.Call, bool]]]:
        """The handlers without their rollbacks (comments kept), and the rollbacks taken out."""
        out: List[cst.ExceptHandler] = []
        rollbacks: List[Tuple[cst.Call, bool]] = []
        for handler in handlers:
            handler_body = handler.body
            if not isinstance(handler_body, cst.IndentedBlock):
                out.append(handler)
                continue
            kept: List[cst.BaseStatement] = []
            carry: List[cst.EmptyLine] = []
            for inner in handler_body.body:
                rollback = self._transaction_call(inner, Action.ROLLBACK) or self._guarded_rollback(inner)
                if rollback is not None:
                    rollbacks.append(rollback)
                    carry.extend(removed_lines(inner))
                    continue
                if carry:
                    inner = inner.with_changes(leading_lines=[*carry, *inner.leading_lines])
                    carry = []
                kept.append(inner)
            if not kept:
                raise Refused("removing the rollback would leave an `except` handler empty")
            out.append(handler.with_changes(body=handler_body.with_changes(body=kept, footer=[*carry, *handler_body.footer])))
        return out, rollbacks

    @staticmethod
    def _reraises(handler: cst.ExceptHandler) -> bool:
        return isinstance(handler.body, cst.IndentedBlock) and raises(handler.body.body)

    # -- the function ----------------------------------------------------------------------
    def apply(self, function: cst.FunctionDef) -> cst.FunctionDef:
        """The rewritten function (the same node when nothing changes); raises `Refused`."""
        if not isinstance(function.body, cst.IndentedBlock):
            raise Refused("the function body is on one line")
        self.removes_commits = self._has_commit(function.body)
        body, owed, carry = self.block(function.body.body)
        if owed is not None:
            if owed.with_try:
                raise Refused("the commit's writes are not in the block of the `try` that handles its errors")
            raise Refused(
                "nothing before the commit is seen to write: it makes its caller's writes durable (a commit "
                "helper), and the calls to it are where the unit of work belongs"
            )
        if not body:
            raise Refused("removing the commit would leave the function empty")
        block = function.body.with_changes(body=body)
        if carry:
            block = block.with_changes(footer=[*carry, *block.footer])
        self._check_left(block)
        if block.deep_equals(function.body):
            return function
        return function.with_changes(body=block)

    def _has_commit(self, block: cst.CSTNode) -> bool:
        rewrite = self
        found: List[bool] = []

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                use = rewrite.facts(call)
                if use is not None and use.action is Action.COMMIT and use.origin not in OWN_ORIGINS:
                    found.append(True)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

        visit_in_place(block, Finder())
        return bool(found)

    def _check_left(self, block: cst.IndentedBlock) -> None:
        """No commit or rollback of the caller's session may stay in a rewritten function."""
        rewrite = self
        left: List[str] = []

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                use = rewrite.facts(call)
                if use is not None and use.action in (Action.COMMIT, Action.ROLLBACK) and use.origin not in OWN_ORIGINS:
                    left.append(use.method)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

            def visit_Lambda(self, node: cst.Lambda) -> bool:
                return False

        visit_in_place(block, Finder())
        if left:
            raise Refused(f"a `{left[0]}()` is not a statement of its own (or sits where no SAVEPOINT can replace it)")


class NestedSessionRewrite(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (SessionFacts, DaoFacts)

    def __init__(self, targets: Set[str]) -> None:
        super().__init__()
        self.targets = targets
        self.changed: List[str] = []
        self.refused: List[Tuple[str, str]] = []
        self.commits = 0
        self.rollbacks = 0

    def _facts(self, node: cst.CSTNode) -> Optional[SessionUse]:
        return self.get_metadata(SessionFacts, node, None)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        scope = self.get_metadata(DaoFacts, original_node, None)
        if scope is None or scope.qualname not in self.targets:
            return updated_node
        rewrite = FunctionRewrite(self._facts)
        try:
            result = rewrite.apply(original_node)
        except Refused as exc:
            self.refused.append((scope.qualname, str(exc)))
            return updated_node
        if result is original_node:
            return updated_node
        self.changed.append(scope.qualname)
        self.commits += rewrite.commits
        self.rollbacks += rewrite.rollbacks
        return updated_node.with_changes(body=result.body)


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
