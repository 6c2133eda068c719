"""Who owns the session and the transaction (DAO104, DAO105): the unit of work does, so a
DAO never opens its own session and nothing but a boundary commits or rolls back."""
from __future__ import annotations

import libcst as cst

from ..analysis import Action, DaoFacts, Origin, SessionFacts
from ..analysis.session import FunctionSessions, is_commit_helper
from ..foundations.codes import boundary_hint
from .base import Invalid, Rule, Valid
from ..analysis.walk import visit_in_place

__all__ = ["DaoOwnsSession", "ExplicitTransactionControl", "owns_session_finding"]


def _migrates(function) -> bool:  # noqa: ANN001 - a FunctionDef or None
    """The function drives alembic (`MigrationContext.configure(connection)`, `command.upgrade`)."""
    if function is None:
        return False
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            if name.value in ("MigrationContext", "alembic"):
                found.append(name)

    visit_in_place(function.body, Finder())
    return bool(found)


class DaoOwnsSession(Rule):
    """Flags a DAO, or a function handed a session, that opens its own session or transaction.

    A DAO that creates a session (`Session()`, `SessionLocal()`, `scoped_session(...)`),
    starts a top-level transaction (`session.begin()`, `engine.begin()`,
    `engine.connect()`), or closes a session it was handed, works outside the caller's
    unit of work: its writes commit or vanish on their own schedule. Sessions are created
    once per request, job or command and passed in; nested work uses `begin_nested()`.
    """

    code = "DAO104"
    migration_modules = "dao"
    name = "dao-owns-session"
    seed = "R4"
    message = "`{function}` {what}; take the caller's session and join its transaction (`begin_nested()` for a nested unit)"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            class RunStore:
                def __init__(self, engine):
                    self.sessions = scoped_session(sessionmaker(bind=engine))
            """,
            path="app/daos/runs.py",
            title="a session registry set up with the store",
        ),
        Valid(
            """
            class ReportDAO(BaseDAO):
                @classmethod
                def create(cls, session: Session, report):
                    with session.begin_nested():
                        session.add(report)
                    return report
            """
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
            title="request-scoped session",
        ),
    ]
    invalid = [
        Invalid(
            """
            class ReportDAO(BaseDAO):
                @classmethod
                def create(cls, report):
                    with SessionLocal() as session:
                        session.add(report)
                        session.commit()
            """,
            expect=("DAO104 at 4:14", "DAO101 at 6:13"),
            remedy="""
            class ReportDAO(BaseDAO):
                @classmethod
                def create(cls, report):
                    with db.session.begin_nested():
                        db.session.add(report)
            """,
        ),
        Invalid(
            """
            def archive_reports(session: Session, reports):
                with session.begin():
                    for report in reports:
                        report.archived = True
                session.close()
            """,
            path="app/services/reports.py",
            expect=("DAO104 at 2:10", "DAO104 at 5:5"),
            title="service handed a session",
        ),
    ]

    _WHAT = {
        Action.CREATE: "creates its own session (`{method}`)",
        Action.ENGINE_TRANSACTION: "opens its own connection (`{session}.{method}()`)",
        Action.BEGIN: "starts a top-level transaction (`{session}.begin()`)",
        Action.CLOSE: "closes a session it did not create (`{session}.{method}()`)",
        Action.REMOVE: "removes a session it did not create (`{session}.remove()`)",
    }

    def visit_Call(self, node: cst.Call) -> None:
        scope = owns_session_finding(self, node)
        if scope is not None:
            use = self.fact(SessionFacts, node)
            what = self._WHAT[use.action].format(method=use.method, session=use.session)
            self.report(node, function=scope.qualname or "<module>", what=what)


def owns_session_finding(rule: Rule, node: cst.Call):  # noqa: ANN201 - the DaoFacts scope, or None
    """Where DAO104 reports `node` (a session made, a connection or top-level transaction
    opened, a session closed, by a DAO or by a function handed a session): the scope, else
    None. DAO109 asks too: where the answer is "take the caller's session", closing the one
    made here is not the advice (one root cause, one finding)."""
    use = rule.fact(SessionFacts, node)
    if use is None or use.action not in DaoOwnsSession._WHAT:
        return None
    if use.action in (Action.BEGIN, Action.CLOSE, Action.REMOVE) and use.origin in (Origin.CREATED, Origin.OBTAINED):
        return None
    scope = rule.fact(DaoFacts, node)
    if scope is None or scope.in_test or scope.in_boundary:
        return None
    function = scope.qualname.rsplit(".", 1)[-1]
    if use.action is Action.CREATE and use.method.rsplit(".", 1)[-1] in ("scoped_session", "async_scoped_session") and (
        function in ("", "__init__", "__setstate__")
    ):
        return None  # a registry set up with the module or the DAO: configuration, not a session opened
    if function.lower().startswith(("init", "setup", "set_up", "configure")) or _migrates(scope.function):
        return None  # wiring at start-up, or schema tooling (alembic) that needs its own connection
    if not scope.in_dao:
        handed = scope.function is not None and rule.fact(SessionFacts, scope.function)
        if not isinstance(handed, FunctionSessions):
            return None
        if use.action is Action.BEGIN and use.origin is not Origin.PARAMETER:
            return None
    return scope


class ExplicitTransactionControl(Rule):
    """Flags `commit()` and `rollback()` outside DAOs and outside unit-of-work boundaries.

    Only the unit of work (a command's `run`, a request handler, a job, or a function
    carrying the project's transaction decorator) ends a transaction. A helper or service
    that commits splits its caller's work into pieces that succeed or fail separately.
    Declare the real units of work in `boundaries` or with `transaction-decorator`.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return not context.is_test and not context.is_migration_module and (".commit(" in text or ".rollback(" in text)

    code = "DAO105"

    fix_scope = "project"
    name = "explicit-transaction-control"
    seed = "R4"
    message = "`{session}.{method}()` outside a unit-of-work boundary; let the enclosing command, request or job end the transaction{alternative}"
    needs = (SessionFacts, DaoFacts)
    fix_title = "Give the boundary the transaction decorator and drop the explicit commits it covers"
    fix_safety = "unsafe"
    options = ("boundaries", "boundary-modules", "migration-modules", "transaction-decorator")
    references = (("SIP-98B: (re)defining a unit of work", "https://github.com/apache/superset/issues/25108"),)
    valid = [
        Valid(
            """
            class CreateChartCommand(BaseCommand):
                def run(self):
                    chart = ChartDAO.create(self._properties)
                    db.session.commit()
                    return chart
            """,
            path="app/commands/chart/create.py",
            title="command boundary",
        ),
        Valid(
            """
            @contextmanager
            def session_scope():
                session = SessionLocal()
                try:
                    yield session
                    session.commit()
                except Exception:
                    session.rollback()
                    raise
                finally:
                    session.close()
            """,
            path="app/utils/db.py",
            title="unit-of-work context manager",
        ),
    ]
    invalid = [
        Invalid(
            """
            def publish(dashboard):
                dashboard.published = True
                db.session.commit()
            """,
            path="app/services/publishing.py",
            expect="DAO105 at 3:5",
            remedy="""
            def publish(dashboard):
                # the command, request or job that calls this commits once, when it is done
                dashboard.published = True
            """,
        ),
        Invalid(
            """
            from app.services import audit


            def publish(dashboard):
                dashboard.published = True
                db.session.commit()


            class PublishDashboardCommand(BaseCommand):
                def run(self):
                    publish(self._dashboard)
                    audit(self._dashboard)
            """,
            path="app/commands/publish.py",
            expect="DAO105 at 6:5",
            # a decorator defined outside the project: `()` says it is a factory
            options={"transaction-decorator": "app.utils.transaction()"},
            title="covered by a decorated command",
            after="""
            from app.services import audit
            from app.utils import transaction


            def publish(dashboard):
                with db.session.begin_nested():
                    dashboard.published = True


            class PublishDashboardCommand(BaseCommand):
                @transaction()
                def run(self):
                    publish(self._dashboard)
                    audit(self._dashboard)
            """,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        use = self.fact(SessionFacts, node)
        if use is None or use.action not in (Action.COMMIT, Action.ROLLBACK):
            return
        if use.origin in (Origin.CREATED, Origin.OBTAINED):
            return  # a session the function opened itself: its own unit of work (DAO104, DAO109 judge it)
        scope = self.fact(DaoFacts, node)
        if scope is None or scope.in_dao or scope.in_test or scope.in_boundary or scope.listener:
            return  # a listener never owns a transaction: DAO108 reports it
        if is_commit_helper(scope.function, lambda n: self.fact(SessionFacts, n)):
            return  # `def commit(): db.session.commit()`: its callers are where the commits are
        self.report(node, session=use.session, method=use.method, alternative=boundary_hint(scope.qualname or ""))
