"""`dao-lint fix` never loses a write (issue 11): one case per way a write was lost or an
error changed meaning on real code. Each case either keeps the code and says why, or
rewrites it so that the same writes are committed and the same handler sees the error."""
import ast

import pytest

from dao_lint.fix.planning import NO_CALLER

from .codemods.helpers import dedent, fix_project

PLAIN = """
import functools


def transaction(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            raise

    return wrapper
"""

FACTORY = """
import functools


def transaction(on_error=None):
    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                result = func(*args, **kwargs)
                db.session.commit()
                return result
            except Exception as ex:
                db.session.rollback()
                if on_error:
                    return on_error(ex)
                raise

        return wrapper

    return decorate
"""

DAO = """
class ChartDAO:
    @classmethod
    def create(cls, chart):
        db.session.add(chart)
        db.session.commit()
"""

COMMAND = """
from app.daos.chart import ChartDAO


class CreateChartCommand:
    def run(self, chart):
        ChartDAO.create(chart)
        db.session.commit()
"""


def kept(report, code, function):
    return [k for k in report.kept if k.code == code and k.function == function]


def fixed(out, path):
    ast.parse(out[path])
    return out[path]


# -- callers that may exist --------------------------------------------------------------


def test_a_public_dao_method_nobody_calls_is_an_entry_point(tmp_path):
    out, report = fix_project(tmp_path, {"app/daos/chart.py": DAO})
    assert out["app/daos/chart.py"] == dedent(DAO)
    (item,) = kept(report, "DAO101", "ChartDAO.create")
    assert NO_CALLER in item.reason
    # a public DAO method nothing calls: dead code, or called from outside; never suggested
    # as a boundary (R4: a DAO never owns the unit of work)
    assert item.entries == ()
    declared, report = fix_project(
        tmp_path / "declared",
        {"app/daos/chart.py": DAO, "app/utils.py": PLAIN},
        options={"transaction-decorator": "app.utils.transaction", "boundaries": ["app/daos/chart.py::ChartDAO.create"]},
    )
    assert "    @transaction\n    def create(cls, chart):" in fixed(declared, "app/daos/chart.py")
    assert "db.session.commit()" not in declared["app/daos/chart.py"]


@pytest.mark.parametrize("use", [
    "ChartDAO.create(object())",
    "self.assertRaises(ValueError, ChartDAO.create, None)",  # handed over from test code
])
def test_a_dao_method_called_from_tests_only_is_covered_by_the_tests_transaction(tmp_path, use):
    test = f"""
    from app.daos.chart import ChartDAO


    class TestChart:
        def test_create(self):
            {use}
    """
    out, report = fix_project(tmp_path, {"app/daos/chart.py": DAO, "tests/test_chart.py": test})
    assert "db.session.commit()" not in fixed(out, "app/daos/chart.py")
    assert kept(report, "DAO101", "ChartDAO.create") == []


def test_a_dao_method_used_as_a_value_outside_tests_keeps_its_commit(tmp_path):
    app = """
    from app.daos.chart import ChartDAO

    HANDLERS = {"create": ChartDAO.create}
    """
    out, report = fix_project(tmp_path, {"app/daos/chart.py": DAO, "app/handlers.py": app})
    assert out["app/daos/chart.py"] == dedent(DAO)
    assert "used as a value" in kept(report, "DAO101", "ChartDAO.create")[0].reason


def test_an_active_record_save_called_on_a_loaded_instance_keeps_its_commit(tmp_path):
    model = """
    class CRUDMixin:
        def save(self):
            db.session.add(self)
            db.session.commit()
            return self


    class Topic(CRUDMixin, db.Model):
        pass
    """
    view = """
    from app.models import Topic


    def rename(topic_id, title):
        topic = Topic.query.get(topic_id)
        topic.title = title
        topic.save()


    class RenameCommand:
        def run(self, title):
            topic = Topic(title=title)
            topic.save()
            db.session.commit()
    """
    out, report = fix_project(
        tmp_path, {"app/daos/models.py": model, "app/views.py": view.replace("app.models", "app.daos.models")}
    )
    assert out["app/daos/models.py"] == dedent(model)
    (item,) = kept(report, "DAO101", "CRUDMixin.save")
    # the loaded instance's class is known (Topic.query.get(...) returns a Topic): the call
    # is resolved, and its caller has no unit of work to take the commit over
    assert item.reason.startswith("not every caller has a unit of work")
    assert "app/views.py::rename" in item.reason and "app/views.py:7" in item.reason


