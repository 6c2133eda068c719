"""Session hygiene rules (DAO109-DAO111): sessions are scoped, closed, and trusted."""
from __future__ import annotations

import re

from typing import Dict, List, Optional, Set

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.names import dotted_name
from ..analysis.structure import StructureFacts, statement_call
from ..analysis.walk import visit_in_place
from .base import Invalid, Rule, Valid
from .ownership import owns_session_finding

__all__ = ["SessionNotClosed", "StaleRead", "RefreshExpire"]


def _names_in(node: cst.CSTNode) -> Set[str]:
    found: Set[str] = set()

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

        def visit_Attribute(self, attribute: cst.Attribute) -> bool:
            visit_in_place(attribute.value, self)
            return False

    visit_in_place(node, Finder())
    return found


def _is_close(statement: cst.CSTNode, name: str) -> bool:
    found = statement_call(statement)
    value = found[0] if found is not None else None
    return (
        value is not None
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "close"
        and dotted_name(value.func.value) == name
    )


_MADE_HERE = re.compile(r"[A-Za-z_]*[Ss]ession[A-Za-z_]*\((?!\s*bind\s*=\s*(?:op\.get_bind\(\)|\w*conn\w*|bind)\s*[,)])")


class SessionNotClosed(Rule):
    """Flags a session created without `with` and never closed in a `finally`.

    A session that is not closed keeps its connection checked out of the pool until the
    garbage collector finds it; under load the pool runs dry (QueuePool limit reached).
    And if the code between creation and `close()` raises, `close()` never runs. A `with`
    block closes the session on every path.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        # a session made here (`Session()`, `SessionLocal()`, a sessionmaker's product), other
        # than one bound to a connection someone else opened (a migration's `Session(bind=bind)`)
        return "sessionmaker" in text or _MADE_HERE.search(text) is not None

    code = "DAO109"
    migration_modules = "check"  # R10 and R5 hold in migrations too (RULES.md)
    name = "session-not-closed"
    seed = "R10"
    message = "session `{name}` is created without `with` and not closed in a `finally`; use `{keyword} {factory} as {name}:`"
    fix_title = "Turn the session's single scope into a `with` block"
    fix_safety = "safe"
    needs = (SessionFacts, DaoFacts, StructureFacts)
    valid = [
        Valid(
            """
            def nightly_cleanup():
                with SessionLocal() as session:
                    ReportDAO.delete_expired(session)
                    session.commit()
            """,
            path="app/jobs.py",
        ),
        Valid(
            """
            def get_db():
                db = SessionLocal()
                try:
                    yield db
                finally:
                    db.close()
            """,
            path="app/api/deps.py",
            title="closed in finally",
        ),
        Valid(
            """
            class ReportDAO(BaseDAO):
                @classmethod
                def find_expired(cls):
                    session = SessionLocal()
                    return session.query(Report).filter(Report.expired).all()
            """,
            path="app/daos/report.py",
            title="in a DAO it is DAO104's: take the caller's session, not `with` a new one",
        ),
    ]
    invalid = [
        Invalid(
            """
            def nightly_cleanup():
                session = SessionLocal()
                # remove what expired yesterday
                ReportDAO.delete_expired(session)
                session.commit()
                session.close()
                log.info("done")
            """,
            path="app/jobs.py",
            expect="DAO109 at 2:15",
            title="sync",
            after="""
            def nightly_cleanup():
                with SessionLocal() as session:
                    # remove what expired yesterday
                    ReportDAO.delete_expired(session)
                    session.commit()
                log.info("done")
            """,
        ),
        Invalid(
            """
            async def nightly_cleanup():
                session = AsyncSessionLocal()
                await ReportDAO.delete_expired(session)
                await session.commit()
                await session.close()
            """,
            path="app/jobs.py",
            expect="DAO109 at 2:15",
            title="async",
            after="""
            async def nightly_cleanup():
                async with AsyncSessionLocal() as session:
                    await ReportDAO.delete_expired(session)
                    await session.commit()
            """,
        ),
    ]

    # leave_: the value's facts exist once its call has been visited (one traversal for all)
    def leave_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        value = node.value
        if not isinstance(value, cst.Call):
            return
        use = self.fact(SessionFacts, value)
        if use is None or use.action is not Action.CREATE or "scoped" in use.method:
            return
        scope = self.fact(DaoFacts, value)
        if scope is None or scope.function is None:
            return
        if owns_session_finding(self, value) is not None:
            return  # DAO104's: take the caller's session (a `with` here would be the wrong advice)
        if _bound_to_a_connection(value):
            # `Session(bind=connection)`: it owns no connection of its own to give back (a
            # migration's `op.get_bind()`, a listener's connection); nothing leaks
            return
        name = node.targets[0].target.value
        function = scope.function
        if _escapes(function, name) or _closed_in_finally(function, name):
            return
        keyword = "async with" if scope.is_async and "async" in use.method.lower() else "with"
        fix, target = self._fix(node, name, keyword)
        self.report(value, fix=fix, fix_target=target, name=name, keyword=keyword, factory=cst.Module([]).code_for_node(value))

    def _fix(self, node: cst.Assign, name: str, keyword: str):  # noqa: ANN202
        place = self.fact(StructureFacts, node)
        line, block = (place.line, place.block) if place is not None else (None, None)
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1 or not isinstance(block, cst.IndentedBlock):
            return None, None
        statements = list(block.body)
        start = statements.index(line)
        rest = statements[start + 1 :]
        close = next((i for i, s in enumerate(rest) if _is_close(s, name)), None)
        body = rest if close is None else rest[:close]
        after = [] if close is None else rest[close + 1 :]
        if not body or any(name in _names_in(s) for s in after):
            return None, None
        if any(_rebinds(s, name) for s in body):
            return None, None
        item = cst.WithItem(node.value, asname=cst.AsName(cst.Name(name)))
        first = body[0]
        wrapped = cst.With(
            items=[item],
            body=cst.IndentedBlock(body=[first.with_changes(leading_lines=first.leading_lines)] + body[1:]),
            asynchronous=cst.Asynchronous() if keyword == "async with" else None,
            leading_lines=line.leading_lines,
        )
        return block.with_changes(body=statements[:start] + [wrapped] + after), block


def _rebinds(statement: cst.CSTNode, name: str) -> bool:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            if isinstance(target.target, cst.Name) and target.target.value == name:
                found.append(target)

    visit_in_place(statement, Finder())
    return bool(found)


def _escapes(function: cst.FunctionDef, name: str) -> bool:
    """The session leaves the function: returned, yielded, stored on an object, made global."""
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            if node.value is not None and name in _names_in(node.value):
                found.append(node)

        def visit_Yield(self, node: cst.Yield) -> None:
            if node.value is not None and name in _names_in(node.value):
                found.append(node)

        def visit_Assign(self, node: cst.Assign) -> None:
            stores = any(not isinstance(t.target, cst.Name) for t in node.targets)
            if stores and isinstance(node.value, cst.Name) and node.value.value == name:
                found.append(node)

        def visit_Global(self, node: cst.Global) -> None:
            if any(n.name.value == name for n in node.names):
                found.append(node)

    visit_in_place(function.body, Finder())
    return bool(found)


def _closed_in_finally(function: cst.FunctionDef, name: str) -> bool:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Finally(self, node: cst.Finally) -> None:
            class Close(cst.CSTVisitor):
                def visit_SimpleStatementLine(self, line: cst.SimpleStatementLine) -> None:
                    if _is_close(line, name):
                        found.append(line)

            visit_in_place(node, Close())

    visit_in_place(function.body, Finder())
    return bool(found)


def _bound_to_a_connection(call: cst.Call) -> bool:
    """`Session(bind=connection)` / `Session(bind=op.get_bind())`: bound to a connection
    someone else opened (not to an engine, whose pool it would draw from)."""
    for arg in call.args:
        if arg.keyword is None or arg.keyword.value != "bind":
            continue
        value = arg.value
        if isinstance(value, cst.Call):
            value = value.func
        text = (dotted_name(value) or "").rsplit(".", 1)[-1].lower()
        return "conn" in text or text in ("get_bind", "bind")
    return False


class StaleRead(Rule):
    """Flags a name read in one transaction block and written in a later, separate one.

    Between the two blocks another request may have changed the row: the write in the
    second transaction is based on a read the database no longer vouches for (a lost
    update). Reads and the writes based on them belong in the same transaction.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return ".begin(" in text

    code = "DAO110"
    migration_modules = "check"  # R10 and R5 hold in migrations too (RULES.md)
    name = "stale-read"
    seed = "R10"
    message = "`{name}` was read in the transaction of line {line} and is written in a later one; read and write it in the same transaction"
    needs = (SessionFacts,)
    valid = [
        Valid(
            """
            def withdraw(session, account_id, amount):
                with session.begin():
                    account = session.get(Account, account_id)
                    account.balance -= amount
            """,
            path="app/services/accounts.py",
        )
    ]
    invalid = [
        Invalid(
            """
            def withdraw(session, account_id, amount):
                with session.begin():
                    account = session.get(Account, account_id)
                check_limits(amount)
                with session.begin():
                    account.balance -= amount
            """,
            path="app/services/accounts.py",
            expect="DAO110 at 6:9",
            remedy="""
            def withdraw(session, account_id, amount):
                check_limits(amount)
                with session.begin_nested():
                    account = AccountDAO.find_by_id(session, account_id)
                    account.balance -= amount
            """,
        )
    ]

    def _transaction(self, statement: cst.CSTNode) -> bool:
        if not isinstance(statement, cst.With):
            return False
        for item in statement.items:
            if isinstance(item.item, cst.Call):
                use = self.fact(SessionFacts, item.item)
                if use is not None and use.action is Action.BEGIN:
                    return True
                func = item.item.func
                if isinstance(func, cst.Attribute) and func.attr.value == "begin" and use is not None:
                    return True
        return False

    def leave_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        reads: Dict[str, int] = {}
        for statement in node.body:
            if not self._transaction(statement):
                continue
            line = self.line_of(next(i.item for i in statement.items if isinstance(i.item, cst.Call)))
            reported = self._writes(statement, reads)
            for name in reported:
                reads.pop(name, None)
            for name in self._reads(statement):
                reads[name] = line

    def _reads(self, block: cst.With) -> List[str]:
        names = []
        rule = self

        class Finder(cst.CSTVisitor):
            def visit_Assign(self, assign: cst.Assign) -> None:
                calls = []

                class Calls(cst.CSTVisitor):
                    def visit_Call(self, call: cst.Call) -> None:
                        use = rule.fact(SessionFacts, call)
                        if use is not None and use.action is Action.READ:
                            calls.append(call)

                visit_in_place(assign.value, Calls())
                if calls:
                    names.extend(t.target.value for t in assign.targets if isinstance(t.target, cst.Name))

        visit_in_place(block.body, Finder())
        return names

    def _writes(self, block: cst.With, reads: Dict[str, int]) -> List[str]:
        reported: List[str] = []
        rule = self

        def root(expr: cst.BaseExpression) -> Optional[str]:
            while isinstance(expr, (cst.Attribute, cst.Subscript)):
                expr = expr.value
            return expr.value if isinstance(expr, cst.Name) else None

        def flag(node: cst.CSTNode, name: Optional[str]) -> None:
            if name in reads and name not in reported:
                reported.append(name)
                rule.report(node, name=name, line=reads[name])

        class Finder(cst.CSTVisitor):
            def visit_Assign(self, assign: cst.Assign) -> None:
                for target in assign.targets:
                    if isinstance(target.target, (cst.Attribute, cst.Subscript)):
                        flag(assign, root(target.target))
                    elif isinstance(target.target, cst.Name):
                        reads.pop(target.target.value, None)  # rebound: a fresh value

            def visit_AugAssign(self, assign: cst.AugAssign) -> None:
                if isinstance(assign.target, (cst.Attribute, cst.Subscript)):
                    flag(assign, root(assign.target))

            def visit_Call(self, call: cst.Call) -> None:
                use = rule.fact(SessionFacts, call)
                if use is not None and use.action is Action.WRITE:
                    for arg in call.args:
                        if isinstance(arg.value, cst.Name):
                            flag(call, arg.value.value)

        visit_in_place(block.body, Finder())
        return reported


