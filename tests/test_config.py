"""`[tool.dao-lint]`: discovery, every key, and one-line errors."""
import pytest
from click.testing import CliRunner

from dao_lint.api import lint_source
from dao_lint.frontends.cli import cli
from dao_lint.foundations.config import Config, ConfigError, ConfigResolver, load_config

DAO = "class ChartDAO:\n    def create(self, chart):\n        db.session.add(chart)\n        db.session.commit()\n"


def write_config(directory, body):
    (directory / "pyproject.toml").write_text("[tool.dao-lint]\n" + body)
    return str(directory / "pyproject.toml")


def codes(source, path, config):
    return [d.code for d in lint_source(source, path, config)]


def test_found_upward_and_nearest_wins(tmp_path):
    write_config(tmp_path, 'ignore = ["DAO101"]\n')
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    resolver = ConfigResolver()
    assert resolver.for_path(str(tmp_path / "sub" / "deeper" / "a.py")).ignore == ("DAO101",)
    write_config(tmp_path / "sub", 'ignore = ["DAO102"]\n')
    assert ConfigResolver().for_path(str(tmp_path / "sub" / "deeper" / "a.py")).ignore == ("DAO102",)


def test_pyproject_without_section_is_skipped(tmp_path):
    write_config(tmp_path, 'ignore = ["DAO101"]\n')
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert ConfigResolver().for_path(str(tmp_path / "pkg" / "a.py")).ignore == ("DAO101",)


@pytest.mark.parametrize(
    "body, message",
    [
        ('selekt = ["DAO1"]\n', "unknown key 'selekt'"),
        ('select = ["DAO999"]\n', "unknown code 'DAO999'"),
        ('ignore = "DAO101"\n', "expected a list of codes"),
        ('dao-modules = ["[oops"]\n', "invalid glob"),
        ('dao-classes = "ChartDAO"\n', "expected a list of names"),
        ('boundaries = ["commands/*.py"]\n', "is not \"module-glob::Qualified.name-glob\""),
        ("transaction-decorator = 3\n", "expected a dotted name"),
        ('action-verbs = ["save"]\n', "expected a table of verb"),
        ('per-file-ignores = {"tests/*" = ["NOPE1"]}\n', "unknown code 'NOPE1'"),
        ("select = [\n", "invalid TOML"),
        ('rename = {"save" = "create"}\n', 'is not "Class.method"'),
        ('rename = {"ChartDAO.save" = "not valid"}\n', "must be an identifier"),
    ],
)
def test_bad_values_are_one_line_errors_naming_file_and_key(tmp_path, body, message):
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert message in text and path in text and "\n" not in text


def test_bad_config_exits_2_from_the_cli(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, 'unknown-key = 1\n')
    (tmp_path / "a.py").write_text("x = 1\n")
    result = CliRunner().invoke(cli, ["check", "."])
    assert result.exit_code == 2
    assert result.output.startswith("dao-lint: error: ") and "unknown key 'unknown-key'" in result.output
    assert result.output.count("\n") == 1


def test_explicit_config_file_and_cli_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chart_dao.py").write_text(DAO)
    (tmp_path / "strict.toml").write_text('select = ["DAO2"]\n')
    runner = CliRunner()
    assert runner.invoke(cli, ["check", "."]).exit_code == 1
    assert runner.invoke(cli, ["check", ".", "--config", "strict.toml"]).exit_code == 0
    assert runner.invoke(cli, ["check", ".", "--config", "strict.toml", "--select", "DAO101"]).exit_code == 1
    assert runner.invoke(cli, ["check", ".", "--config", "missing.toml"]).exit_code == 2


def test_per_file_ignores(tmp_path):
    config = Config(root=str(tmp_path), per_file_ignores=(("legacy/**", ("DAO1",)),))
    assert codes(DAO, str(tmp_path / "legacy" / "chart_dao.py"), config) == []
    assert codes(DAO, str(tmp_path / "app" / "chart_dao.py"), config) == ["DAO101"]


def test_session_names_option_changes_what_is_a_session():
    source = "class ChartDAO:\n    def create(self, chart):\n        self.store.add(chart)\n        self.store.commit()\n"
    assert codes(source, "a.py", Config()) == []
    assert codes(source, "a.py", Config(session_names=("self.store",))) == ["DAO101"]


