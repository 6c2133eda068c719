"""Findings that need the whole project (dao_lint/model/crossfile.py): commits hidden in calls,
one root cause one finding, overrides, listeners registered elsewhere."""
import textwrap

from dao_lint.api import lint_paths
from dao_lint.foundations.config import ConfigResolver


def check(tmp_path, files):
    """{relative path: code} -> sorted (path, line, code) of `dao-lint check`."""
    (tmp_path / "pyproject.toml").write_text("[tool.dao-lint]\n")
    for relative, code in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code).lstrip("\n"))
    results = lint_paths([str(tmp_path)], ConfigResolver(), jobs=1)
    return sorted(
        (str(__import__("os").path.relpath(r.path, tmp_path)), d.line, d.code) for r in results for d in r.diagnostics
    )


BASE = """
class BaseDAO:
    @classmethod
    def create(cls, item, commit=True):
        db.session.add(item)
        if commit:
            db.session.commit()
"""


def test_a_dao_calling_a_dao_that_commits_is_not_a_second_finding(tmp_path):
    chart = """
    from app.daos.base import BaseDAO


    class ChartDAO(BaseDAO):
        @classmethod
        def create_with_owner(cls, chart, owner, commit=True):
            chart.owners.append(owner)
            return cls.create(chart, commit=commit)

        @classmethod
        def create_many(cls, charts):
            for chart in charts:
                cls.create(chart)
    """
    found = check(tmp_path, {"app/daos/base.py": BASE, "app/daos/chart.py": chart})
    assert [f for f in found if f[0] == "app/daos/chart.py"] == [
        ("app/daos/chart.py", 6, "DAO103"),  # its own flag: the one thing to change here
        ("app/daos/chart.py", 13, "DAO701"),  # one create per item: bulk it
    ]


def test_a_dao_calling_a_commit_helper_outside_the_dao_layer_commits_there(tmp_path):
    helper = """
    def commit():
        db.session.commit()
    """
    chart = """
    from app import database


    class ChartDAO:
        @classmethod
        def create(cls, chart):
            db.session.add(chart)
            database.commit()
    """
    found = check(tmp_path, {"app/database.py": helper, "app/daos/chart.py": chart})
    assert ("app/daos/chart.py", 8, "DAO101") in found


def test_a_command_committing_through_a_dao_in_a_loop(tmp_path):
    command = """
    from app.daos.base import BaseDAO


    class ImportCommand:
        def run(self, items):
            for item in items:
                BaseDAO.create(item)
    """
    found = check(tmp_path, {"app/daos/base.py": BASE, "app/commands/importer.py": command})
    assert ("app/commands/importer.py", 7, "DAO106") in found
    assert ("app/commands/importer.py", 7, "DAO101") not in found  # not a DAO


def test_a_commit_false_call_commits_nothing(tmp_path):
    command = """
    from app.daos.base import BaseDAO


    class ImportCommand:
        def run(self, items):
            for item in items:
                BaseDAO.create(item, commit=False)
    """
    found = check(tmp_path, {"app/daos/base.py": BASE, "app/commands/importer.py": command})
    assert not [f for f in found if f[0] == "app/commands/importer.py" and f[2] == "DAO106"]


def test_a_listener_registered_through_a_subclass(tmp_path):
    models = """
    from sqlalchemy.orm import Session


    class ObjectUpdater:
        @classmethod
        def after_insert(cls, mapper, connection, target):
            session = Session(bind=connection)
            session.add(Tag(name=target.name))
            session.commit()


    class ChartUpdater(ObjectUpdater):
        pass
    """
    registry = """
    from sqlalchemy import event

    from app.models import ChartUpdater


    def register():
        event.listen(Chart, "after_insert", ChartUpdater.after_insert)
    """
    found = check(tmp_path, {"app/models.py": models, "app/listeners.py": registry})
    assert ("app/models.py", 9, "DAO108") in found  # the commit (line 7 opens the session: DAO108 too)