def test_a_call_whose_arguments_cannot_fit_is_not_a_caller(tmp_path):
    repository = """
    class ChartRepository:
        def update(self, chart, attributes):
            for key, value in attributes.items():
                setattr(chart, key, value)
            db.session.commit()
    """
    command = """
    from app.repositories.chart import ChartRepository


    class UpdateCommand:
        def run(self, chart, attributes):
            options = {}
            options.update(attributes)  # a dict: one argument, not (chart, attributes)
            ChartRepository().update(chart, options)
            db.session.commit()
    """
    out, report = fix_project(tmp_path, {"app/repositories/chart.py": repository, "app/commands/update.py": command})
    assert "with db.session.begin_nested():" in fixed(out, "app/repositories/chart.py")
    assert kept(report, "DAO101", "ChartRepository.update") == []


def test_module_alias_calls_are_followed(tmp_path):
    database = """
    def create(obj):
        db.session.add(obj)
        db.session.commit()
        return obj
    """
    service = """
    from app.daos import database


    class CreateTopicCommand:
        def run(self, topic):
            database.create(topic)
            db.session.commit()


    def quick_create(topic):
        return database.create(topic)
    """
    out, report = fix_project(tmp_path, {"app/daos/database.py": database, "app/commands/topic.py": service})
    assert out["app/daos/database.py"] == dedent(database)  # quick_create has no unit of work
    (item,) = kept(report, "DAO101", "create")
    assert "quick_create" in item.reason and "app/commands/topic.py:11" in item.reason
    covered, report = fix_project(
        tmp_path / "covered", {"app/daos/database.py": database, "app/commands/topic.py": service.split("def quick_create")[0]}
    )
    assert "with db.session.begin_nested():" in fixed(covered, "app/daos/database.py")


def test_a_function_used_as_a_callback_keeps_its_commit(tmp_path):
    registry = """
    from app.daos.chart import ChartDAO

    HANDLERS = {"create": ChartDAO.create}


    class CreateChartCommand:
        def run(self, chart):
            ChartDAO.create(chart)
            db.session.commit()
    """
    out, report = fix_project(tmp_path, {"app/daos/chart.py": DAO, "app/commands/create.py": registry})
    assert out["app/daos/chart.py"] == dedent(DAO)
    assert "used as a value at" in kept(report, "DAO101", "ChartDAO.create")[0].reason


def test_an_override_reached_through_self_in_the_base_class_counts_its_callers(tmp_path):
    daos = """
    class BaseDAO:
        @classmethod
        def save_all(cls, items):
            for item in items:
                cls.save(item)

        @classmethod
        def save(cls, item):
            db.session.add(item)


    class ChartDAO(BaseDAO):
        @classmethod
        def save(cls, item):
            db.session.add(item)
            db.session.commit()
    """
    job = """
    from app.daos.chart import ChartDAO


    def nightly(items):
        ChartDAO.save_all(items)
    """
    out, report = fix_project(tmp_path, {"app/daos/chart.py": daos, "app/jobs.py": job})
    assert "db.session.commit()" in out["app/daos/chart.py"]
    assert "nightly" in kept(report, "DAO101", "ChartDAO.save")[0].reason


# -- covers that must hold -----------------------------------------------------------------


