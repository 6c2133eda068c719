"""More unit-of-work rules (DAO106-DAO108): where a transaction is split or ended out of turn."""
from __future__ import annotations

from typing import Dict, List, Tuple

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.structure import StructureFacts, exclusive, leaves_after
from ..analysis.walk import visit_in_place
from .base import Invalid, Rule, Valid

__all__ = ["CommitInLoop", "SplitUnitOfWork", "ListenerTransaction"]


def _skip(scope) -> bool:  # noqa: ANN001 - CodeScope
    """Tests have their own rules (DAO9xx); migrations are their own unit of work."""
    return scope is None or scope.in_test or scope.migration_module


class CommitInLoop(Rule):
    """Flags `commit()` inside a `for` or `while` body.

    A commit per iteration turns one piece of work into as many transactions as there are
    rows: when iteration 40 fails, 39 are already committed and the data is half-changed.
    The loop belongs inside one unit of work, and the commit after it, once.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return ".commit(" in text

    code = "DAO106"
    name = "commit-in-loop"
    seed = "R4"
    message = "`{call}` commits on every iteration; commit once, after the loop, in the unit of work"
    needs = (SessionFacts, DaoFacts, StructureFacts)
    valid = [
        Valid(
            """
            DOMAINS = {"default": {"departments": [("Modeling", "#fff"), ("Animation", "#000")]}}

            def init_domain(domain):
                setup = DOMAINS.get(domain, DOMAINS["default"])
                for name, color in setup["departments"]:
                    db.session.add(Department(name=name, color=color))
                    db.session.commit()
            """,
            path="app/commands/setup.py",
            title="a part of a literal collection is a fixed list too",
        ),
        Valid(
            """
            def import_users(rows):
                for row in rows:
                    UserDAO.create(row)
                db.session.commit()
            """,
            path="app/commands/importer.py",
        ),
        Valid(
            """
            def record_run(job):
                for attempt in range(3):
                    try:
                        db.session.add(JobRun(job=job))
                        db.session.commit()
                        return
                    except OperationalError:
                        db.session.rollback()
            """,
            path="app/jobs/runner.py",
            title="a retry",
        ),
        Valid(
            """
            def publish(session: Session, items):
                for item in items:
                    try:
                        send(item)
                    except SendError:
                        session.add(Failure(item=item))
                        session.commit()
                        raise
            """,
            path="app/jobs/publisher.py",
            title="a commit on the way out of the loop",
        ),
    ]
    invalid = [
        Invalid(
            """
            def import_users(rows):
                for row in rows:
                    db.session.add(User(**row))
                    db.session.commit()
            """,
            path="app/commands/importer.py",
            # the function is the unit of work: the commit it keeps is its boundary's
            options={"boundaries": ["app/commands/importer.py::import_users"]},
            expect="DAO106 at 4:9",
            remedy="""
            def import_users(rows):
                UserDAO.bulk_create([User(**row) for row in rows])
                db.session.commit()
            """,
        ),
        Invalid(
            """
            def watch(session: Session, query):
                while True:
                    status = poll(query)
                    query.progress = status.progress
                    session.commit()
                    if status.done:
                        break
            """,
            path="app/jobs/watcher.py",
            expect="DAO106 at 5:9",
            title="a polling loop is no retry",
        ),
        Invalid(
            """
            async def import_users(session: AsyncSession, rows):
                while rows:
                    session.add(User(**rows.pop()))
                    await session.commit()
            """,
            path="app/jobs.py",
            expect="DAO106 at 4:15",
            title="async",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        use = self.fact(SessionFacts, node)
        if use is None or use.action is not Action.COMMIT:
            return
        if _skip(self.fact(DaoFacts, node)):
            return
        place = self.fact(StructureFacts, node)
        if place.item_loop is not None and not leaves_after(place):
            self.report(node, call=f"{use.session}.commit()")


class SplitUnitOfWork(Rule):
    """Flags a function that commits more than once.

    Two commits in one function make two transactions of what reads as one operation: if
    the second part fails, the first is already durable. Either the function is one unit
    of work (one commit, at the end), or its parts are separate operations and belong in
    separate commands.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return text.count(".commit(") >= 2

    code = "DAO107"
    name = "split-unit-of-work"
    seed = "R4"
    message = "`{function}` commits again here (first commit on line {first}); one unit of work commits once"
    needs = (SessionFacts, DaoFacts, StructureFacts)
    valid = [
        Valid(
            """
            def publish(dashboard, notify):
                if notify:
                    send_mail(dashboard)
                    db.session.commit()
                else:
                    db.session.commit()
            """,
            path="app/commands/publish.py",
            title="exclusive branches",
        ),
        Valid(
            """
            def save_table(table):
                if table:
                    table.refreshed = True
                    db.session.commit()
                if not table:
                    db.session.add(Table())
                    db.session.commit()
            """,
            path="app/commands/tables.py",
            title="`if x:` then `if not x:` are exclusive too (unless the first rebinds x)",
        ),
        Valid(
            """
            @cache.memoize(600)
            def get_status(name):
                return StatusDAO.get_or_create(name)

            class CloseTicketCommand:
                def run(self, ticket):
                    ticket.status = get_status("closed")
                    db.session.commit()

            class StatusDAO:
                @classmethod
                def get_or_create(cls, name):
                    status = Status(name=name)
                    db.session.add(status)
                    db.session.commit()
                    return status
            """,
            path="app/commands/tickets.py",
            title="a memoized lookup commits on a cold cache only: not a second commit of each run",
        ),
        Valid(
            """
            def archive(dashboard):
                if dashboard.archived:
                    dashboard.touched = True
                    db.session.commit()
                    return dashboard
                dashboard.archived = True
                db.session.commit()
                return dashboard
            """,
            path="app/commands/archive.py",
            title="the first branch returns",
        ),
        Valid(
            """
            def register(user):
                try:
                    db.session.add(user)
                    db.session.flush()
                except IntegrityError:
                    db.session.rollback()
                    db.session.add(Conflict(email=user.email))
                    db.session.commit()
                else:
                    db.session.commit()
            """,
            path="app/commands/register.py",
            title="except and else are exclusive",
        ),
    ]
    invalid = [
        Invalid(
            """
            def transfer(source, target, amount):
                source.balance -= amount
                db.session.commit()
                target.balance += amount
                db.session.commit()
            """,
            path="app/commands/transfer.py",
            # the function is the unit of work: the commit it keeps is its boundary's
            options={"boundaries": ["app/commands/transfer.py::transfer"]},
            expect="DAO107 at 5:5",
            remedy="""
            def transfer(source, target, amount):
                source.balance -= amount
                target.balance += amount
                db.session.commit()
            """,
        ),
        Invalid(
            """
            def rename(chart, title):
                chart.title = title
                db.session.commit()
                if chart.dashboard:
                    chart.dashboard.touched = True
                    db.session.commit()
                return chart
            """,
            path="app/commands/rename.py",
            options={"boundaries": ["app/commands/rename.py::rename"]},
            expect="DAO107 at 6:9",
            title="a return after both commits",
        ),
        Invalid(
            """
            class RefreshCommand:
                def run(self, table):
                    if not table:
                        table = Table()
                        db.session.commit()
                    if table:
                        db.session.commit()
            """,
            path="app/commands/tables.py",
            expect="DAO107 at 7:13",
            title="`if not x:` that binds x, then `if x:`: both run",
        ),
        Invalid(
            """
            def get_status(name):
                return StatusDAO.get_or_create(name)

            class CloseTicketCommand:
                def run(self, ticket):
                    ticket.status = get_status("closed")
                    db.session.commit()

            class StatusDAO:
                @classmethod
                def get_or_create(cls, name):
                    status = Status(name=name)
                    db.session.add(status)
                    db.session.commit()
                    return status
            """,
            path="app/commands/tickets.py",
            expect="DAO107 at 7:9",
            title="the same lookup, not memoized: it may commit on every run",
        ),
    ]

    def __init__(self, context) -> None:  # noqa: ANN001
        super().__init__(context)
        self.commits: Dict[cst.FunctionDef, List[Tuple[cst.Call, List]]] = {}
        self.reported: set = set()

    def visit_Call(self, node: cst.Call) -> None:
        use = self.fact(SessionFacts, node)
        if use is None or use.action is not Action.COMMIT:
            return
        scope = self.fact(DaoFacts, node)
        if _skip(scope) or scope.function is None or scope.listener:
            return  # (a listener's commits are DAO108's: none of them belongs there)
        path = self.fact(StructureFacts, node)
        if path.loop is not None:
            return  # DAO106's finding
        earlier = self.commits.setdefault(scope.function, [])
        if scope.function not in self.reported:
            for other, other_path in earlier:
                if not exclusive(other_path, path) and not _returns_after(other_path, path):
                    line = self.line_of(other)
                    self.report(node, function=scope.qualname, first=line)
                    self.reported.add(scope.function)  # once per function: the rest is the same story
                    break
        earlier.append((node, path))


