"""`dao-lint init`: survey a project, propose its section, never overwrite without --force."""

import pytest

from dao_lint.frontends.cli import cli
from dao_lint.foundations.config import load_config
from .conftest import cli_runner


def make_project(root):
    (root / "shop" / "repositories").mkdir(parents=True)
    (root / "shop" / "commands").mkdir()
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "utils.py").write_text(
        "import functools\n\n\ndef transaction(func):\n    @functools.wraps(func)\n    def wrapped(*a, **k):\n"
        "        try:\n            result = func(*a, **k)\n            db.session.commit()\n            return result\n"
        "        except Exception:\n            db.session.rollback()\n            raise\n    return wrapped\n"
    )
    # a client's own "transaction" (a context manager batching HTTP calls) is not the unit of work
    (root / "shop" / "client.py").write_text(
        "import contextlib\n\n\n@contextlib.contextmanager\ndef transaction(client):\n    client.begin()\n    yield client\n    client.flush()\n"
    )
    (root / "shop" / "repositories" / "orders.py").write_text(
        "from flask_sqlalchemy import SQLAlchemy\n\nfrom ..models import Order\n\n\nclass OrderRepository(StoreDao):\n"
        "    def create(self, order):\n        self.store.session.add(order)\n\n    def find(self, id):\n"
        "        return self.store.session.get(Order, id)\n\n    def delete(self, order):\n        self.store.session.delete(order)\n\n    def all(self):\n        return self.store.session.query(Order).all()\n"
    )
    (root / "shop" / "commands" / "place.py").write_text(
        "class PlaceOrder:\n    def run(self):\n        pass\n\n\nclass CancelOrder:\n    def run(self):\n        pass\n"
    )


def test_init_prints_what_it_found(in_tmp):
    make_project(in_tmp)
    result = cli_runner().invoke(cli, ["init", "--print"])
    assert result.exit_code == 0
    assert 'preset = "flask-sqlalchemy"' in result.stdout
    assert 'transaction-decorator = "shop.utils.transaction"' in result.stdout
    assert '"self.store.session"' in result.stdout  # the session expression this code uses
    # the preset's own names are restated only where this project uses them: no Flask-AppBuilder
    assert "appbuilder" not in result.stdout and '"session"' in result.stdout
    assert 'dao-base-classes = ["BaseDAO", "StoreDao"]' in result.stdout
    assert "DAOs: 1 classes, in **/repositories/** (1)" in result.stderr
    assert "commands: 2 `run` methods" in result.stderr
    assert not (in_tmp / "pyproject.toml").exists()


