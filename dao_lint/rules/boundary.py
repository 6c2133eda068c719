"""DAO boundary rules (DAO2xx): database operations belong in DAOs."""
from __future__ import annotations

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from .base import Invalid, Rule, Valid
from .testsuite import database_cleanup

__all__ = ["WriteOutsideDao", "QueryOutsideDao"]


def _outside_dao(rule: Rule, node: cst.Call, action: Action):  # noqa: ANN202
    """The session use at `node` when it is `action` made outside DAO code, else None."""
    use = rule.fact(SessionFacts, node)
    if use is None or use.action is not action:
        return None
    scope = rule.fact(DaoFacts, node)
    # Migrations and similar modules are their own unit of work and own their data access.
    if scope is None or scope.in_dao or scope.migration_module:
        return None
    if action is Action.WRITE and scope.in_test and database_cleanup(rule, node) is not None:
        return None  # a test cleaning up after itself is DAO902's: roll back instead
    return use


class WriteOutsideDao(Rule):
    """Flags session writes outside DAOs.

    `add`, `merge`, `delete`, bulk writes and `execute(insert/update/delete(...))`
    scattered over views, commands and tests mean the data model's rules live everywhere
    and nowhere. Every write goes through a DAO, which names it (`create`, `update`,
    `delete`, `upsert`) and can be changed, tested and reasoned about in one place.
    """

    code = "DAO201"
    name = "write-outside-dao"
    seed = "R1"
    message = "`{session}.{method}()` writes outside a DAO; move the write into a DAO method (create/update/delete/upsert)"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            class CreateChartCommand(BaseCommand):
                def run(self):
                    return ChartDAO.create(self._properties)
            """,
            path="app/commands/chart/create.py",
        ),
        Valid(
            """
            def test_chart_gets_an_id(session):
                chart = ChartDAO.create({"name": "x"})
                session.flush()
                assert chart.id is not None
            """,
            path="tests/test_charts.py",
            title="flush sends writes made elsewhere",
        ),
    ]
    invalid = [
        Invalid(
            """
            @bp.route("/charts", methods=["POST"])
            def create_chart():
                chart = Chart(**request.json)
                db.session.add(chart)
                db.session.execute(update(Dashboard).values(changed_on=func.now()))
                return chart.to_json()
            """,
            path="app/api/charts.py",
            expect=("DAO201 at 4:5", "DAO201 at 5:5"),
            remedy="""
            @bp.route("/charts", methods=["POST"])
            def create_chart():
                chart = ChartDAO.create(request.json)
                DashboardDAO.touch_all()
                return chart.to_json()
            """,
        ),
        Invalid(
            """
            def clear_tags(chart_id):
                db.session.query(Tag).filter(Tag.chart_id == chart_id).delete()
            """,
            path="app/services/tags.py",
            expect="DAO201 at 2:5",
            title="bulk delete through a query",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        use = _outside_dao(self, node, Action.WRITE)
        # `flush()` only sends the writes made before (which are flagged where they are
        # made); it is what DAO901 recommends in tests
        if use is not None and use.method != "flush":
            self.report(node, session=use.session, method=use.method)


class QueryOutsideDao(Rule):
    """Flags session reads outside DAOs.

    Queries built in views, commands and templates duplicate filters (soft deletes,
    permissions, tenancy) and hide N+1 loops. Reads go through DAO methods (`find_by_id`,
    `find_all`...), so each query exists once and is tested once.
    """

    code = "DAO202"
    name = "query-outside-dao"
    seed = "R1"
    message = "`{what}` reads outside a DAO; query through a DAO method instead"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            def chart_detail(chart_id):
                chart = ChartDAO.find_by_id(chart_id)
                return render_template("chart.html", chart=chart)
            """,
            path="app/views/charts.py",
        ),
        Valid(
            """
            from flask import session

            def current_user_id():
                return session.get("user_id", None)
            """,
            path="app/views/auth.py",
            title="Flask's cookie session",
        ),
    ]
    invalid = [
        Invalid(
            """
            def chart_detail(chart_id):
                chart = db.session.query(Chart).filter_by(id=chart_id).one()
                owners = User.query.filter(User.id.in_(chart.owner_ids)).all()
                return render_template("chart.html", chart=chart, owners=owners)
            """,
            path="app/views/charts.py",
            expect=("DAO202 at 2:13", "DAO202 at 3:14"),
            remedy="""
            def chart_detail(chart_id):
                chart = ChartDAO.find_by_id(chart_id)
                owners = UserDAO.find_by_ids(chart.owner_ids)
                return render_template("chart.html", chart=chart, owners=owners)
            """,
        ),
        Invalid(
            """
            async def list_users(session: AsyncSession):
                result = await session.execute(select(User).order_by(User.name))
                return result.scalars().all()
            """,
            path="app/api/users.py",
            expect="DAO202 at 2:20",
            title="async",
        ),
        Invalid(
            """
            def member_list(context, group_id):
                model = context["model"]
                return model.Session.query(model.Member).filter_by(group_id=group_id).all()
            """,
            path="app/logic/members.py",
            options={"session-names": ["model.Session"]},
            expect="DAO202 at 3:12",
            title="a session whose name starts with a capital: its `query` is a call, reported once",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        use = _outside_dao(self, node, Action.READ)
        if use is not None:
            self.report(node, what=f"{use.session}.{use.method}()")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        # `Chart.query` kept in a name, passed on or returned: the query starts here
        use = _outside_dao(self, node, Action.READ)
        if use is not None:
            self.report(node, what=f"{use.session}.{use.method}")