def test_cover_removed_in_the_same_run_is_no_cover(tmp_path):
    daos = """
    class TagDAO:
        @classmethod
        def create(cls, tag):
            db.session.add(tag)
            db.session.commit()


    class ChartDAO:
        @classmethod
        def create_with_tag(cls, chart, tag):
            TagDAO.create(tag)
            db.session.add(chart)
            db.session.commit()
    """
    out, report = fix_project(tmp_path, {"app/daos/chart.py": daos})
    code = out["app/daos/chart.py"]
    # the outer commit stays (nobody is known to commit after it), so the inner one may go
    assert code.count("db.session.commit()") == 1
    assert "def create_with_tag" in code.split("db.session.commit()")[0]
    assert kept(report, "DAO101", "ChartDAO.create_with_tag")
    with_command, _ = fix_project(
        tmp_path / "chain",
        {"app/daos/chart.py": daos, "app/commands/create.py": "from app.daos.chart import ChartDAO\n\n\nclass C:\n    def run(self, c, t):\n        ChartDAO.create_with_tag(c, t)\n        db.session.commit()\n"},
    )
    assert "db.session.commit()" not in with_command["app/daos/chart.py"]


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            "class C:\n    def run(self, chart):\n        ChartDAO.create(chart)\n        if chart.draft:\n            return chart\n        db.session.commit()\n",
            id="return-before-the-commit",
        ),
        pytest.param(
            "class C:\n    def run(self, chart):\n        ChartDAO.create(chart)\n        if chart.ready:\n            db.session.commit()\n",
            id="commit-in-a-branch",
        ),
        pytest.param(
            "class C:\n    def run(self, chart):\n        try:\n            ChartDAO.create(chart)\n        except ValueError:\n            db.session.commit()\n",
            id="commit-only-in-a-handler",
        ),
        pytest.param(
            "class C:\n    def run(self, chart):\n        ChartDAO.create(chart)\n        audit_session.commit()\n",
            id="another-session-commits",
        ),
    ],
)
def test_a_commit_that_does_not_follow_on_every_path_is_no_cover(tmp_path, command):
    out, report = fix_project(
        tmp_path,
        {"app/daos/chart.py": DAO, "app/commands/create.py": "from app.daos.chart import ChartDAO\n\n\n" + command},
        options={"session-names": ["db.session", "audit_session"]},
    )
    assert out["app/daos/chart.py"] == dedent(DAO)
    assert kept(report, "DAO101", "ChartDAO.create")


def test_a_session_the_function_opens_itself_is_its_own_unit_of_work(tmp_path):
    store = """
    from sqlalchemy.orm import Session


    class RunStore:
        def create(self, run):
            with Session(self.engine) as session:
                session.add(run)
                session.commit()

        def update(self, run):
            with self._get_session() as session:
                session.merge(run)
                session.commit()
    """
    command = """
    from app.daos.store import RunStore


    class CreateRunCommand:
        def run(self, run):
            RunStore(None).create(run)
            RunStore(None).update(run)
            db.session.commit()
    """
    out, report = fix_project(tmp_path, {"app/daos/store.py": store, "app/commands/run.py": command})
    assert out["app/daos/store.py"] == dedent(store)
    assert "opens itself" in kept(report, "DAO101", "RunStore.update")[0].reason


def test_a_commit_helper_keeps_its_body(tmp_path):
    database = """
    def commit():
        db.session.commit()


    def create(obj):
        db.session.add(obj)
        commit()
        db.session.refresh(obj)
        return obj
    """
    command = """
    from app.daos import database


    class CreateCommand:
        def run(self, obj):
            database.create(obj)
            database.commit()
    """
    out, report = fix_project(tmp_path, {"app/daos/database.py": database, "app/commands/create.py": command})
    assert "def commit():\n    db.session.commit()" in out["app/daos/database.py"]
    assert "commit helper" in kept(report, "DAO101", "commit")[0].reason


# -- errors keep their meaning ---------------------------------------------------------------


