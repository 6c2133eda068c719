"""DAO101/DAO102: the nested-session rewrite, (before, after) pairs and no-ops."""
import ast

import pytest

from .helpers import dedent, fix_one

# Every DAO method below is called from a command that commits after it, so the commits
# may go; `ChartDAO.m(...)` stands for that call.
CALLER = """
from app.daos.x import ChartDAO


def run():
    ChartDAO.m(1)
    ChartDAO.m2(1)
    db.session.commit()
"""

REWRITES = [
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, item):
                db.session.add(item)
                db.session.commit()
        """,
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, item):
                with db.session.begin_nested():
                    db.session.add(item)
        """,
        id="add-then-commit",
    ),
    pytest.param(
        """
        class ChartDAO:
            async def m(self, session: AsyncSession, item):
                session.add(item)
                await session.flush()
                await session.commit()
        """,
        """
        class ChartDAO:
            async def m(self, session: AsyncSession, item):
                async with session.begin_nested():
                    session.add(item)
                    await session.flush()
        """,
        id="async",
    ),
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, item, attributes, commit=True):
                for key, value in attributes.items():
                    setattr(item, key, value)
                try:
                    db.session.merge(item)
                    if commit:
                        db.session.commit()
                except SQLAlchemyError as ex:
                    db.session.rollback()
                    raise DAOUpdateFailedError(exception=ex) from ex
                return item
        """,
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, item, attributes):
                for key, value in attributes.items():
                    setattr(item, key, value)
                try:
                    with db.session.begin_nested():
                        db.session.merge(item)
                except SQLAlchemyError as ex:
                    raise DAOUpdateFailedError(exception=ex) from ex
                return item
        """,
        id="rules-md-example",
    ),
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, chart):
                # mark the chart as certified
                chart.certified = True   # by the owner
                db.session.add(   # odd formatting survives
                    chart,
                )

                # make it durable
                db.session.commit()
                return chart  # the same object
        """,
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, chart):
                # mark the chart as certified
                with db.session.begin_nested():
                    chart.certified = True   # by the owner
                    db.session.add(   # odd formatting survives
                        chart,
                    )

                # make it durable
                return chart  # the same object
        """,
        id="comments-and-formatting",
    ),
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, chart):
                with db.session.begin_nested():
                    db.session.add(chart)
                db.session.commit()
        """,
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, chart):
                with db.session.begin_nested():
                    db.session.add(chart)
        """,
        id="trailing-commit-after-nested-block",
    ),
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, charts):
                query = db.session.query(Chart)
                for chart in charts:
                    chart.owner = None
                    db.session.commit()
                return query
        """,
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, charts):
                query = db.session.query(Chart)
                for chart in charts:
                    with db.session.begin_nested():
                        chart.owner = None
                return query
        """,
        id="commit-per-iteration",
    ),
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, chart, *, soft):
                if soft:
                    chart.deleted = True
                else:
                    db.session.delete(chart)
                db.session.commit()
        """,
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, chart, *, soft):
                with db.session.begin_nested():
                    if soft:
                        chart.deleted = True
                    else:
                        db.session.delete(chart)
        """,
        id="branches-before-commit",
    ),
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            def m(self, chart):
                self.session.add(chart)
                self.session.commit()

            def m2(self, chart):
                try:
                    self.session.delete(chart)
                except IntegrityError:
                    self.session.rollback()
                    raise
        """,
        """
        class ChartDAO(BaseDAO):
            def m(self, chart):
                with self.session.begin_nested():
                    self.session.add(chart)

            def m2(self, chart):
                try:
                    with self.session.begin_nested():
                        self.session.delete(chart)
                except IntegrityError:
                    raise
        """,
        id="self-session-and-rollback-only",
    ),
]


@pytest.mark.parametrize(("before", "after"), REWRITES)
def test_rewrite(tmp_path, before, after):
    result, report = fix_one(tmp_path, before, caller=CALLER)
    assert result == dedent(after)
    ast.parse(result)
    # a second run changes nothing
    again, _ = fix_one(tmp_path / "again", result, caller=CALLER)
    assert again == result


NOOPS = [
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, chart):
                session = SessionLocal()
                session.add(chart)
                session.commit()
        """,
        id="own-session-is-not-the-callers",
    ),
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, chart):
                db.session.add(chart)
                db.session.commit()  # noqa: DAO101
        """,
        id="noqa",
    ),
    pytest.param(
        """
        class ChartDAO(BaseDAO):
            @classmethod
            def m(cls, chart):
                try:
                    db.session.delete(chart)
                except SQLAlchemyError:
                    db.session.rollback()
                    logger.warning("kept the chart")
        """,
        id="swallowed-error-keeps-rollback",
    ),
    pytest.param(
        """
        class ChartForm:
            def m(self, chart):
                db.session.add(chart)
                db.session.commit()
        """,
        id="not-a-dao",
        marks=pytest.mark.path("app/forms.py"),
    ),
]


@pytest.mark.parametrize("code", NOOPS)
def test_noop(tmp_path, code, request):
    marker = request.node.get_closest_marker("path")
    path = marker.args[0] if marker else "app/daos/x.py"
    result, _ = fix_one(tmp_path, code, path=path, caller=CALLER, options={"ignore": ["DAO109"]})
    assert result == dedent(code)


def test_a_dao_method_nobody_calls_keeps_its_commit(tmp_path):
    code = """
    class ChartDAO(BaseDAO):
        @classmethod
        def unused(cls, chart):
            db.session.add(chart)
            db.session.commit()
    """
    result, report = fix_one(tmp_path, code)
    assert result == dedent(code)  # public and uncalled: an entry point, or called from elsewhere
    (kept,) = report.kept
    assert "no call site" in kept.reason


def test_commit_without_a_covered_caller_stays_and_is_reported(tmp_path):
    code = """
    class ChartDAO(BaseDAO):
        @classmethod
        def m(cls, chart):
            db.session.add(chart)
            db.session.commit()
    """
    caller = """
    from app.daos.x import ChartDAO


    def view():
        ChartDAO.m(1)
        return "ok"
    """
    result, report = fix_one(tmp_path, code, caller=caller)
    assert result == dedent(code)
    (kept,) = [k for k in report.kept if k.code == "DAO101"]
    assert kept.function == "ChartDAO.m"
    assert "app/commands/caller.py:5" in kept.reason and "view" in kept.reason


def test_covered_through_a_decorated_boundary_two_calls_up(tmp_path):
    code = """
    class ChartDAO(BaseDAO):
        @classmethod
        def m(cls, chart):
            db.session.add(chart)
            db.session.commit()
    """
    caller = """
    from app.daos.x import ChartDAO
    from app.utils import transaction


    class SaveCommand:
        @transaction
        def run(self):
            self._save()

        def _save(self):
            ChartDAO.m(1)
    """
    result, report = fix_one(tmp_path, code, caller=caller, options={"transaction-decorator": "app.utils.transaction"}, unsafe=False)
    assert "begin_nested" in result and "commit()" not in result
    assert report.kept == []