def _returns_after(first, second) -> bool:  # noqa: ANN001 - Places
    """The path through the first commit leaves the function (return, raise) before the
    second: the first commit's block ends that way and the second is outside the block."""
    block, line = first.block, first.line
    if block is None or line is None or second.block is block:
        return False
    statements = list(block.body)
    if line not in statements:
        return False
    for statement in statements[statements.index(line) + 1 :]:
        if _holds(statement, second.line):
            return False  # the second commit comes first (a `return` after both leaves too late)
        if isinstance(statement, cst.SimpleStatementLine) and any(isinstance(x, (cst.Return, cst.Raise)) for x in statement.body):
            return True
    return False


def _holds(statement: cst.CSTNode, line: object) -> bool:
    """`line` (a statement line) is `statement` or inside it."""
    if statement is line:
        return True
    found = []

    class Finder(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            if node is line:
                found.append(node)
            return False

    visit_in_place(statement, Finder())
    return bool(found)


class ListenerTransaction(Rule):
    """Flags an ORM event listener that commits, rolls back or opens a session.

    Listeners (`after_insert`, `before_flush`, attribute `set`...) run in the middle of
    someone else's flush, inside someone else's transaction. Committing there ends that
    transaction halfway; rolling back throws it away; a new session works outside it and
    may deadlock against it. A listener writes through the connection or session it is
    given, and lets the unit of work decide.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return "listen" in text

    code = "DAO108"
    name = "listener-transaction"
    seed = "R4"
    message = "listener `{function}` ({event}) {what}; write through the connection or session it is given and let the unit of work decide"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            @event.listens_for(Post, "after_delete")
            def audit_delete(mapper, connection, target):
                connection.execute(audit_log.insert().values(target=target.id))
            """,
            path="app/listeners.py",
        )
    ]
    invalid = [
        Invalid(
            """
            @event.listens_for(Post, "after_insert")
            def tag_new_post(mapper, connection, target):
                db.session.add(Tag(post_id=target.id))
                db.session.commit()
            """,
            path="app/listeners.py",
            expect="DAO108 at 4:5",
            remedy="""
            @event.listens_for(Post, "after_insert")
            def tag_new_post(mapper, connection, target):
                connection.execute(insert(Tag.__table__).values(post_id=target.id))
            """,
        ),
        Invalid(
            """
            from sqlalchemy.orm import Session


            def audit(mapper, connection, target):
                session = Session(bind=connection)
                session.add(AuditEntry(target=target.id))
                session.commit()

            event.listen(Post, "after_update", audit)
            """,
            path="app/listeners.py",
            expect=("DAO108 at 5:15", "DAO108 at 7:5"),
            title="registered with event.listen",
        ),
    ]
    _WHAT = {Action.COMMIT: "commits", Action.ROLLBACK: "rolls back", Action.CREATE: "opens its own session"}

    def visit_Call(self, node: cst.Call) -> None:
        use = self.fact(SessionFacts, node)
        if use is None or use.action not in self._WHAT:
            return
        scope = self.fact(DaoFacts, node)
        if scope is None or scope.listener is None or scope.in_test:
            return
        self.report(node, function=scope.qualname, event=scope.listener, what=self._WHAT[use.action])


# catching these hides every failure of the unit of work, not one the code expects
