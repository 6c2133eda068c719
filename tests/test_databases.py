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

from dao_lint.cli import cli

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


@pytest.fixture(scope="module")
def original_app(tmp_path_factory):
    target = tmp_path_factory.mktemp("before") / "sample_app"
    shutil.copytree(SAMPLE, target)
    return target


@pytest.fixture(scope="module")
def fixed_app(tmp_path_factory):
    target = tmp_path_factory.mktemp("after") / "sample_app"
    shutil.copytree(SAMPLE, target)
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


def test_the_fix_rewrote_the_sample_app(fixed_app):
    base = (fixed_app / "blog" / "daos" / "base.py").read_text()
    assert "with db.session.begin_nested():" in base and "commit: bool" not in base.split("def delete")[0]
    importer = (fixed_app / "blog" / "commands" / "post" / "importer.py").read_text()
    assert "@transaction\n    def run(self)" in importer and "from blog.utils import transaction" in importer
    extensions = (fixed_app / "blog" / "extensions.py").read_text()
    assert '@event.listens_for(engine, "begin")' in extensions


def test_happy_path_persists_the_same_rows_before_and_after(original_app, fixed_app, database_url):
    found = {}
    for label, app in (("before", original_app), ("after", fixed_app)):
        assert run(app, database_url, "setup") == "ready"
        assert run(app, database_url, "happy") == "done"
        found[label] = stored(database_url)
    expected = ([("hello", "Hello", 1), ("one", "One", 1), ("two", "Two", 1)], 1)
    assert found["before"] == expected
    assert found["after"] == expected


def test_a_failing_second_write_leaves_a_partial_row_before_and_nothing_after(original_app, fixed_app, database_url):
    assert run(original_app, database_url, "setup") == "ready"
    assert run(original_app, database_url, "failing") == "failed: DAOCreateFailedError"
    assert stored(database_url) == ([("duplicate", "First", 1)], 0)  # the bug: half a command

    assert run(fixed_app, database_url, "setup") == "ready"
    assert run(fixed_app, database_url, "failing") == "failed: DAOCreateFailedError"
    assert stored(database_url) == ([], 0)  # one unit of work: all or nothing