def test_commit_helpers_are_reported_where_they_are_called(tmp_path):
    datastore = """
    class SQLAlchemyDatastore:
        def commit(self):
            self.db.session.commit()

        def put(self, model):
            self.db.session.add(model)


    class SessionDatastore(SQLAlchemyDatastore):
        def commit(self):
            super().commit()
    """
    service = """
    from app.daos.datastore import SQLAlchemyDatastore


    def register(user):
        store = SQLAlchemyDatastore()
        store.put(user)
        store.commit()
    """
    command = """
    from app.daos.datastore import SQLAlchemyDatastore


    class RegisterCommand:
        def run(self, user):
            store = SQLAlchemyDatastore()
            store.put(user)
            store.commit()
    """
    found = check(tmp_path, {"app/daos/datastore.py": datastore, "app/services.py": service, "app/commands/register.py": command})
    # the helper and its forwarding override are `commit()` under another name: no finding
    # in their bodies; the call in a plain function is DAO105, the one in a command is fine
    assert [f for f in found if f[2] in ("DAO101", "DAO105")] == [("app/services.py", 7, "DAO105")]


PARAMS = """
from app.models.trial import TrialParam


def copy_params(session, params):
    for name, value in params.items():
        TrialParam(name=name, value=value).{method}(session)
"""
MODEL = """
class TrialParam(Base):
    def {method}(self, session):
        existing = session.query(TrialParam).filter_by(name=self.name).one_or_none()
        if existing is None:
            session.add(self)
"""


def _per_item(tmp_path, method):
    (tmp_path / "pyproject.toml").write_text('[tool.dao-lint]\ndao-modules = ["app/models/**"]\n')
    for relative, code in {"app/models/trial.py": MODEL, "app/services/trials.py": PARAMS}.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code.format(method=method)).lstrip("\n"))
    results = lint_paths([str(tmp_path / "app/services")], ConfigResolver(), jobs=1)
    return sorted((d.line, d.code) for r in results for d in r.diagnostics if d.code in ("DAO701", "DAO702"))


def test_a_dao_layer_method_in_another_file_that_writes_is_a_write_per_item(tmp_path):
    assert _per_item(tmp_path, "check_and_add") == [(6, "DAO701")]


def test_a_read_named_dao_method_that_may_create_is_not_also_a_write_per_item(tmp_path):
    assert (6, "DAO701") not in _per_item(tmp_path, "get_or_add")


RELATIONS = """
def save(item):
    db.session.add(item)
    db.session.commit()
    return item


class RelateCommand:
    def run(self, existing, item):
        if existing:
            return save(existing)
        db.session.add(item)
        db.session.commit()

    def run_twice(self, item):
        save(item)
        return save(item)
"""


def test_a_commit_in_a_returned_call_leaves_with_the_return(tmp_path):
    found = check(tmp_path, {"app/commands/relate.py": RELATIONS})
    # `return save(existing)` leaves before the later commit; `return save(item)` commits again
    assert [f for f in found if f[2] == "DAO107"] == [("app/commands/relate.py", 16, "DAO107")]


IMPORTS = """
def delete_file(file_id):
    db.session.query(File).filter_by(id=file_id).delete()
    db.session.commit()


class ImportCommand:
    def run(self, rows):
        for row in rows:
            try:
                save_row(row)
            except Exception:
                if row.upload:
                    delete_file(row.upload)
                raise
"""


def test_a_call_in_a_block_that_leaves_the_function_is_not_once_per_item(tmp_path):
    found = check(tmp_path, {"app/commands/imports.py": IMPORTS})
    assert [f for f in found if f[2] == "DAO106"] == []


def test_the_same_call_in_a_handler_that_goes_on_is_once_per_item(tmp_path):
    found = check(tmp_path, {"app/commands/imports.py": IMPORTS.replace("                raise\n", "                log.warning(row)\n")})
    assert [f for f in found if f[2] == "DAO106"] == [("app/commands/imports.py", 13, "DAO106")]