def test_init_writes_a_section_that_loads_and_never_overwrites_without_force(in_tmp):
    make_project(in_tmp)
    (in_tmp / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    assert cli_runner().invoke(cli, ["init"]).exit_code == 0
    config = load_config(str(in_tmp / "pyproject.toml"))
    assert config.preset == "flask-sqlalchemy" and config.transaction_decorator == "shop.utils.transaction"
    assert "self.store.session" in config.session_names
    assert '[project]\nname = "shop"\n' in (in_tmp / "pyproject.toml").read_text()
    (in_tmp / "pyproject.toml").write_text('[project]\nname = "shop"\n\n[tool.dao-lint]\nignore = ["DAO301"]\n\n[tool.other]\nx = 1\n')
    again = cli_runner().invoke(cli, ["init"])
    assert again.exit_code == 2 and "already has a [tool.dao-lint] section" in again.stderr
    assert "surveyed" not in again.stderr  # said before the survey, not after seconds of it
    assert 'ignore = ["DAO301"]' in (in_tmp / "pyproject.toml").read_text()
    assert cli_runner().invoke(cli, ["init", "--force"]).exit_code == 0
    text = (in_tmp / "pyproject.toml").read_text()
    assert 'ignore = ["DAO301"]' not in text and "[tool.other]\nx = 1" in text and text.count("[tool.dao-lint]") == 1
    assert load_config(str(in_tmp / "pyproject.toml")).preset == "flask-sqlalchemy"


def test_an_empty_decorator_clears_the_presets(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.dao-lint]\npreset = "superset"\ntransaction-decorator = ""\n')
    assert load_config(str(tmp_path / "pyproject.toml")).transaction_decorator is None


def test_init_proposes_only_a_decorator_that_commits_and_rolls_back(in_tmp):
    make_project(in_tmp)
    (in_tmp / "shop" / "utils.py").write_text("def transaction(func):\n    return func\n")
    result = cli_runner().invoke(cli, ["init", "--print"])
    assert "transaction-decorator" not in result.stdout
    assert "not a unit-of-work decorator: shop.client.transaction" in result.stderr
    assert "not a unit-of-work decorator: shop.utils.transaction (it does not both commit and roll back" in result.stderr


def test_init_proposes_the_boundaries_fix_would_need(in_tmp):
    make_project(in_tmp)
    (in_tmp / "shop" / "daos").mkdir()
    (in_tmp / "shop" / "daos" / "order.py").write_text(
        "class OrderDAO:\n    @classmethod\n    def create(cls, order):\n        db.session.add(order)\n        db.session.commit()\n"
    )
    (in_tmp / "shop" / "handlers.py").write_text(
        "from shop.daos.order import OrderDAO\n\n\ndef place_order(order):\n    OrderDAO.create(order)\n"
    )
    result = cli_runner().invoke(cli, ["init"])
    assert result.exit_code == 0
    config = load_config(str(in_tmp / "pyproject.toml"))
    assert "shop/handlers.py::place_order" in config.boundaries
    assert "**/views.py::*" in config.boundaries  # the preset's own stay
    assert "boundary: shop/handlers.py::place_order (where 1 commit(s)" in result.stderr
    # with it declared, fix can remove the commit
    fixed = cli_runner().invoke(cli, ["fix", "--unsafe-fixes", "--diff", "shop"])
    assert "+        with db.session.begin_nested():" in fixed.stdout and "+@transaction" in fixed.stdout


def make_helper_project(root):
    """No DAO classes: a `database.py` of helpers, active-record models, a git wrapper."""
    (root / "forum" / "vcs").mkdir(parents=True)
    (root / "forum" / "api").mkdir()
    (root / "forum" / "__init__.py").write_text("")
    (root / "forum" / "database.py").write_text(
        "from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n\n\ndef create(obj):\n    db.session.add(obj)\n"
        "    db.session.commit()\n    return obj\n\n\ndef remove(obj):\n    db.session.delete(obj)\n    db.session.commit()\n\n\n"
        "def count(model):\n    return db.session.query(model).count()\n"
    )
    (root / "forum" / "models.py").write_text(
        "from .database import db\n\n\nclass Topic(db.Model):\n    def save(self):\n        db.session.add(self)\n"
        "        db.session.commit()\n        return self\n"
    )
    (root / "forum" / "vcs" / "repo.py").write_text(
        "import subprocess\n\n\nclass GitRepository:\n    def commit(self, message):\n"
        "        subprocess.run(['git', 'commit', '-m', message])\n"
    )
    (root / "forum" / "api" / "topics.py").write_text(
        "from forum import database\nfrom forum.models import Topic\n\n\ndef post_topic(data):\n    Topic(**data).save()\n"
        "    database.create(Topic(**data))\n"
    )


def test_init_finds_the_data_layer_from_evidence_and_says_what_it_gives(in_tmp):
    make_helper_project(in_tmp)
    result = cli_runner().invoke(cli, ["init", "--print"])
    assert result.exit_code == 0, result.output
    assert "data layer: forum/database.py (2 of its 3 functions write through a session)" in result.stderr
    assert "data layer: forum/models.py (active record: 1 `save()` method(s)" in result.stderr
    # a class named like a DAO whose module never touches a session is not one
    assert "not a DAO: GitRepository in forum/vcs/repo.py" in result.stderr
    assert "vcs" not in result.stdout
    assert '"forum/database.py"' in result.stdout and '"forum/models.py"' in result.stdout
    # the commits in the helpers and in save() are DAO101 under the proposal, the helper
    # named `remove` and the active record's `save` (its base, `db.Model`, has no method
    # of that name) are DAO301 (a DAO speaks delete, create or update), and `post_topic`
    # commits twice, through `save()` and then `database.create()` (DAO107)
    assert "with this section, `dao-lint check` finds 6: DAO101 3, DAO107 1, DAO301 2" in result.stderr
    # post_topic is a boundary already (the preset's `**/api/**`): never suggested again
    assert "boundary: forum/api/topics.py" not in result.stderr


def test_init_keeps_the_dao_classes_as_the_layer_when_there_are_some(in_tmp):
    make_project(in_tmp)
    (in_tmp / "shop" / "services.py").write_text(
        "def ship(order):\n    db.session.add(order)\n\n\ndef cancel(order):\n    db.session.delete(order)\n"
    )
    result = cli_runner().invoke(cli, ["init", "--print"])
    # writes outside the DAO classes are findings (DAO201), not more of the data layer
    assert "services.py" not in result.stdout and "data layer:" not in result.stderr
    assert "DAO201 2" in result.stderr


WRITING_HELPERS = (
    "from shop.models import Order, db\n\n\ndef make_order(**values):\n    db.session.add(Order(**values))\n    db.session.flush()\n\n\n"
    "def make_orders(count):\n    for _ in range(count):\n        db.session.add(Order())\n    db.session.flush()\n"
)


@pytest.mark.parametrize(("where", "header", "proposed"), [
    ("shop/testing/fixtures.py", "import pytest\n", False),  # a test directory
    ("shop/fixtures.py", "import pytest\n\n\n@pytest.fixture\ndef order():\n    return None\n", False),  # pytest fixtures
    ("shop/builders.py", "import unittest\n\n\nclass OrderTest(unittest.TestCase):\n    pass\n", False),
    ("shop/operations.py", "", True),  # the project's own writes: the data layer
])
def test_init_never_proposes_test_code_as_the_data_layer(in_tmp, where, header, proposed):
    (in_tmp / "shop" / "testing").mkdir(parents=True)
    (in_tmp / "shop" / "__init__.py").write_text("")
    (in_tmp / "shop" / "models.py").write_text("from flask_sqlalchemy import SQLAlchemy\n\ndb = SQLAlchemy()\n\n\nclass Order(db.Model):\n    pass\n")
    (in_tmp / where).write_text(header + "\n\n" + WRITING_HELPERS)
    result = cli_runner().invoke(cli, ["init", "--print"])
    assert result.exit_code == 0, result.output
    assert (f'"{where}"' in result.stdout) is proposed  # in the proposed dao-modules
    assert ("test code: 1 files" in result.stderr) is not proposed
