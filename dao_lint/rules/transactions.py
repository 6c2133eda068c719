"""Unit-of-work rules (DAO1xx): who commits, rolls back, and owns the session."""
from __future__ import annotations

import libcst as cst

from ..analysis import Action, DaoFacts, Origin, SessionFacts
from ..analysis.dao import commit_flags
from ..analysis.session import FunctionSessions, is_commit_helper
from ..rule import Invalid, Rule, Valid

__all__ = ["DaoCommits", "DaoRollsBack", "CommitFlagParameter", "DaoOwnsSession", "ExplicitTransactionControl"]


def _nested(use) -> str:  # noqa: ANN001 - SessionUse
    prefix = "async with" if use.awaited else "with"
    return f"{prefix} {use.session}.begin_nested():"


def _report_in_dao(rule: Rule, node: cst.Call, action: Action) -> None:
    """Report `node` when it is a session `action` (commit, rollback) made inside a DAO."""
    use = rule.fact(SessionFacts, node)
    if use is None or use.action is not action:
        return
    scope = rule.fact(DaoFacts, node)
    # a unit-of-work context manager commits and rolls back by design (R3's own shape); a
    # commit helper is `commit()` under another name: its calls are reported, not its body
    if scope is not None and scope.in_dao and not scope.unit_of_work and not is_commit_helper(scope.function, lambda n: rule.fact(SessionFacts, n)):
        rule.report(node, function=scope.qualname or "<module>", nested=_nested(use))