def test_a_handler_waiting_for_the_commit_still_sees_its_error(tmp_path):
    dao = """
    class TagDAO:
        @classmethod
        def get_or_create(cls, name):
            try:
                tag = Tag(name=name)
                db.session.add(tag)
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                tag = db.session.query(Tag).filter_by(name=name).one()
            return tag
    """
    command = "from app.daos.tag import TagDAO\n\n\nclass C:\n    def run(self, name):\n        TagDAO.get_or_create(name)\n        db.session.commit()\n"
    out, report = fix_project(tmp_path, {"app/daos/tag.py": dao, "app/commands/tag.py": command})
    assert fixed(out, "app/daos/tag.py") == dedent(
        """
        class TagDAO:
            @classmethod
            def get_or_create(cls, name):
                try:
                    tag = Tag(name=name)
                    with db.session.begin_nested():
                        db.session.add(tag)
                except IntegrityError:
                    tag = db.session.query(Tag).filter_by(name=name).one()
                return tag
        """
    )


def test_writes_before_the_try_get_a_flush_in_it_and_a_savepoint_around_it(tmp_path):
    dao = """
    class TagDAO:
        @classmethod
        def create(cls, tag):
            db.session.add(tag)
            try:
                db.session.commit()
            except IntegrityError as ex:
                db.session.rollback()
                raise TagExistsError(tag.name) from ex
    """
    command = "from app.daos.tag import TagDAO\n\n\nclass C:\n    def run(self, tag):\n        TagDAO.create(tag)\n        db.session.commit()\n"
    out, report = fix_project(tmp_path, {"app/daos/tag.py": dao, "app/commands/tag.py": command})
    assert fixed(out, "app/daos/tag.py") == dedent(
        """
        class TagDAO:
            @classmethod
            def create(cls, tag):
                with db.session.begin_nested():
                    db.session.add(tag)
                    try:
                        db.session.flush()
                    except IntegrityError as ex:
                        raise TagExistsError(tag.name) from ex
        """
    )


def test_writes_before_a_try_whose_handler_swallows_the_error_are_kept(tmp_path):
    dao = """
    class TagDAO:
        @classmethod
        def create(cls, tag):
            db.session.add(tag)
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
                return None
            return tag
    """
    command = "from app.daos.tag import TagDAO\n\n\nclass C:\n    def run(self, tag):\n        TagDAO.create(tag)\n        db.session.commit()\n"
    out, report = fix_project(tmp_path, {"app/daos/tag.py": dao, "app/commands/tag.py": command})
    assert out["app/daos/tag.py"] == dedent(dao)
    assert "swallows" in kept(report, "DAO101", "TagDAO.create")[0].reason


def test_a_rollback_no_savepoint_can_take_over_is_kept(tmp_path):
    dao = """
    class TagDAO:
        @classmethod
        def rename(cls, tag, name):
            tag.name = name
            try:
                db.session.flush()
            except IntegrityError as ex:
                db.session.rollback()
                raise TagExistsError(name) from ex
    """
    out, report = fix_project(tmp_path, {"app/daos/tag.py": dao})
    assert out["app/daos/tag.py"] == dedent(dao)
    assert "before the `try`" in kept(report, "DAO102", "TagDAO.rename")[0].reason


# -- minimal edits -------------------------------------------------------------------------


def test_comments_inside_rewritten_statements_and_docstrings(tmp_path):
    dao = '''
    class ChartDAO:
        @classmethod
        def create(cls, chart, commit=True):
            """Create a chart.

            :param chart: the chart
            :param commit: whether to commit
                the session
            :returns: the chart
            """
            db.session.add(chart)
            if commit:
                # the caller may batch several creates:
                # it then passes commit=False
                db.session.commit()
            return chart
    '''
    out, report = fix_project(tmp_path, {"app/daos/chart.py": dao, "app/commands/create.py": COMMAND})
    assert fixed(out, "app/daos/chart.py") == dedent(
        '''
        class ChartDAO:
            @classmethod
            def create(cls, chart):
                """Create a chart.

                :param chart: the chart
                :returns: the chart
                """
                with db.session.begin_nested():
                    db.session.add(chart)
                # the caller may batch several creates:
                # it then passes commit=False
                return chart
        '''
    )


