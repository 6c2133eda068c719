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


def _fixture_digests() -> dict:
    import hashlib

    skipped = {".dao_lint_cache", "__pycache__"}
    return {
        str(path.relative_to(ROOT)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((ROOT / "fixtures").rglob("*"))
        if path.is_file() and not skipped.intersection(path.relative_to(ROOT).parts)
    }


@pytest.fixture(scope="session", autouse=True)
def _fixtures_stay_untouched():
    """The committed fixtures are inputs: a test that runs `fix` on them instead of on a copy
    would rewrite them for every later test. Fail the session if any file under fixtures/
    changed."""
    before = _fixture_digests()
    yield
    after = _fixture_digests()
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"tests changed committed fixtures: {changed}"
