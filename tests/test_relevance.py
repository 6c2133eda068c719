"""Which files the rules visit: a cheap test on the text picks the files a rule can match;
the others only get a syntax check when checked alone (a run over a project still
summarises them for its index). Too wide costs time on every run, too narrow loses findings."""
import pytest

from dao_lint.config import Config
from dao_lint.engine import check_source


@pytest.mark.parametrize(
    "source",
    [
        "from sqlalchemy.engine.url import URL, make_url\n\nURL.create('x')\n",
        "from sqlalchemy.engine.reflection import Inspector\n",
        "# the raw type as returned by the db engine.\nVALUE = 1\n",
        "def dialect(engine):\n    return engine.dialect.name\n",
    ],
)
def test_a_file_that_only_names_the_engine_module_is_not_parsed(source):
    assert not check_source(source, "app/utils.py", Config()).parsed


@pytest.mark.parametrize(
    "source",
    [
        "def run(engine):\n    with engine.begin() as conn:\n        conn.execute(STATEMENT)\n",
        "from app import db\n\ndef purge():\n    db.engine.execute('DELETE FROM t')\n",
        "from sqlalchemy import create_engine\n\nENGINE = create_engine('sqlite://')\n",
    ],
)
def test_a_file_that_uses_an_engine_is_parsed(source):
    assert check_source(source, "app/jobs.py", Config()).parsed


def test_every_file_of_a_project_run_has_a_summary():
    # a call to a committing function is a commit wherever it is: the index needs every file
    found = check_source("from app.audit import note\n\ndef replay(xs):\n    for x in xs:\n        note(x)\n", "app/jobs.py", Config(), summarize=True)
    assert found.summary is not None and [c.method for c in found.summary.functions["replay"].calls] == ["note"]

