"""`dao-lint fix` keeps what the application does (issue 20): the unit of work itself is never
rewritten, a boundary's commit that still has work after it becomes a flush, an effect
outside the database stays after a kept commit, no rollback runs between a removed commit
and its cover, and no SAVEPOINT block holds a call that still commits. Each with its
negative beside it. Runs the command line, as users do."""
import textwrap

import pytest

from dao_lint.frontends.cli import cli

from .conftest import cli_runner

DECORATOR = '''
from functools import wraps

from app.extensions import db


def transaction():
    def decorate(func):
        @wraps(func)
        def wrapped(*args, **kwargs):
            try:
                result = func(*args, **kwargs)
                db.session.commit()  # noqa: DAO105 - the unit of work
                return result
            except Exception:
                db.session.rollback()  # noqa: DAO105 - the unit of work
                raise

        return wrapped

    return decorate
'''


def project(root, files, config):
    (root / "pyproject.toml").write_text("[tool.dao-lint]\n" + textwrap.dedent(config))
    for relative, code in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code).lstrip("\n"))
        init = path.parent / "__init__.py"
        while init.parent != root and not init.exists():
            init.write_text("")
            init = init.parent.parent / "__init__.py"


def fix(root, monkeypatch, *args):
    monkeypatch.chdir(root)
    result = cli_runner().invoke(cli, ["fix", ".", "--unsafe-fixes", "--no-cache", "--jobs", "1", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result


def test_the_transaction_decorator_is_never_a_boundary_nor_rewritten(tmp_path, monkeypatch):
    command = """
    from app.extensions import db


    class CreateCommand:
        def run(self, item):
            db.session.add(item)
            db.session.commit()
    """
    project(tmp_path, {"app/extensions.py": "db = None\n", "app/utils/decorators.py": DECORATOR, "app/commands/create.py": command}, """
        transaction-decorator = "app.utils.decorators.transaction"
        boundary-modules = ["app/utils/**"]
    """)
    before = (tmp_path / "app/utils/decorators.py").read_text()
    monkeypatch.chdir(tmp_path)
    checked = cli_runner().invoke(cli, ["check", ".", "--no-cache", "--select", "DAO003,DAO105", "--jobs", "1"])
    assert "decorators.py" not in checked.stdout  # its `# noqa` comments are not "unused"
    fix(tmp_path, monkeypatch)
    assert (tmp_path / "app/utils/decorators.py").read_text() == before  # noqa comments included
    assert "@transaction()" in (tmp_path / "app/commands/create.py").read_text()
    after_first = {p: p.read_text() for p in tmp_path.rglob("*.py")}
    fix(tmp_path, monkeypatch)
    assert {p: p.read_text() for p in tmp_path.rglob("*.py")} == after_first


def test_another_module_listed_as_boundaries_is_decorated(tmp_path, monkeypatch):
    helpers = """
    from app.extensions import db


    def sync(item):
        db.session.add(item)
        db.session.commit()
    """
    project(tmp_path, {"app/extensions.py": "db = None\n", "app/utils/decorators.py": DECORATOR, "app/utils/sync.py": helpers}, """
        transaction-decorator = "app.utils.decorators.transaction"
        boundary-modules = ["app/utils/**"]
    """)
    fix(tmp_path, monkeypatch)
    assert "@transaction()\ndef sync" in (tmp_path / "app/utils/sync.py").read_text()


def test_what_the_decorator_calls_to_commit_is_never_rewritten(tmp_path, monkeypatch):
    decorator = """
    from functools import wraps

    from app.utils.finish import finish


    def transaction(func):
        @wraps(func)
        def wrapped(*args, **kwargs):
            result = func(*args, **kwargs)
            finish()
            return result

        return wrapped
    """
    finish = """
    from app.extensions import db


    def finish():
        db.session.commit()
    """
    project(tmp_path, {"app/extensions.py": "db = None\n", "app/utils/decorators.py": decorator, "app/utils/finish.py": finish}, """
        transaction-decorator = "app.utils.decorators.transaction"
    """)
    before = (tmp_path / "app/utils/finish.py").read_text()
    fix(tmp_path, monkeypatch)
    assert (tmp_path / "app/utils/finish.py").read_text() == before


RETRY = """
from app.extensions import db
from app.daos.audit import record


class ImportCommand:
    def run(self, rows):
        for attempt in range(3):
            try:
                record(rows)
                db.session.flush()
                break
            except IntegrityError:
                db.session.rollback()
        db.session.commit()
"""
AUDIT = """
from app.extensions import db


def record(rows):
    db.session.add(Audit(count=len(rows)))
    db.session.commit()
"""


def test_no_rollback_may_run_between_a_removed_commit_and_its_cover(tmp_path, monkeypatch):
    project(tmp_path, {"app/extensions.py": "db = None\n", "app/daos/audit.py": AUDIT, "app/commands/importer.py": RETRY}, "")
    result = fix(tmp_path, monkeypatch)
    assert "db.session.commit()" in (tmp_path / "app/daos/audit.py").read_text()  # kept: the retry's rollback would discard it
    assert "audit.py" in result.output and "not every caller" in result.output


def test_without_the_rollback_the_callers_commit_covers_it(tmp_path, monkeypatch):
    plain = RETRY.replace("            except IntegrityError:\n                db.session.rollback()\n", "            finally:\n                pass\n")
    project(tmp_path, {"app/extensions.py": "db = None\n", "app/daos/audit.py": AUDIT, "app/commands/importer.py": plain}, "")
    fix(tmp_path, monkeypatch)
    assert "commit" not in (tmp_path / "app/daos/audit.py").read_text() and "begin_nested" in (tmp_path / "app/daos/audit.py").read_text()


NESTING = """
from app.extensions import db
from app.helpers.audit import record


class ItemDAO:
    @staticmethod
    def create(item):
        try:
            db.session.add(item)
            record(item)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
"""
COMMITTING_HELPER = """
from app.extensions import db


def record(item):
    db.session.add(item)
    db.session.commit()
"""
CALLERS = """
from app.extensions import db
from app.daos.item import ItemDAO
from app.helpers.audit import record


class CreateCommand:
    def run(self, item):
        ItemDAO.create(item)
        db.session.commit()


{script}
"""


def test_no_savepoint_block_holds_a_call_that_still_commits(tmp_path, monkeypatch):
    # `record` keeps its commit (a module-level call has no unit of work), so the DAO that
    # calls it is left as it was: `begin_nested()` around it would be closed by its commit
    callers = CALLERS.format(script="record(None)")
    files = {"app/extensions.py": "db = None\n", "app/daos/item.py": NESTING, "app/helpers/audit.py": COMMITTING_HELPER, "app/commands/create.py": callers}
    project(tmp_path, {**files, "app/utils/decorators.py": DECORATOR}, """
        transaction-decorator = "app.utils.decorators.transaction"
    """)
    result = fix(tmp_path, monkeypatch)
    dao = (tmp_path / "app/daos/item.py").read_text()
    assert "begin_nested" not in dao and "db.session.commit()" in dao and "db.session.rollback()" in dao
    assert "record" in result.output and "still commits" in result.output


def test_a_callee_whose_commit_goes_in_the_same_run_may_sit_in_the_savepoint(tmp_path, monkeypatch):
    callers = CALLERS.format(script="")
    files = {"app/extensions.py": "db = None\n", "app/daos/item.py": NESTING, "app/helpers/audit.py": COMMITTING_HELPER, "app/commands/create.py": callers}
    project(tmp_path, {**files, "app/utils/decorators.py": DECORATOR}, """
        transaction-decorator = "app.utils.decorators.transaction"
    """)
    fix(tmp_path, monkeypatch)
    assert "commit" not in (tmp_path / "app/helpers/audit.py").read_text()
    dao = (tmp_path / "app/daos/item.py").read_text()
    assert "with db.session.begin_nested():" in dao and "db.session.commit()" not in dao


MAILING_VIEW = """
from app.extensions import db, mail


class InviteApi:
    def post(self, invite):
        db.session.add(invite)
        db.session.commit()
        {after}
        return invite.id
"""


def test_a_commit_before_a_mail_stays(tmp_path, monkeypatch):
    view = MAILING_VIEW.format(after="mail.send(invite.message())")
    project(tmp_path, {"app/extensions.py": "db = mail = None\n", "app/utils/decorators.py": DECORATOR, "app/views/invites.py": view}, """
        transaction-decorator = "app.utils.decorators.transaction"
        boundaries = ["app/views/**::*Api.*"]
    """)
    result = fix(tmp_path, monkeypatch)
    assert (tmp_path / "app/views/invites.py").read_text() == textwrap.dedent(view).lstrip("\n")
    assert "mail.send()" in result.output and "before the data is durable" in result.output


def test_a_log_line_after_the_commit_is_no_effect(tmp_path, monkeypatch):
    view = MAILING_VIEW.format(after="logger.info('invited %s', invite.id)")
    project(tmp_path, {"app/extensions.py": "db = mail = None\n", "app/utils/decorators.py": DECORATOR, "app/views/invites.py": view}, """
        transaction-decorator = "app.utils.decorators.transaction"
        boundaries = ["app/views/**::*Api.*"]
    """)
    fix(tmp_path, monkeypatch)
    fixed = (tmp_path / "app/views/invites.py").read_text()
    assert "@transaction()" in fixed and "db.session.commit()" not in fixed and "db.session.flush()" in fixed




@pytest.mark.parametrize(("after", "kept"), [
    ("notification.send()", True),  # a notifier's send: a mail or a chat message
    ("requests.post(url, json={})", True),
    ("urllib.parse.urljoin(url, '/done')", False),  # computes a string
    ("urllib.request.build_opener().open(url)", False),  # a download: nothing to wait for
])
def test_what_reaches_outside_the_database_after_a_commit(tmp_path, monkeypatch, after, kept):
    view = MAILING_VIEW.format(after=after).replace("import db, mail", "import db, mail, notification\nimport requests\nimport urllib.parse\nimport urllib.request\nurl = ''")
    project(tmp_path, {"app/extensions.py": "db = mail = notification = None\n", "app/utils/decorators.py": DECORATOR, "app/views/invites.py": view}, """
        transaction-decorator = "app.utils.decorators.transaction"
        boundaries = ["app/views/**::*Api.*"]
    """)
    result = fix(tmp_path, monkeypatch)
    assert ("db.session.commit()" in (tmp_path / "app/views/invites.py").read_text()) is kept
    assert ("before the data is durable" in result.output) is kept

@pytest.mark.parametrize(("body", "kept"), [
    ("    return jsonify(result=data)\n", False),  # builds a response: named like a send, sends nothing
    ("    mail.send(data)\n", True),
])
def test_a_project_function_is_an_effect_by_what_it_does_not_by_its_name(tmp_path, monkeypatch, body, kept):
    view = MAILING_VIEW.format(after="send_result(invite)").replace("import db, mail", "import db, mail\nfrom app.helpers.results import send_result")
    # (a module with database code: the index has its functions' bodies)
    results = "from flask import jsonify\nfrom app.extensions import db, mail\n\n\ndef count():\n    return db.session.query(Invite).count()\n\n\ndef send_result(data):\n" + body
    files = {"app/extensions.py": "db = mail = None\n", "app/utils/decorators.py": DECORATOR, "app/views/invites.py": view, "app/helpers/results.py": results}
    project(tmp_path, files, """
        transaction-decorator = "app.utils.decorators.transaction"
        boundaries = ["app/views/**::*Api.*"]
    """)
    result = fix(tmp_path, monkeypatch)
    assert ("db.session.commit()" in (tmp_path / "app/views/invites.py").read_text()) is kept
    assert ("before the data is durable" in result.output) is kept

NOTIFYING_COMMAND = """
from app.extensions import db
from app.helpers.audit import record
from app.tasks import notify_owner


class CreateCommand:
    def run(self, item):
        record(item)
        {between}
        db.session.commit()
        {after}
"""


def test_a_helpers_commit_stays_when_a_task_is_queued_before_the_callers_commit(tmp_path, monkeypatch):
    command = NOTIFYING_COMMAND.format(between="notify_owner.delay(item.id)", after="")
    files = {"app/extensions.py": "db = None\n", "app/tasks.py": "notify_owner = None\n", "app/helpers/audit.py": COMMITTING_HELPER, "app/commands/create.py": command}
    project(tmp_path, {**files, "app/utils/decorators.py": DECORATOR}, """
        transaction-decorator = "app.utils.decorators.transaction"
    """)
    result = fix(tmp_path, monkeypatch)
    assert "db.session.commit()" in (tmp_path / "app/helpers/audit.py").read_text()
    assert "notify_owner.delay()" in result.output


def test_a_task_queued_after_the_callers_commit_does_not_keep_the_helpers(tmp_path, monkeypatch):
    command = NOTIFYING_COMMAND.format(between="", after="notify_owner.delay(item.id)")
    files = {"app/extensions.py": "db = None\n", "app/tasks.py": "notify_owner = None\n", "app/helpers/audit.py": COMMITTING_HELPER, "app/commands/create.py": command}
    project(tmp_path, {**files, "app/utils/decorators.py": DECORATOR}, """
        transaction-decorator = "app.utils.decorators.transaction"
    """)
    fix(tmp_path, monkeypatch)
    assert "commit" not in (tmp_path / "app/helpers/audit.py").read_text()


def test_a_helper_that_queues_a_task_after_its_own_commit_keeps_it(tmp_path, monkeypatch):
    helper = COMMITTING_HELPER.replace("    db.session.commit()\n", "    db.session.commit()\n    index_item.delay(item.id)\n")
    helper = "from app.tasks import index_item\n" + helper
    files = {"app/extensions.py": "db = None\n", "app/tasks.py": "index_item = None\n", "app/helpers/audit.py": helper, "app/commands/create.py": CALLERS.format(script="")}
    project(tmp_path, {**files, "app/daos/item.py": NESTING, "app/utils/decorators.py": DECORATOR}, """
        transaction-decorator = "app.utils.decorators.transaction"
    """)
    result = fix(tmp_path, monkeypatch)
    assert "db.session.commit()" in (tmp_path / "app/helpers/audit.py").read_text()
    assert "index_item.delay()" in result.output and "before the data is durable" in result.output
    # and the DAO that calls it keeps its own, as no SAVEPOINT may hold a call that commits
    assert "begin_nested" not in (tmp_path / "app/daos/item.py").read_text()


FLASK_APP = """
import os

from flask import Flask


def create_app():
    app = Flask(__name__)
    app.config{setting}
    return app
"""
NESTED_DAO = """
from app.extensions import db


class ItemDAO:
    @staticmethod
    def rename(item, name):
        with db.session.begin_nested():
            item.name = name
"""


@pytest.mark.parametrize("setting", [
    '["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite:///app.db")',
    '.setdefault("SQLALCHEMY_DATABASE_URI", "sqlite://")',
])
def test_a_flask_sqlalchemy_setting_that_defaults_to_sqlite_gets_the_listeners(tmp_path, monkeypatch, setting):
    files = {"app/extensions.py": "db = None\n", "app/factory.py": FLASK_APP.format(setting=setting), "app/daos/item.py": NESTED_DAO}
    project(tmp_path, files, "")
    monkeypatch.chdir(tmp_path)
    checked = cli_runner().invoke(cli, ["check", ".", "--no-cache", "--select", "DAO112"])
    assert "app/factory.py:8:5: DAO112" in checked.output and "1 may be fixed" in checked.output
    fix(tmp_path, monkeypatch)
    fixed = (tmp_path / "app/factory.py").read_text()
    assert '@event.listens_for(Engine, "savepoint")' in fixed and "from sqlalchemy.engine import Engine" in fixed
    compile(fixed, "factory.py", "exec")
    again = cli_runner().invoke(cli, ["check", ".", "--no-cache", "--select", "DAO112"])
    assert again.exit_code == 0, again.output


def test_a_setting_of_another_database_is_no_sqlite_engine(tmp_path, monkeypatch):
    setting = '["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]'
    project(tmp_path, {"app/factory.py": FLASK_APP.format(setting=setting), "app/daos/item.py": NESTED_DAO}, "")
    monkeypatch.chdir(tmp_path)
    assert cli_runner().invoke(cli, ["check", ".", "--no-cache", "--select", "DAO112"]).exit_code == 0


MIGRATION = """
from alembic import op
from sqlalchemy.orm import Session

from app.models import Slice


def upgrade():
    session = Session(bind=op.get_bind())
    for slc in session.query(Slice).all():
        slc.params = "{}"
        session.merge(slc)
    session.commit()
"""
COMMIT_HELPER = """
from app.extensions import db


def commit():
    db.session.add(object())
    db.session.commit()
"""


def test_fix_diff_reports_what_the_fix_would_leave_not_what_is_on_disk(tmp_path, monkeypatch):
    # after the fix, no rule looks at the migration any more; it still calls a `commit`
    # the index asks about, and the index must read the fixed text, not the file on disk
    files = {"app/extensions.py": "db = None\n", "app/helpers.py": COMMIT_HELPER, "app/migrations/versions/001_params.py": MIGRATION}
    project(tmp_path, files, "")
    monkeypatch.chdir(tmp_path)
    diff = cli_runner().invoke(cli, ["fix", ".", "--diff", "--no-cache"])
    assert "would fix: DAO401 x1 in 1 file(s)" in diff.stderr and "DAO401" not in diff.stderr.split("findings left", 1)[1]
    applied = fix(tmp_path, monkeypatch)
    assert "fixed: DAO401 x1 in 1 file(s)" in applied.output


DAO_CALLING_A_COMMAND = """
from app.extensions import db
from app.commands.audit import AuditCommand


class ItemDAO:
    @staticmethod
    def create(item):
        db.session.add(item)
        AuditCommand().run(item)
        db.session.commit()
"""
AUDIT_COMMAND = """
from app.extensions import db


class AuditCommand:
    def run(self, item):
        db.session.add(item)
        db.session.commit()
"""
CREATE_COMMAND = """
from app.extensions import db
from app.daos.item import ItemDAO


class CreateCommand:
    def run(self, item):
        ItemDAO.create(item)
        db.session.commit()
"""


def test_a_boundary_that_gets_the_decorator_commits_inside_a_savepoint_too(tmp_path, monkeypatch):
    # AuditCommand.run is a boundary: the decorator it gets commits when it returns, so the
    # DAO that calls it between its writes and its commit keeps its commit, run after run
    files = {"app/extensions.py": "db = None\n", "app/daos/item.py": DAO_CALLING_A_COMMAND, "app/commands/audit.py": AUDIT_COMMAND, "app/commands/create.py": CREATE_COMMAND}
    project(tmp_path, {**files, "app/utils/decorators.py": DECORATOR}, """
        transaction-decorator = "app.utils.decorators.transaction"
        boundaries = ["app/commands/**::*.run"]
    """)
    result = fix(tmp_path, monkeypatch)
    dao = (tmp_path / "app/daos/item.py").read_text()
    assert "begin_nested" not in dao and "db.session.commit()" in dao
    assert "AuditCommand.run" in result.output and "still commits" in result.output
    assert "@transaction()" in (tmp_path / "app/commands/audit.py").read_text()
    after_first = {p: p.read_text() for p in tmp_path.rglob("*.py")}
    fix(tmp_path, monkeypatch)
    assert {p: p.read_text() for p in tmp_path.rglob("*.py")} == after_first


ENGINE_LISTENERS = """
from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _no_pysqlite_transactions(dbapi_connection, connection_record):
    dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _begin(connection):
    connection.exec_driver_sql("BEGIN")
"""


def test_the_listeners_on_every_engine_go_in_once_per_project(tmp_path, monkeypatch):
    # two settings (the app's and the tests'): listeners on `Engine` twice would emit BEGIN
    # twice, and every transaction would fail; the app's module gets them, once
    config = 'class Config:\n    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///app.db")\n'
    conftest = 'import pytest\n\n\n@pytest.fixture\ndef app(app):\n    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"\n    return app\n'
    files = {"app/config.py": "import os\n\n\n" + config, "tests/conftest.py": conftest, "app/daos/item.py": NESTED_DAO, "app/extensions.py": "db = None\n"}
    project(tmp_path, files, "")
    monkeypatch.chdir(tmp_path)
    checked = cli_runner().invoke(cli, ["check", ".", "--no-cache", "--select", "DAO112"])
    assert checked.output.count("DAO112") == 1 and "app/config.py:5:5: DAO112" in checked.output
    fix(tmp_path, monkeypatch)
    fixed = {p.relative_to(tmp_path).as_posix(): p.read_text() for p in tmp_path.rglob("*.py")}
    assert sum(text.count('listens_for(Engine, "savepoint")') for text in fixed.values()) == 1
    assert 'listens_for(Engine, "savepoint")' in fixed["app/config.py"]
    assert cli_runner().invoke(cli, ["check", ".", "--no-cache", "--select", "DAO112"]).exit_code == 0


def test_listeners_on_every_engine_anywhere_in_the_project_are_the_fix(tmp_path, monkeypatch):
    config = 'import os\n\n\nclass Config:\n    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///app.db")\n'
    files = {"app/config.py": config, "app/db.py": ENGINE_LISTENERS, "app/daos/item.py": NESTED_DAO, "app/extensions.py": "db = None\n"}
    project(tmp_path, files, "")
    monkeypatch.chdir(tmp_path)
    assert cli_runner().invoke(cli, ["check", ".", "--no-cache", "--select", "DAO112"]).exit_code == 0
    before = (tmp_path / "app/config.py").read_text()
    fix(tmp_path, monkeypatch)
    assert (tmp_path / "app/config.py").read_text() == before


def test_a_function_carrying_the_decorator_commits_inside_a_savepoint_whatever_the_boundaries(tmp_path, monkeypatch):
    audit = "from app.extensions import db\nfrom app.utils.decorators import transaction\n\n\n@transaction()\ndef audit(item):\n    db.session.add(item)\n"
    dao = DAO_CALLING_A_COMMAND.replace("from app.commands.audit import AuditCommand", "from app.services.audit import audit").replace("AuditCommand().run(item)", "audit(item)")
    files = {"app/extensions.py": "db = None\n", "app/daos/item.py": dao, "app/services/audit.py": audit, "app/commands/create.py": CREATE_COMMAND}
    project(tmp_path, {**files, "app/utils/decorators.py": DECORATOR}, """
        transaction-decorator = "app.utils.decorators.transaction"
    """)
    fix(tmp_path, monkeypatch)
    dao_after = (tmp_path / "app/daos/item.py").read_text()
    assert "begin_nested" not in dao_after and "db.session.commit()" in dao_after


def test_an_effect_reached_through_a_project_helper_keeps_the_commit_before_it(tmp_path, monkeypatch):
    view = MAILING_VIEW.format(after="send_invite(invite)").replace("from app.extensions import db, mail", "from app.extensions import db\nfrom app.mails import send_invite")
    mails = "from app.extensions import mail\n\n\ndef send_invite(invite):\n    mail.send(invite.message())\n"
    project(tmp_path, {"app/extensions.py": "db = mail = None\n", "app/mails.py": mails, "app/utils/decorators.py": DECORATOR, "app/views/invites.py": view}, """
        transaction-decorator = "app.utils.decorators.transaction"
        boundaries = ["app/views/**::*Api.*"]
    """)
    result = fix(tmp_path, monkeypatch)
    assert (tmp_path / "app/views/invites.py").read_text() == textwrap.dedent(view).lstrip("\n")
    assert "send_invite()" in result.output and "before the data is durable" in result.output


def test_a_file_written_after_the_commit_keeps_it_and_one_read_does_not(tmp_path, monkeypatch):
    written = MAILING_VIEW.format(after='with open(invite.path, "w") as handle:\n            handle.write(invite.body)')
    project(tmp_path, {"app/extensions.py": "db = mail = None\n", "app/utils/decorators.py": DECORATOR, "app/views/invites.py": written}, """
        transaction-decorator = "app.utils.decorators.transaction"
        boundaries = ["app/views/**::*Api.*"]
    """)
    fix(tmp_path, monkeypatch)
    assert (tmp_path / "app/views/invites.py").read_text() == textwrap.dedent(written).lstrip("\n")
    read = MAILING_VIEW.format(after="with open(invite.path) as handle:\n            invite.body = handle.read()")
    (tmp_path / "app/views/invites.py").write_text(textwrap.dedent(read).lstrip("\n"))
    fix(tmp_path, monkeypatch)
    assert "db.session.flush()" in (tmp_path / "app/views/invites.py").read_text()