# -- what it writes must import and run ------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "written"),
    [pytest.param(PLAIN, "@transaction\n", id="plain"), pytest.param(FACTORY, "@transaction()\n", id="factory")],
)
def test_the_decorator_is_written_the_way_its_definition_needs(tmp_path, definition, written):
    command = """
    from app.daos.chart import ChartDAO


    class CreateChartCommand:
        def run(self, chart):
            ChartDAO.create(chart)
    """
    out, report = fix_project(
        tmp_path,
        {"app/daos/chart.py": DAO, "app/commands/create.py": command, "app/utils.py": definition},
        options={"transaction-decorator": "app.utils.transaction"},
    )
    assert written + "    def run(self, chart):" in fixed(out, "app/commands/create.py")
    assert "from app.utils import transaction\n" in out["app/commands/create.py"]
    assert "begin_nested" in fixed(out, "app/daos/chart.py")


def test_an_unknown_decorator_form_keeps_the_commit_and_says_why(tmp_path):
    command = """
    from app.daos.chart import ChartDAO


    class CreateChartCommand:
        def run(self, chart):
            ChartDAO.create(chart)
    """
    out, report = fix_project(
        tmp_path, {"app/daos/chart.py": DAO, "app/commands/create.py": command}, options={"transaction-decorator": "lib.tx.transaction"}
    )
    assert out["app/daos/chart.py"] == dedent(DAO)
    assert out["app/commands/create.py"] == dedent(command)
    assert "`@transaction` or `@transaction()` is unknown" in kept(report, "DAO101", "ChartDAO.create")[0].reason


@pytest.mark.parametrize(
    ("command", "why"),
    [
        pytest.param(
            "from app.daos.chart import ChartDAO\nfrom contextlib import nullcontext as transaction\n\n\nclass C:\n    def run(self, chart):\n        ChartDAO.create(chart)\n",
            "already names",
            id="name-taken-by-an-import",
        ),
        pytest.param(
            "from app.daos.chart import ChartDAO\n\ntransaction = None\n\n\nclass C:\n    def run(self, chart):\n        ChartDAO.create(chart)\n",
            "already defined",
            id="name-taken-by-an-assignment",
        ),
    ],
)
def test_a_boundary_whose_decorator_import_would_shadow_a_name_is_not_decorated(tmp_path, command, why):
    out, report = fix_project(
        tmp_path,
        {"app/daos/chart.py": DAO, "app/commands/create.py": command, "app/utils.py": PLAIN},
        options={"transaction-decorator": "app.utils.transaction"},
    )
    assert out["app/commands/create.py"] == command
    assert why in kept(report, "DAO101", "ChartDAO.create")[0].reason


def test_a_boundary_whose_decorator_import_would_make_a_cycle_is_not_decorated(tmp_path):
    utils = "from app.commands.create import REGISTRY\n" + dedent(PLAIN)
    command = "from app.daos.chart import ChartDAO\n\nREGISTRY = {}\n\n\nclass C:\n    def run(self, chart):\n        ChartDAO.create(chart)\n"
    out, report = fix_project(
        tmp_path,
        {"app/daos/chart.py": DAO, "app/commands/create.py": command, "app/utils.py": utils},
        options={"transaction-decorator": "app.utils.transaction"},
    )
    assert out["app/commands/create.py"] == command
    assert "import cycle" in kept(report, "DAO101", "ChartDAO.create")[0].reason


def test_kept_findings_suggest_the_boundaries_to_declare(tmp_path):
    from dao_lint.fix.planning import suggest_boundaries

    views = "from app.daos.chart import ChartDAO\n\n\nclass ChartRestApi:\n    def post(self, chart):\n        ChartDAO.create(chart)\n"
    out, report = fix_project(
        tmp_path,
        {"app/daos/chart.py": DAO, "app/charts/api.py": views, "app/dashboards/api.py": views.replace("ChartRestApi", "DashboardRestApi")},
    )
    assert out["app/daos/chart.py"] == dedent(DAO)
    assert suggest_boundaries(report.kept) == [("**/api.py::*Api.*", 2)]