def test_dao_options_change_what_is_a_dao():
    source = "class ChartStore:\n    def create(self, chart):\n        chart.ready = True\n        db.session.commit()\n"
    assert codes(source, "app/a.py", Config()) == ["DAO105"]
    assert codes(source, "app/a.py", Config(dao_classes=("*Store",))) == ["DAO101"]
    assert codes(source, "app/data/a.py", Config(dao_modules=("**/data/**",))) == ["DAO101"]
    based = "class Charts(Repository):\n    def create(self, chart):\n        chart.ready = True\n        db.session.commit()\n"
    assert codes(based, "app/a.py", Config(dao_base_classes=("Repository",))) == ["DAO101"]


def test_test_paths_option():
    source = "def test_a(job):\n    job.done = True\n    db.session.commit()\n"
    assert codes(source, "checks/a.py", Config()) == ["DAO105"]
    assert codes(source, "checks/a.py", Config(test_paths=("checks/**",))) == ["DAO901"]


def test_boundary_options():
    source = "def sync_all(job):\n    job.done = True\n    db.session.commit()\n"
    assert codes(source, "app/jobs/sync.py", Config()) == ["DAO105"]
    assert codes(source, "app/jobs/sync.py", Config(boundaries=("**/jobs/**::sync_*",))) == []
    assert codes(source, "app/jobs/sync.py", Config(migration_modules=("**/jobs/**",))) == []
    # a boundary module's functions are units of work: they may commit, and the other rules
    # (a write outside a DAO) still apply there, unlike in a migration
    writes = "def sync_all(rows):\n    db.session.add_all(rows)\n    db.session.commit()\n"
    assert sorted(codes(writes, "app/jobs/sync.py", Config())) == ["DAO105", "DAO201"]
    assert codes(writes, "app/jobs/sync.py", Config(boundary_modules=("**/jobs/**",))) == ["DAO201"]
    assert codes(writes, "app/jobs/sync.py", Config(migration_modules=("**/jobs/**",))) == []
    decorated = "from app.db import unit_of_work\n\n@unit_of_work\ndef sync_all(job):\n    job.done = True\n    db.session.commit()\n"
    assert codes(decorated, "app/jobs/sync.py", Config()) == ["DAO105"]
    assert codes(decorated, "app/jobs/sync.py", Config(transaction_decorator="app.db.unit_of_work")) == []


def test_action_verbs_option():
    source = (
        "class ChartDAO:\n    def archive(self, chart):\n        db.session.add(chart)\n"
        "    def save(self, chart):\n        db.session.add(chart)\n"
    )
    assert codes(source, "a.py", Config()) == ["DAO301"]
    found = lint_source(source, "a.py", Config(action_verbs=(("archive", "update"),)))
    assert [(d.code, d.line) for d in found] == [("DAO301", 2)]
    assert "`update`" in found[0].message


def test_select_ignore_prefix_semantics():
    config = Config(select=("DAO1",), ignore=("DAO101",))
    enabled = config.enabled_codes()
    assert "DAO102" in enabled and "DAO101" not in enabled and "DAO201" not in enabled
    assert "DAO001" not in enabled
    assert "DAO201" in Config(select=("DAO1",), extend_select=("DAO201",)).enabled_codes()


def _key_cases():
    from dao_lint.foundations.config import _KEYS

    wrong = ["12345", "true", "[1, 2]", '{ a = 1 }', '"  "']
    cases = [(key, value) for key in sorted(_KEYS) for value in wrong if not (_KEYS[key][1] == "kib" and value == "12345")]
    cases += [("max-file-size", "0"), ("max-file-size", "-5")]
    globs = [key for key, (_, kind) in _KEYS.items() if kind == "globs"]
    cases += [(key, '["src/[broken"]') for key in globs]
    cases += [("per-file-ignores", '{ "[x" = ["DAO101"] }'), ("boundaries", '["[x::run"]'), ("preset", '"django"'), ("preset", "3")]
    return cases


@pytest.mark.parametrize("key, value", _key_cases())
def test_every_key_with_a_wrong_value_is_a_one_line_error(tmp_path, monkeypatch, key, value):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(f"[tool.dao-lint]\n{key} = {value}\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    result = CliRunner().invoke(cli, ["check", "."])
    assert result.exit_code == 2, (key, value, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.count("\n") == 1 and result.output.startswith("dao-lint: error: ")
    assert "pyproject.toml" in result.output and key in result.output


def test_a_broken_toml_file_names_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.dao-lint\nselect = [\n")
    (tmp_path / "a.py").write_text("x = 1\n")
    result = CliRunner().invoke(cli, ["check", "."])
    assert result.exit_code == 2 and "pyproject.toml: invalid TOML" in result.output and result.output.count("\n") == 1
