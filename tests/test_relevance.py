"""Which files the rules visit: a cheap test on the text picks the files a rule can match;
the others only get a syntax check when checked alone (a run over a project still
summarises them for its index). Too wide costs time on every run, too narrow loses findings."""
import pytest

from dao_lint.foundations.config import Config
from dao_lint.checking.engine import check_source


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


def test_a_file_no_rule_looks_at_is_indexed_when_it_calls_a_committing_function(tmp_path):
    from dao_lint.api import lint_paths
    from dao_lint.foundations.config import ConfigResolver

    (tmp_path / "pyproject.toml").write_text("[tool.dao-lint]\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "audit.py").write_text("from app.db import db\n\n\ndef note(entry):\n    db.session.add(entry)\n    db.session.commit()\n")
    # no session, no DAO, no commit in its text: only a call of `note`, once per item
    (tmp_path / "app" / "jobs.py").write_text("from app.audit import note\n\n\ndef replay(xs):\n    for x in xs:\n        note(x)\n")
    (tmp_path / "app" / "other.py").write_text("def replay(xs):\n    for x in xs:\n        print(x)\n")
    found = {(r.path.rsplit("/", 1)[-1], d.code) for r in lint_paths([str(tmp_path)], ConfigResolver(), jobs=1) for d in r.diagnostics}
    assert ("jobs.py", "DAO106") in found and not any(f[0] == "other.py" for f in found)