class RefreshExpire(Rule):
    """Flags `session.refresh()`, `expire()` and `expire_all()` (opt-in).

    Reloading state by hand usually works around a session that lives too long or a read
    made in another transaction. Keep reads and writes in one unit of work and the session
    short, and the identity map is right without being reset.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return ".refresh(" in text or ".expire" in text

    code = "DAO111"
    migration_modules = "check"  # R10 and R5 hold in migrations too (RULES.md)
    name = "refresh-expire"
    seed = "R10"
    message = "`{session}.{method}()` reloads state by hand; keep reads and writes in one short unit of work instead"
    default_enabled = False
    needs = (SessionFacts,)
    valid = [
        Valid(
            """
            def rename(session, user_id, name):
                user = session.get(User, user_id)
                user.name = name
            """,
            path="app/services/users.py",
        )
    ]
    invalid = [
        Invalid(
            """
            def rename(session, user, name):
                session.refresh(user)
                user.name = name
                session.expire_all()
            """,
            path="app/services/users.py",
            expect=("DAO111 at 2:5", "DAO111 at 4:5"),
            remedy="""
            def rename(session, user, name):
                user.name = name
            """,
        )
    ]

    def visit_Call(self, node: cst.Call) -> None:
        use = self.fact(SessionFacts, node)
        if use is not None and use.action is Action.REFRESH:
            self.report(node, session=use.session, method=use.method)