class DaoCommits(Rule):
    """Flags `commit()` on a session inside a DAO.

    A DAO that commits ends the caller's transaction in the middle of its work: when the
    command's next step fails, what the DAO committed stays, and the command is no longer
    one atomic unit of work. The caller (command, request handler, job) owns the
    transaction; a DAO joins it, and wraps its writes in a SAVEPOINT
    (`begin_nested()`) when it needs to roll them back on its own.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return ".commit(" in text

    code = "DAO101"
    migration_modules = "dao"
    name = "commit-in-dao"
    seed = "R3"
    message = "DAO `{function}` commits; remove the commit and let the caller's unit of work commit (`{nested}`)"
    fix_title = "Wrap the writes in `begin_nested()` and remove the commit, where every caller has a unit of work"
    fix_safety = "safe"
    needs = (SessionFacts, DaoFacts)
    references = (
        ("SIP-98A: primer on managing SQLAlchemy sessions", "https://github.com/apache/superset/issues/25107"),
        ("SIP-98B: (re)defining a unit of work", "https://github.com/apache/superset/issues/25108"),
    )
    valid = [
        Valid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def create(cls, properties):
                    chart = Chart(**properties)
                    with db.session.begin_nested():
                        db.session.add(chart)
                    return chart
            """
        ),
        Valid(
            """
            @contextmanager
            def session_scope(factory):
                session = factory()
                try:
                    yield session
                    session.commit()
                except Exception:
                    session.rollback()
                    raise
                finally:
                    session.close()
            """,
            path="app/storage/dao.py",
            title="the unit of work itself, as a context manager",
        ),
        Valid(
            """
            class GitDAO:
                def tag(self, repo):
                    repo.commit()  # a git repository, not a session
            """
        ),
    ]
    invalid = [
        Invalid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def create(cls, properties):
                    chart = Chart(**properties)
                    db.session.add(chart)
                    db.session.commit()
                    return chart


            @transaction()
            def create_chart(properties):
                return ChartDAO.create(properties)
            """,
            path="app/charts.py",
            expect="DAO101 at 6:9",
            options={"transaction-decorator": "app.utils.transaction"},
            after="""
            class ChartDAO(BaseDAO):
                @classmethod
                def create(cls, properties):
                    chart = Chart(**properties)
                    with db.session.begin_nested():
                        db.session.add(chart)
                    return chart


            @transaction()
            def create_chart(properties):
                return ChartDAO.create(properties)
            """,
        ),
        Invalid(
            """
            class UserRepository:
                async def create(self, session: AsyncSession, user):
                    session.add(user)
                    await session.commit()
            """,
            path="app/repositories/users.py",
            expect="DAO101 at 4:15",
            title="async",
        ),
        Invalid(
            """
            class TagDAO(BaseDAO):
                @classmethod
                def create_tags(cls, names):
                    for name in names:
                        # one tag per name
                        db.session.add(Tag(name=name))  # unique by name
                        db.session.commit()


            def tag_chart(chart, names):
                TagDAO.create_tags(names)
                db.session.commit()
            """,
            path="app/tags.py",
            expect="DAO101 at 7:13",
            title="commit-per-row-with-comments",
            after="""
            class TagDAO(BaseDAO):
                @classmethod
                def create_tags(cls, names):
                    for name in names:
                        # one tag per name
                        with db.session.begin_nested():
                            db.session.add(Tag(name=name))  # unique by name


            def tag_chart(chart, names):
                TagDAO.create_tags(names)
                db.session.commit()
            """,
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        _report_in_dao(self, node, Action.COMMIT)


class DaoRollsBack(Rule):
    """Flags `rollback()` on a session inside a DAO.

    A rollback in a DAO throws away the caller's earlier writes too, not only the DAO's
    own: the whole transaction goes. To undo only its own work, a DAO writes inside
    `begin_nested()`, whose SAVEPOINT rolls back by itself when the block raises; the
    error then travels up to the unit of work, which rolls back or recovers.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return ".rollback(" in text

    code = "DAO102"
    migration_modules = "dao"
    name = "rollback-in-dao"
    seed = "R3"
    message = "DAO `{function}` rolls back; let the error reach the unit of work, and write inside `{nested}` to undo only this DAO's work"
    fix_title = "Remove the rollback from a handler that re-raises and give the writes a SAVEPOINT"
    fix_safety = "safe"
    needs = (SessionFacts, DaoFacts)
    references = (("SIP-98A: primer on managing SQLAlchemy sessions", "https://github.com/apache/superset/issues/25107"),)
    valid = [
        Valid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def delete(cls, charts):
                    try:
                        with db.session.begin_nested():
                            for chart in charts:
                                db.session.delete(chart)
                    except SQLAlchemyError as ex:
                        raise DAODeleteFailedError(exception=ex) from ex
            """
        )
    ]
    invalid = [
        Invalid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def delete(cls, charts):
                    try:
                        for chart in charts:
                            db.session.delete(chart)
                    except SQLAlchemyError as ex:
                        db.session.rollback()
                        raise DAODeleteFailedError(exception=ex) from ex
            """,
            expect="DAO102 at 8:13",
            after="""
            class ChartDAO(BaseDAO):
                @classmethod
                def delete(cls, charts):
                    try:
                        with db.session.begin_nested():
                            for chart in charts:
                                db.session.delete(chart)
                    except SQLAlchemyError as ex:
                        raise DAODeleteFailedError(exception=ex) from ex
            """,
        ),
        Invalid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def delete(cls, chart):
                    try:
                        db.session.delete(chart)
                    except SQLAlchemyError:
                        db.session.rollback()
                        logger.warning("could not delete %s", chart.id)
            """,
            expect="DAO102 at 7:13",
            after=None,
            title="swallowed error keeps its rollback",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        _report_in_dao(self, node, Action.ROLLBACK)


class CommitFlagParameter(Rule):
    """Flags a DAO function that takes a `commit` flag.

    `commit: bool = True` lets every caller decide whether a DAO call ends the transaction,
    so no function can tell whether the work it started is still one unit. The flag goes:
    the unit of work (command, request, job) commits once, at its end.
    """

    requires = "dao"
    code = "DAO103"
    migration_modules = "dao"
    name = "commit-flag-parameter"
    seed = "R3"
    message = "DAO `{function}` takes a `commit` flag; drop the parameter and let the caller's unit of work commit"
    fix_title = "Remove the parameter, its `if commit:` branch and every `commit=` argument"
    fix_safety = "unsafe"
    needs = (DaoFacts,)
    valid = [
        Valid(
            """
            class DashboardDAO(BaseDAO):
                @classmethod
                def update(cls, item, attributes):
                    for key, value in attributes.items():
                        setattr(item, key, value)
                    return item
            """
        ),
        Valid(
            """
            class ReleaseDAO(BaseDAO):
                @classmethod
                def find_by_commit(cls, commit: str):
                    return db.session.query(Release).filter_by(sha=commit).one_or_none()
            """,
            title="a git commit, not a flag",
        ),
    ]
    invalid = [
        Invalid(
            """
            class DashboardDAO(BaseDAO):
                @classmethod
                def update(cls, item, attributes, commit: bool = True):
                    for key, value in attributes.items():
                        setattr(item, key, value)
                    if commit:
                        db.session.commit()
                    return item


            def rename_dashboard(dashboard, title):
                DashboardDAO.update(dashboard, {"dashboard_title": title}, commit=False)
                db.session.commit()
            """,
            path="app/dashboards.py",
            expect=("DAO103 at 3:39", "DAO101 at 7:13"),
            after="""
            class DashboardDAO(BaseDAO):
                @classmethod
                def update(cls, item, attributes):
                    with db.session.begin_nested():
                        for key, value in attributes.items():
                            setattr(item, key, value)
                    return item


            def rename_dashboard(dashboard, title):
                DashboardDAO.update(dashboard, {"dashboard_title": title})
                db.session.commit()
            """,
        )
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.fact(DaoFacts, node)
        if scope is None or not scope.in_dao:
            return
        for param in commit_flags(node):
            self.report(param, function=scope.qualname)


def _migrates(function) -> bool:  # noqa: ANN001 - a FunctionDef or None
    """The function drives alembic (`MigrationContext.configure(connection)`, `command.upgrade`)."""
    if function is None:
        return False
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            if name.value in ("MigrationContext", "alembic"):
                found.append(name)

    function.body.visit(Finder())
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
        use = self.fact(SessionFacts, node)
        if use is None or use.action not in self._WHAT:
            return
        if use.action in (Action.BEGIN, Action.CLOSE, Action.REMOVE) and use.origin in (
            Origin.CREATED,
            Origin.OBTAINED,
        ):
            return
        scope = self.fact(DaoFacts, node)
        if scope is None or scope.in_test or scope.in_boundary:
            return
        function = scope.qualname.rsplit(".", 1)[-1]
        if use.action is Action.CREATE and use.method.rsplit(".", 1)[-1] in ("scoped_session", "async_scoped_session") and (
            function in ("", "__init__", "__setstate__")
        ):
            return  # a registry set up with the module or the DAO: configuration, not a session opened
        if function.lower().startswith(("init", "setup", "set_up", "configure")) or _migrates(scope.function):
            return  # wiring at start-up, or schema tooling (alembic) that needs its own connection
        if not scope.in_dao:
            handed = scope.function is not None and self.fact(SessionFacts, scope.function)
            if not isinstance(handed, FunctionSessions):
                return
            if use.action is Action.BEGIN and use.origin is not Origin.PARAMETER:
                return
        what = self._WHAT[use.action].format(method=use.method, session=use.session)
        self.report(node, function=scope.qualname or "<module>", what=what)


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
    name = "explicit-transaction-control"
    seed = "R4"
    message = "`{session}.{method}()` outside a unit-of-work boundary; let the enclosing command, request or job end the transaction (or declare `{function}` a boundary)"
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
        ),
        Invalid(
            """
            from app.services import notify


            def publish(dashboard):
                dashboard.published = True
                db.session.commit()


            class PublishDashboardCommand(BaseCommand):
                def run(self):
                    publish(self._dashboard)
                    notify(self._dashboard.owners)
            """,
            path="app/commands/publish.py",
            expect="DAO105 at 6:5",
            # a decorator defined outside the project: `()` says it is a factory
            options={"transaction-decorator": "app.utils.transaction()"},
            title="covered by a decorated command",
            after="""
            from app.services import notify
            from app.utils import transaction


            def publish(dashboard):
                with db.session.begin_nested():
                    dashboard.published = True


            class PublishDashboardCommand(BaseCommand):
                @transaction()
                def run(self):
                    publish(self._dashboard)
                    notify(self._dashboard.owners)
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
        self.report(node, session=use.session, method=use.method, function=scope.qualname or "<module>")
