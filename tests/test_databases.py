"""The sample app before and after `dao-lint fix`, run against SQLite and PostgreSQL.

Before the fix each DAO call commits: a command whose second write fails leaves the first
row behind. After it, the command is one unit of work: nothing remains. The happy path
persists the same rows either way. Rows are read back through a fresh connection.
"""
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from dao_lint.frontends.cli import cli

from .conftest import ROOT, SAMPLE

sqlalchemy = pytest.importorskip("sqlalchemy", reason="the database tests need SQLAlchemy (pip install -e '.[test]')")

POSTGRES_URL = os.environ.get("DAO_LINT_TEST_POSTGRES_URL")
SCENARIO = ROOT / "tests" / "db_scenario.py"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'blog.db'}"
    if POSTGRES_URL:
        return POSTGRES_URL
    if os.environ.get("CI") == "true":
        pytest.fail("CI must run PostgreSQL and set DAO_LINT_TEST_POSTGRES_URL (.ci/run does both)")
    pytest.skip("no PostgreSQL server: set DAO_LINT_TEST_POSTGRES_URL=postgresql+psycopg://user@host:port/db")


# The sample app's unit-of-work decorator as a factory (Superset 4.1's shape): used as
# `@transaction()`; applied bare it would wrap the command in the factory at import time.
FACTORY = '''"""Small helpers, including the unit-of-work decorator."""
import functools

from blog.extensions import db


def transaction(on_error=None):
    """Run the decorated function as one unit of work; `on_error` may turn a failure into a value."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                result = func(*args, **kwargs)
                db.session.commit()
                return result
            except Exception as ex:
                db.session.rollback()
                if on_error is not None:
                    return on_error(ex)
                raise

        return wrapper

    return decorate
'''


def sample_copy(root, decorator):
    target = root / "sample_app"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns(".dao_lint_cache"))
    if decorator == "factory":
        (target / "blog" / "utils.py").write_text(FACTORY)
        delete = target / "blog" / "commands" / "post" / "delete.py"
        delete.write_text(delete.read_text().replace("@transaction\n", "@transaction()\n"))
    return target


@pytest.fixture(scope="module", params=["plain", "factory"])
def decorator(request):
    return request.param


@pytest.fixture(scope="module")
def original_app(tmp_path_factory, decorator):
    return sample_copy(tmp_path_factory.mktemp("before"), decorator)


@pytest.fixture(scope="module")
def fixed_app(tmp_path_factory, decorator):
    target = sample_copy(tmp_path_factory.mktemp("after"), decorator)
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(target)
    try:
        first = runner.invoke(cli, ["fix", "--unsafe-fixes", "--jobs", "1", "."])
        assert first.exit_code in (0, 1), first.output
        second = runner.invoke(cli, ["fix", "--unsafe-fixes", "--diff", "--jobs", "1", "."])
        assert second.exit_code == 0, second.output  # nothing left to change
    finally:
        os.chdir(cwd)
    return target


def run(app, url, step):
    env = {**os.environ, "PYTHONPATH": str(app), "BLOG_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, str(SCENARIO), step], cwd=app, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def stored(url):
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            posts = connection.execute(sqlalchemy.text("SELECT slug, title, author_id FROM posts ORDER BY slug")).all()
            tags = connection.execute(sqlalchemy.text("SELECT post_id, tag_id FROM post_tags ORDER BY post_id")).all()
        return [tuple(row) for row in posts], len(tags)
    finally:
        engine.dispose()


def tag_names(url):
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(sqlalchemy.text("SELECT name FROM tags ORDER BY name"))]
    finally:
        engine.dispose()


def test_the_fix_rewrote_the_sample_app(fixed_app, decorator):
    written = "@transaction()" if decorator == "factory" else "@transaction"
    base = (fixed_app / "blog" / "daos" / "base.py").read_text()
    assert "with db.session.begin_nested():" in base and "commit: bool" not in base.split("def delete")[0]
    importer = (fixed_app / "blog" / "commands" / "post" / "importer.py").read_text()
    assert f"{written}\n    def run(self)" in importer and "from blog.utils import transaction" in importer
    tag = (fixed_app / "blog" / "daos" / "tag.py").read_text()
    assert "db.session.rollback()" not in tag and "with db.session.begin_nested():\n                db.session.add(tag)" in tag
    for path in fixed_app.rglob("*.py"):  # everything it wrote imports and compiles
        compile(path.read_text(), str(path), "exec")
    assert run(fixed_app, "sqlite://", "import") == "imported"
    extensions = (fixed_app / "blog" / "extensions.py").read_text()
    assert '@event.listens_for(engine, "savepoint")' in extensions


