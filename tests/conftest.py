"""Shared test helpers."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "fixtures" / "sample_app"


@pytest.fixture
def sample_app() -> Path:
    return SAMPLE


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def _not_in_github_actions(monkeypatch):
    """Tests assert plain output; in GitHub Actions `check` would add annotations to it."""
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


def cli_runner():
    """A CliRunner whose `stdout` and `stderr` are separate (click 8.2 always; 8.1, the last
    release for Python 3.9, when asked)."""
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)
    except TypeError:
        return CliRunner()