# -- receivers whose class the code states ------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(
            "from app.daos.chart import ChartDAO\n\n\nclass C:\n    dao = ChartDAO\n\n    def run(self, chart):\n        self.dao.create(chart)\n        db.session.commit()\n",
            id="class-attribute-holding-the-class",
        ),
        pytest.param(
            "from app.daos.chart import ChartDAO\n\n\nclass C:\n    _dao: ChartDAO\n\n    def __init__(self, dao: ChartDAO):\n        self._dao = dao\n\n    def run(self, chart):\n        self._dao.create(chart)\n        db.session.commit()\n",
            id="annotated-attribute",
        ),
        pytest.param(
            "from app.daos.chart import ChartDAO\n\n\nclass C:\n    def dao(self) -> ChartDAO:\n        return ChartDAO()\n\n    def run(self, chart):\n        self.dao().create(chart)\n        db.session.commit()\n",
            id="return-annotation",
        ),
        pytest.param(
            "from app.daos.chart import ChartDAO\n\ncharts = ChartDAO()\n\n\nclass C:\n    def run(self, chart):\n        charts.create(chart)\n        db.session.commit()\n",
            id="module-variable",
        ),
    ],
)
def test_a_receiver_of_a_stated_class_is_resolved(tmp_path, command):
    dao = DAO.replace("@classmethod\n    def create(cls, chart)", "def create(self, chart)")
    out, report = fix_project(tmp_path, {"app/daos/chart.py": dao, "app/commands/create.py": command})
    assert "with db.session.begin_nested():" in fixed(out, "app/daos/chart.py"), report.kept


def test_a_receiver_of_an_outside_class_is_not_a_caller(tmp_path):
    command = (
        "from cachelib import SimpleCache\nfrom app.daos.chart import ChartDAO\n\n\nclass C:\n    cache: SimpleCache\n\n"
        "    def run(self, chart):\n        self.cache.delete(chart)\n        ChartDAO.delete(chart)\n        db.session.commit()\n"
    )
    dao = "class ChartDAO:\n    def delete(self, chart):\n        db.session.delete(chart)\n        db.session.commit()\n"
    users = "from app.daos.chart import ChartDAO\n\nDAOS = [ChartDAO()]\n"
    out, report = fix_project(tmp_path, {"app/daos/chart.py": dao, "app/commands/delete.py": command, "app/registry.py": users})
    assert "with db.session.begin_nested():" in fixed(out, "app/daos/chart.py"), report.kept


def test_a_removed_last_parameter_keeps_the_line_break_before_the_parenthesis(tmp_path):
    dao = """
    class ChartDAO:
        @classmethod
        def create(
            cls, chart, commit: bool = True
        ) -> Chart:
            db.session.add(chart)
            if commit:
                db.session.commit()
            return chart
    """
    out, _ = fix_project(tmp_path, {"app/daos/chart.py": dao, "app/commands/create.py": COMMAND})
    assert "    def create(\n        cls, chart\n    ) -> Chart:\n" in fixed(out, "app/daos/chart.py")


def test_an_active_record_method_calling_its_own_methods_gets_a_savepoint(tmp_path):
    model = """
    class Topic(db.Model):
        def unhide(self):
            super().unhide()
            self._restore_to_forum()
            db.session.commit()
            return self
    """
    command = (
        "from app.daos.models import Topic\n\n\nclass UnhideCommand:\n    def run(self, topic: Topic):\n"
        "        topic.unhide()\n        db.session.commit()\n"
    )
    out, report = fix_project(tmp_path, {"app/daos/models.py": model, "app/commands/unhide.py": command})
    assert "with db.session.begin_nested():\n            super().unhide()" in fixed(out, "app/daos/models.py"), report.kept


