"""Which files are parsed: a cheap test on the text picks the files a rule can match; the
others only get a syntax check. Too wide costs time on every run, too narrow loses findings."""
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
    assert not check_source(source, "app/utils.py", Config(), summarize=True).parsed


@pytest.mark.parametrize(
    "source",
    [
        "def run(engine):\n    with engine.begin() as conn:\n        conn.execute(STATEMENT)\n",
        "from app import db\n\ndef purge():\n    db.engine.execute('DELETE FROM t')\n",
        "from sqlalchemy import create_engine\n\nENGINE = create_engine('sqlite://')\n",
    ],
)
def test_a_file_that_uses_an_engine_is_parsed(source):
    assert check_source(source, "app/jobs.py", Config(), summarize=True).parsed

