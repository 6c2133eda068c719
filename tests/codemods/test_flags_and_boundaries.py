"""DAO103 across modules, DAO105 at boundaries, DAO112 listeners."""
import ast

from .helpers import dedent, fix_project

BASE = """
class BaseDAO:
    @classmethod
    def create(cls, properties, commit=True):
        model = cls.model_cls(**properties)
        db.session.add(model)
        if commit:
            db.session.commit()
        return model
"""

CHART = """
from app.daos.base import BaseDAO


class ChartDAO(BaseDAO):
    @classmethod
    def create_with_owner(cls, properties, owner, commit=True):
        chart = cls.create(properties, commit=commit)
        chart.owners.append(owner)
        return chart
"""

UTILS = """
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

COMMAND = """
from app.daos.chart import ChartDAO
from app.utils import transaction


class CreateChartCommand:
    def run(self):
        chart = ChartDAO.create({"name": "x"}, commit=False)
        other = ChartDAO.create_with_owner(
            {"name": "y"},
            self._owner,
            commit=False,
        )
        db.session.commit()
        return chart, other
"""


def test_commit_flags_vanish_from_definitions_and_call_sites_across_modules(tmp_path):
    out, report = fix_project(
        tmp_path,
        {"app/daos/base.py": BASE, "app/daos/chart.py": CHART, "app/commands/create.py": COMMAND, "app/utils.py": UTILS},
        options={"transaction-decorator": "app.utils.transaction"},
    )
    assert out["app/daos/base.py"] == dedent(
        """
        class BaseDAO:
            @classmethod
            def create(cls, properties):
                model = cls.model_cls(**properties)
                with db.session.begin_nested():
                    db.session.add(model)
                return model
        """
    )
    assert "def create_with_owner(cls, properties, owner):" in out["app/daos/chart.py"]
    assert "cls.create(properties)" in out["app/daos/chart.py"]
    command = out["app/commands/create.py"]
    assert 'ChartDAO.create({"name": "x"})' in command
    assert "            self._owner,\n        )" in command  # the trailing comma moved with the argument
    assert "@transaction\n    def run(self):" in command and "db.session.commit()" not in command
    for code in out.values():
        ast.parse(code)


def test_safe_mode_keeps_flags_and_decorators(tmp_path):
    out, report = fix_project(
        tmp_path,
        {"app/daos/base.py": BASE, "app/daos/chart.py": CHART, "app/commands/create.py": COMMAND},
        options={"transaction-decorator": "app.utils.transaction"},
        unsafe=False,
    )
    assert "commit=True" in out["app/daos/base.py"]  # the parameter stays (unsafe fix)
    # ... and so does the commit it guards: without the flag's removal, a `commit`
    # parameter would stay that no longer does anything
    assert "if commit:" in out["app/daos/base.py"]
    assert any(k.code == "DAO101" and "--unsafe-fixes" in k.reason for k in report.kept)
    assert out["app/commands/create.py"] == dedent(COMMAND)


def test_an_unresolved_call_passing_commit_keeps_the_parameter(tmp_path):
    dynamic = """
    def run(dao):
        dao.create({"name": "x"}, commit=False)
        db.session.commit()
    """
    out, report = fix_project(
        tmp_path,
        {"app/daos/base.py": BASE, "app/daos/chart.py": CHART, "app/commands/create.py": COMMAND, "app/jobs.py": dynamic},
        options={"transaction-decorator": "app.utils.transaction"},
    )
    assert "def create(cls, properties, commit=True):" in out["app/daos/base.py"]
    assert "if commit:" in out["app/daos/base.py"]  # the flag stays, and so does what it guards
    assert "commit=True):" in out["app/daos/chart.py"]  # it forwards the flag to a kept one
    assert 'commit=False' in out["app/jobs.py"]
    assert any(k.code == "DAO103" and "app/jobs.py:2" in k.reason for k in report.kept)


def test_decorator_form_is_copied_from_the_project(tmp_path):
    existing = """
    from app.utils import transaction


    class DeleteCommand:
        @transaction()
        def run(self):
            pass
    """
    command = """
    class UpdateCommand:
        def run(self):
            ChartDAO.update(self._chart)
            db.session.commit()
    """
    out, _ = fix_project(
        tmp_path,
        {"app/commands/delete.py": existing, "app/commands/update.py": command},
        options={"transaction-decorator": "app.utils.transaction"},
    )
    assert out["app/commands/update.py"] == dedent(
        """
        from app.utils import transaction


        class UpdateCommand:
            @transaction()
            def run(self):
                ChartDAO.update(self._chart)
        """
    )


def test_boundary_rollback_in_reraising_handler_goes_and_decorator_is_added_once(tmp_path):
    command = '''
    """Update a chart."""
    from app.utils import log


    class UpdateCommand:
        @log
        def run(self):
            try:
                ChartDAO.update(self._chart)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
    '''
    out, _ = fix_project(
        tmp_path, {"app/commands/update.py": command, "app/utils.py": UTILS}, options={"transaction-decorator": "app.utils.transaction"}
    )
    assert out["app/commands/update.py"] == dedent(
        '''
        """Update a chart."""
        from app.utils import log, transaction


        class UpdateCommand:
            @log
            @transaction
            def run(self):
                ChartDAO.update(self._chart)
        '''
    )


def test_sqlite_listeners_are_added_once(tmp_path):
    db = """
    import os

    from sqlalchemy import create_engine

    engine = create_engine(os.environ.get("DATABASE_URL", "sqlite:///app.db"))
    """
    dao = """
    class ChartDAO:
        def create(self, chart):
            with self.session.begin_nested():
                self.session.add(chart)
    """
    out, report = fix_project(tmp_path, {"app/db.py": db, "app/daos/chart.py": dao}, unsafe=False)
    fixed = out["app/db.py"]
    assert "from sqlalchemy import create_engine, event" in fixed
    assert 'if engine.dialect.name == "sqlite":\n    @event.listens_for(engine, "savepoint")' in fixed
    assert fixed.count("listens_for") == 1
    ast.parse(fixed)
    again, _ = fix_project(tmp_path / "again", {"app/db.py": fixed, "app/daos/chart.py": dao}, unsafe=False)
    assert again["app/db.py"] == fixed


def test_no_listeners_without_nested_units_of_work(tmp_path):
    db = 'from sqlalchemy import create_engine\n\nengine = create_engine("sqlite:///app.db")\n'
    out, _ = fix_project(tmp_path, {"app/db.py": db})
    assert out["app/db.py"] == db


def test_rename_follows_resolved_call_sites_across_modules(tmp_path):
    dao = """
    class ChartDAO:
        @classmethod
        def save(cls, chart):
            return chart

        @classmethod
        def save_all(cls, charts):
            return [cls.save(c) for c in charts]
    """
    caller = """
    from app.daos.chart import ChartDAO as Charts


    def run(chart, form):
        form.save()  # not a DAO: untouched
        return Charts.save(chart)
    """
    out, report = fix_project(
        tmp_path, {"app/daos/chart.py": dao, "app/views.py": caller}, options={"rename": {"ChartDAO.save": "create"}}
    )
    assert "def create(cls, chart):" in out["app/daos/chart.py"]
    assert "cls.create(c)" in out["app/daos/chart.py"]
    assert "return Charts.create(chart)" in out["app/views.py"] and "form.save()" in out["app/views.py"]
    safe, _ = fix_project(
        tmp_path / "safe", {"app/daos/chart.py": dao}, options={"rename": {"ChartDAO.save": "create"}}, unsafe=False
    )
    assert safe["app/daos/chart.py"] == dedent(dao)


def test_a_rename_is_one_fix_and_once_done_is_nothing_to_report(tmp_path):
    dao = """
    class ChartDAO:
        @staticmethod
        def save(chart):
            db.session.add(chart)
    """
    caller = """
    from app.daos.chart import ChartDAO


    def post(chart):
        ChartDAO.save(chart)
    """
    options = {"rename": {"ChartDAO.save": "create"}}
    out, report = fix_project(tmp_path, {"app/daos/chart.py": dao, "app/api.py": caller}, options=options, write=True)
    assert "ChartDAO.create(chart)" in out["app/api.py"]
    assert report.fixed_counts()["DAO301"] == 1  # the definition and its call site: one finding
    again, second = fix_project(tmp_path, {"app/daos/chart.py": out["app/daos/chart.py"], "app/api.py": out["app/api.py"]}, options=options)
    assert again == out and second.kept == []  # renamed already: not "kept", not an error
    _, stale = fix_project(tmp_path / "stale", {"app/daos/chart.py": dao}, options={"rename": {"ChartDAO.gone": "create"}})
    assert [(k.code, k.function, k.reason) for k in stale.kept] == [("DAO301", "ChartDAO.gone -> create", "no such method in the checked paths")]


def test_rename_is_refused_when_a_subclass_overrides_the_method(tmp_path):
    dao = """
    class ChartDAO:
        @classmethod
        def save(cls, chart):
            return chart


    class SliceDAO(ChartDAO):
        @classmethod
        def save(cls, chart):
            return super().save(chart)
    """
    out, report = fix_project(tmp_path, {"app/daos/chart.py": dao}, options={"rename": {"ChartDAO.save": "create"}})
    assert out["app/daos/chart.py"] == dedent(dao)
    assert any(k.code == "DAO301" and "SliceDAO" in k.reason for k in report.kept)


def test_async_boundary_with_comments_keeps_them(tmp_path):
    command = """
    class SyncCommand:
        # runs nightly
        async def run(self):  # the entry point
            await ReportDAO.refresh(self.session)
            # make it durable
            await self.session.commit()
            return True
    """
    out, _ = fix_project(
        tmp_path, {"app/commands/sync.py": command, "app/utils.py": UTILS}, options={"transaction-decorator": "app.utils.transaction"}
    )
    assert out["app/commands/sync.py"] == dedent(
        """
        from app.utils import transaction


        class SyncCommand:
            # runs nightly
            @transaction
            async def run(self):  # the entry point
                await ReportDAO.refresh(self.session)
                # make it durable
                return True
        """
    )


def test_sqlite_listeners_follow_the_file_newlines_and_indentation(tmp_path):
    db = 'from sqlalchemy import create_engine\r\n\r\nengine = create_engine("sqlite:///app.db")\r\n'
    dao = "class ChartDAO:\n  def create(self, chart):\n    with self.session.begin_nested():\n      self.session.add(chart)\n"
    out, _ = fix_project(tmp_path, {"app/db.py": db.encode(), "app/daos/chart.py": dao}, unsafe=False)
    fixed = out["app/db.py"]
    change = fixed.encode()
    assert b"\r\n" in change and b"\n" not in change.replace(b"\r\n", b"")
    assert 'connection.exec_driver_sql("BEGIN")' in fixed


def test_a_boundary_commit_with_work_after_it_becomes_a_flush(tmp_path):
    # the commit was also the flush that gave the member its id: deleted, the API would
    # answer `201 null`; in a loop the next round runs after it
    views = """
    class MemberApi:
        def post(self, member):
            db.session.add(member)
            db.session.commit()
            return member.id, 201

        def put(self, members):
            for member in members:
                db.session.add(member)
                db.session.commit()

        def delete(self, member):
            if member.active:
                db.session.delete(member)
                db.session.commit()
                return None
            db.session.delete(member)
            db.session.commit()
    """
    out, _ = fix_project(
        tmp_path, {"app/views/members.py": views, "app/utils.py": UTILS},
        options={"transaction-decorator": "app.utils.transaction", "boundaries": ["app/views/**::*Api.*"]},
    )
    assert out["app/views/members.py"] == dedent(
        """
        from app.utils import transaction


        class MemberApi:
            @transaction
            def post(self, member):
                db.session.add(member)
                db.session.flush()
                return member.id, 201

            @transaction
            def put(self, members):
                for member in members:
                    db.session.add(member)
                    db.session.flush()

            @transaction
            def delete(self, member):
                if member.active:
                    db.session.delete(member)
                    return None
                db.session.delete(member)
        """
    )


def test_a_boundary_commit_that_a_rollback_close_or_raise_would_undo_stays(tmp_path):
    # with the decorator, a flush here would be thrown away by the rollback, the close or the
    # decorator's own rollback on the error raised right after: the commit keeps its write
    views = """
    class MemberApi:
        def register(self, name, nick):
            user = User(name=name)
            db.session.add(user)
            db.session.commit()
            try:
                db.session.add(User(name=nick))
                db.session.commit()
            except IntegrityError:
                db.session.rollback()
            return user.id

        def fail(self, user):
            user.name = "failed"
            db.session.commit()
            raise ValueError("x")

        def close_after(self, user):
            try:
                db.session.add(user)
                db.session.commit()
            finally:
                db.session.close()
    """
    out, _ = fix_project(
        tmp_path, {"app/views/members.py": views, "app/utils.py": UTILS},
        options={"transaction-decorator": "app.utils.transaction", "boundaries": ["app/views/**::*Api.*"]},
    )
    fixed = out["app/views/members.py"]
    register = fixed.split("def register", 1)[1].split("def fail", 1)[0]
    assert register.count("db.session.commit()") == 1 and register.count("db.session.flush()") == 1  # the first stays
    assert register.index("db.session.commit()") < register.index("try:") and "db.session.rollback()" in register
    assert "db.session.commit()" in fixed.split("def fail", 1)[1].split("def close_after", 1)[0]
    assert "db.session.commit()" in fixed.split("def close_after", 1)[1]
    # a boundary whose own commits all stay gets no decorator: it would replace none of them
    assert "@transaction\n    def register" in fixed
    assert "@transaction\n    def fail" not in fixed and "@transaction\n    def close_after" not in fixed
