"""Presets: each one, on a small sample of its stack, finds what `expected.txt` lists; the
same sample with the default configuration shows what the preset changes."""
import json
import shutil

import pytest

from dao_lint.frontends.cli import cli
from dao_lint.foundations.config import ConfigError, parse_table
from dao_lint.foundations.presets import PRESETS

from .conftest import ROOT, cli_runner

SAMPLES = ROOT / "fixtures" / "presets"

# what the default configuration reports differently on each sample: (only without the
# preset, only with it)
DIFFERENCES = {
    "fastapi": ({("app/crud.py", 7, "DAO202"), ("app/crud.py", 12, "DAO201"), ("app/crud.py", 13, "DAO105")}, {("app/crud.py", 13, "DAO101")}),
    "sqlmodel": ({("app/crud.py", 7, "DAO202"), ("app/crud.py", 11, "DAO201"), ("app/crud.py", 12, "DAO105")}, {("app/crud.py", 12, "DAO101")}),
    "flask-sqlalchemy": ({("blog/views.py", 12, "DAO105")}, set()),
    "sqlalchemy": ({("shop/services/checkout.py", 10, "DAO105")}, set()),
    "superset": ({("superset/views/core.py", 7, "DAO105")}, {("superset/security/manager.py", 6, "DAO202")}),
    "airflow": ({("airflow/cli/commands/dag_command.py", 9, "DAO105"), ("airflow/api_fastapi/core_api/routes/public/variables.py", 8, "DAO105")}, set()),
}


def findings(directory, monkeypatch):
    monkeypatch.chdir(directory)
    result = cli_runner().invoke(cli, ["check", ".", "--format", "json", "--jobs", "1", "--no-cache"])
    assert result.exit_code in (0, 1), result.output
    return {(r["path"], r["line"], r["code"]) for r in json.loads(result.stdout)}


def expected(name):
    out = set()
    for line in (SAMPLES / name / "expected.txt").read_text().splitlines():
        location, code = line.split()
        path, number = location.rsplit(":", 1)
        out.add((path, int(number), code))
    return out


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_on_its_sample(name, tmp_path, monkeypatch):
    assert set(DIFFERENCES) == set(PRESETS)
    with_preset = findings(SAMPLES / name, monkeypatch)
    assert with_preset == expected(name)
    plain = tmp_path / name
    shutil.copytree(SAMPLES / name, plain)
    (plain / "pyproject.toml").unlink()
    (plain / "expected.txt").unlink()
    without = findings(plain, monkeypatch)
    only_without, only_with = DIFFERENCES[name]
    assert without - with_preset == only_without
    assert with_preset - without == only_with


def test_user_keys_override_the_preset():
    config = parse_table({"preset": "fastapi", "dao-modules": ["app/store/**"]}, "pyproject.toml", ".")
    assert config.dao_modules == ("app/store/**",)
    assert config.session_names == tuple(PRESETS["fastapi"]["session-names"])
    assert config.preset == "fastapi"


def test_an_unknown_preset_names_the_choices():
    with pytest.raises(ConfigError, match=r"pyproject.toml: \[tool.dao-lint\] preset: unknown preset 'django' \(expected one of airflow, fastapi"):
        parse_table({"preset": "django"}, "pyproject.toml", ".")


def test_every_preset_has_a_docs_section():
    text = (ROOT / "docs" / "adopting.md").read_text()
    for name in PRESETS:
        assert f"\n### {name}\n" in text