def test_keyword_arguments_spread_from_a_dict_literal_are_known(tmp_path):
    executor = """
    from app.daos.query import QueryDAO


    class SqlExecutor:
        def execute(self, context, sql, log_params):
            QueryDAO.mark_run(context)
            return sql
    """
    dao = "class QueryDAO:\n    @classmethod\n    def mark_run(cls, context):\n        context.ran = True\n        db.session.commit()\n"
    engine = """
    def run_on(cursor, query, async_=False):
        kwargs = {"async": async_}
        cursor.execute(query, **kwargs)  # a DB-API cursor: no `async` parameter in SqlExecutor.execute
    """
    command = (
        "from app.executors import SqlExecutor\n\n\nclass RunCommand:\n    def run(self, context):\n"
        "        SqlExecutor().execute(context, 'select 1', {})\n        db.session.commit()\n"
    )
    out, report = fix_project(
        tmp_path, {"app/executors.py": executor, "app/daos/query.py": dao, "app/engines.py": engine, "app/commands/run.py": command}
    )
    assert "begin_nested" in fixed(out, "app/daos/query.py"), report.kept


@pytest.mark.parametrize("handed", ["session", "db.session"])
def test_a_session_made_by_a_caller_and_committed_after_the_call_covers_it_only_when_handed_down(tmp_path, handed):
    """A listener makes `Session(bind=connection)`, hands it to a helper that commits, and
    commits it itself after the call: that commit covers the helper's (the same session).
    Handing the helper another session is no cover: removing its commit would lose a write."""
    dao = """
    class TagDAO(BaseDAO):
        @classmethod
        def find_or_create(cls, name, session):
            tag = Tag(name=name)
            session.add(tag)
            session.commit()
            return tag
    """
    listener = f"""
    from sqlalchemy.orm import Session

    from app.daos.tag import TagDAO


    class Updater:
        @classmethod
        def after_insert(cls, mapper, connection, target):
            session = Session(bind=connection)
            try:
                tag = TagDAO.find_or_create("type", {handed})
                session.add(Tagged(tag_id=tag.id, object_id=target.id))
                session.commit()
            finally:
                session.close()


    event.listen(Chart, "after_insert", Updater.after_insert)
    """
    out, report = fix_project(tmp_path, {"app/daos/tag.py": dao, "app/listeners.py": listener})
    if handed == "session":
        assert "session.commit()" not in fixed(out, "app/daos/tag.py")
        assert "with session.begin_nested():" in out["app/daos/tag.py"]  # the flush gives tag.id
    else:
        assert out["app/daos/tag.py"] == dedent(dao)
        assert kept(report, "DAO101", "TagDAO.find_or_create")


def test_a_function_only_tests_call_keeps_its_commit_when_an_unresolved_call_may_be_one_of_it(tmp_path):
    store = """
    def set_setting(key, value):
        db.session.add(Setting(key=key, value=value))
        db.session.commit()
    """
    action = """
    def update_config(context, data):
        model = context["model"]
        model.set_setting("title", data["title"])
    """
    test = """
    from app.model.store import set_setting


    def test_set():
        set_setting("a", "b")
    """
    files = {"app/model/store.py": store, "app/logic/actions.py": action, "tests/test_store.py": test}
    out, report = fix_project(tmp_path, files, options={"dao-modules": ["app/model/**"]})
    assert out["app/model/store.py"] == dedent(store)
    assert "which only tests call otherwise" in kept(report, "DAO101", "set_setting")[0].reason


@pytest.mark.parametrize(("base_import", "unknown"), [
    ("from app.basemanager import BaseManager", True),  # the project's, in a file with no database code
    ("from flask_babel import Domain as BaseManager", False),  # another library's
])
def test_a_receiver_whose_class_extends_a_project_class_without_summary_is_unknown(tmp_path, base_import, unknown):
    dao = """
    class ViewDAO(BaseDAO):
        def add_view(self, view):
            db.session.add(view)
            db.session.commit()
    """
    manager = f"""
    {base_import}


    class SecurityManager(BaseManager):
        def register_views(self):
            self.appbuilder.add_view(object())
    """
    files = {"app/daos/view.py": dao, "app/basemanager.py": "class BaseManager(object):\n    pass\n", "app/security.py": manager}
    out, report = fix_project(tmp_path, files)
    (item,) = kept(report, "DAO101", "ViewDAO.add_view")
    assert ("type of its receiver is not known" in item.reason) is unknown


