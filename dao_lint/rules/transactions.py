"""DAOs never commit or roll back (DAO101-DAO103): the caller's unit of work does."""
from __future__ import annotations

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.dao import commit_flags
from ..analysis.session import is_commit_helper
from .base import Invalid, Rule, Valid

__all__ = ["DaoCommits", "DaoRollsBack", "CommitFlagParameter"]


def _nested(use) -> str:  # noqa: ANN001 - SessionUse
    prefix = "async with" if use.awaited else "with"
    return f"{prefix} {use.session}.begin_nested():"


def _report_in_dao(rule: Rule, node: cst.Call, action: Action):  # noqa: ANN202 - the scope reported, or None
    """Report `node` when it is a session `action` (commit, rollback) made inside a DAO."""
    use = rule.fact(SessionFacts, node)
    if use is None or use.action is not action:
        return None
    scope = rule.fact(DaoFacts, node)
    # a unit-of-work context manager commits and rolls back by design (R3's own shape); a
    # commit helper is `commit()` under another name: its calls are reported, not its body
    if scope is not None and scope.in_dao and not scope.unit_of_work and not is_commit_helper(scope.function, lambda n: rule.fact(SessionFacts, n)):
        if action is Action.ROLLBACK and scope.function in rule.reported:
            return None  # one root cause: the DAO undoes its own work by hand; once per function
        rule.report(node, function=scope.qualname or "<module>", nested=_nested(use))
        return scope
    return None


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

    fix_scope = "project"
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

    fix_scope = "project"
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
            remedy="""
            class ChartDAO(BaseDAO):
                @classmethod
                def delete(cls, charts):
                    ids = [chart.id for chart in charts]
                    try:
                        with db.session.begin_nested():
                            db.session.query(Chart).filter(Chart.id.in_(ids)).delete(synchronize_session="fetch")
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
        Invalid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def create(cls, chart):
                    try:
                        db.session.add(chart)
                        db.session.flush()
                    except IntegrityError as ex:
                        db.session.rollback()
                        raise ChartExistsError() from ex
                    except SQLAlchemyError as ex:
                        db.session.rollback()
                        raise DAOCreateFailedError() from ex
            """,
            expect="DAO102 at 8:13",
            title="one finding for every rollback of the function",
        ),
    ]

    def __init__(self, context) -> None:  # noqa: ANN001
        super().__init__(context)
        self.reported: set = set()  # functions whose rollback was reported

    def visit_Call(self, node: cst.Call) -> None:
        scope = _report_in_dao(self, node, Action.ROLLBACK)
        if scope is not None:
            self.reported.add(scope.function)


class CommitFlagParameter(Rule):
    """Flags a DAO function that takes a `commit` flag.

    `commit: bool = True` lets every caller decide whether a DAO call ends the transaction,
    so no function can tell whether the work it started is still one unit. The flag goes:
    the unit of work (command, request, job) commits once, at its end.
    """

    requires = "dao"
    code = "DAO103"
    fix_scope = "project"
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
        Valid(
            """
            class MigrationDAO(BaseDAO):
                @classmethod
                def apply(cls, changes, commit=False):
                    if commit:
                        return cls.write(changes)
                    return cls.preview(changes)
            """,
            title="a dry-run switch that reaches no commit",
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
            remedy="""
            class DashboardDAO(BaseDAO):
                @classmethod
                def update(cls, item, attributes):
                    for key, value in attributes.items():
                        setattr(item, key, value)
                    return item


            @transaction()
            def rename_dashboard(dashboard, title):
                DashboardDAO.update(dashboard, {"dashboard_title": title})
            """,
        ),
        Invalid(
            """
            class TagDAO(BaseDAO):
                @classmethod
                def tag(cls, chart, name, commit):
                    return TagStore.attach(chart, name, commit=commit)
            """,
            expect="DAO103 at 3:31",
            title="a bare flag handed on",
        ),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.fact(DaoFacts, node)
        if scope is None or not scope.in_dao:
            return
        for param in commit_flags(node):
            self.report(param, function=scope.qualname)