def test_happy_path_persists_the_same_rows_before_and_after(original_app, fixed_app, database_url):
    found = {}
    for label, app in (("before", original_app), ("after", fixed_app)):
        assert run(app, database_url, "setup") == "ready"
        assert run(app, database_url, "happy") == "done"
        found[label] = stored(database_url)
    expected = ([("hello", "Hello", 1), ("one", "One", 1), ("two", "Two", 1)], 1)
    assert found["before"] == expected
    assert found["after"] == expected


def test_a_conflict_the_dao_handles_still_reaches_its_handler(original_app, fixed_app, database_url):
    found = {}
    for label, app in (("before", original_app), ("after", fixed_app)):
        assert run(app, database_url, "setup") == "ready"
        assert run(app, database_url, "tags") == "sqlalchemy=1"  # the existing row, read back
        found[label] = tag_names(database_url)
    assert found["before"] == found["after"] == ["flask", "orm", "sqlalchemy"]  # no write lost


def test_a_failing_second_write_leaves_a_partial_row_before_and_nothing_after(original_app, fixed_app, database_url):
    assert run(original_app, database_url, "setup") == "ready"
    assert run(original_app, database_url, "failing") == "failed: DAOCreateFailedError"
    assert stored(database_url) == ([("duplicate", "First", 1)], 0)  # the bug: half a command

    assert run(fixed_app, database_url, "setup") == "ready"
    assert run(fixed_app, database_url, "failing") == "failed: DAOCreateFailedError"
    assert stored(database_url) == ([], 0)  # one unit of work: all or nothing


def _sqlite_engine(tmp_path, listeners):
    """A file-based SQLite engine with `listeners` (source naming it `engine`) registered,
    and a table."""
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'app.db'}", connect_args={"timeout": 0.2})
    exec(compile("from sqlalchemy import event\n" + listeners, "<listeners>", "exec"), {"engine": engine})
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)"))
    return engine


SQLALCHEMY_RECIPE = '''
@event.listens_for(engine, "connect")
def _no_pysqlite_transactions(dbapi_connection, connection_record):
    dbapi_connection.isolation_level = None


@event.listens_for(engine, "begin")
def _begin(connection):
    connection.exec_driver_sql("BEGIN")
'''


@pytest.mark.parametrize("listeners", ["fix", "sqlalchemy-recipe", "none"])
def test_the_fix_s_sqlite_listener_nests_savepoints_and_lets_a_reader_be(tmp_path, listeners):
    from sqlalchemy.orm import Session

    from dao_lint.codemods.sqlite_savepoint import listener_source

    source = {"fix": listener_source("engine", guarded=False), "sqlalchemy-recipe": SQLALCHEMY_RECIPE, "none": ""}[listeners]
    engine = _sqlite_engine(tmp_path, source)
    try:
        with Session(engine) as session:  # a SAVEPOINT first thing: its RELEASE must not commit
            with session.begin_nested():
                session.execute(sqlalchemy.text("INSERT INTO items (name) VALUES ('nested')"))
            session.rollback()
        with engine.connect() as connection:
            kept = connection.execute(sqlalchemy.text("SELECT count(*) FROM items")).scalar()
        assert kept == (1 if listeners == "none" else 0)  # (without a fix, the rollback undid nothing)
        reader = Session(engine)
        reader.execute(sqlalchemy.text("SELECT count(*) FROM items")).scalar()  # a read, not ended
        try:
            with Session(engine) as writer:  # another connection writes and commits meanwhile
                writer.execute(sqlalchemy.text("INSERT INTO items (name) VALUES ('write')"))
                writer.commit()
            blocked = False
        except sqlalchemy.exc.OperationalError as error:
            assert "database is locked" in str(error)
            blocked = True
        finally:
            reader.close()
        # SQLAlchemy's recipe holds the reader's lock to its end: the writer fails (what it did
        # to privacyidea's audit log); the fix's listener leaves pysqlite's reads as they were
        assert blocked is (listeners == "sqlalchemy-recipe")
    finally:
        engine.dispose()