ACTIVE_RECORD = """
class Project:
    def remove_member(self, member):
        db.session.delete(member)
        db.session.commit()
"""


@pytest.mark.parametrize(("caller", "removed"), [
    # the view commits after the call: whatever `project` is, the write is committed
    ("def remove(project, member):\n    project.remove_member(member)\n    db.session.commit()\n", True),
    ("def remove(project, member):\n    project.remove_member(member)\n", False),
])
def test_a_call_on_a_receiver_of_unknown_type_is_covered_like_any_caller(tmp_path, caller, removed):
    files = {"app/models.py": ACTIVE_RECORD, "app/actions.py": caller, "app/make.py": "from app.models import Project\n\nPROJECT = Project()\n", "app/utils.py": PLAIN}
    out, report = fix_project(tmp_path, files, options={"transaction-decorator": "app.utils.transaction"})
    assert ("db.session.commit()" not in fixed(out, "app/models.py")) is removed
    if not removed:
        (item,) = kept(report, "DAO105", "Project.remove_member")
        assert item.reason.endswith(
            f"`.remove_member(...)` at {tmp_path / 'app/actions.py'}:2 may call {tmp_path / 'app/models.py'}::Project.remove_member"
            " (the type of its receiver is not known; a type annotation would tell)"
        )


@pytest.mark.parametrize(("receiver", "unknown"), [
    ("from flask import g\n\n\ndef remove(member):\n    g.project.remove_member(member)\n", True),  # g holds the app's values
    ("import os.path\n\n\ndef remove(member):\n    os.path.remove_member(member)\n", False),  # another library's module
])
def test_an_object_of_flask_that_holds_the_apps_values_may_be_a_receiver(tmp_path, receiver, unknown):
    files = {"app/models.py": ACTIVE_RECORD, "app/actions.py": receiver, "app/make.py": "from app.models import Project\n\nPROJECT = Project()\n", "app/utils.py": PLAIN}
    out, report = fix_project(tmp_path, files, options={"transaction-decorator": "app.utils.transaction"})
    (item,) = kept(report, "DAO105", "Project.remove_member")
    assert ("may call" in item.reason and "type of its receiver is not known" in item.reason) is unknown
    assert (NO_CALLER in item.reason and "Project.remove_member " + NO_CALLER in item.reason) is not unknown


@pytest.mark.parametrize(("model_commits", "rewritten"), [(True, False), (False, True)])
def test_no_savepoint_holds_a_call_on_an_unknown_receiver_that_may_still_commit(tmp_path, model_commits, rewritten):
    # privacyidea: `si.delete()` on what a helper returned reached a model method that
    # commits; inside `begin_nested()` that commit closed the block's transaction
    model = "class Setting:\n    def delete(self):\n        db.session.delete(self)\n" + ("        db.session.commit()\n" if model_commits else "")
    dao = "from app.lookup import find\n\n\ndef remove(setting_id):\n    setting = find(setting_id)\n    db.session.add(setting)\n    setting.delete()\n    db.session.commit()\n"
    files = {"app/models.py": model, "app/make.py": "from app.models import Setting\n\nSETTING = Setting()\n", "app/daos/setting.py": dao, "app/lookup.py": "def find(setting_id):\n    return None\n"}
    files["app/commands/remove.py"] = "from app.daos.setting import remove\n\n\nclass RemoveCommand:\n    def run(self, setting_id):\n        remove(setting_id)\n        db.session.commit()\n"
    out, report = fix_project(tmp_path, files)
    assert ("begin_nested" in fixed(out, "app/daos/setting.py")) is rewritten
    if not rewritten:
        (item,) = kept(report, "DAO101", "remove")
        assert "it calls `Setting.delete` at line 7, which still commits or rolls back the session" in item.reason
