"""The pre-commit hooks of this repository, run by real pre-commit (`try-repo`, which installs
the working tree like a user's `repo:` entry would) in a temporary git repository: a baselined
legacy project passes with nothing new, fails with a clear message when something new is
staged, and a one-file hook run reports what the whole-project check reports for that file."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SAMPLE

PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    return tmp_path_factory.mktemp("pre-commit-home")


def git(repo, *args):
    subprocess.run(["git", "-c", "user.email=dev@example.com", "-c", "user.name=dev", *args], cwd=repo, check=True, capture_output=True)


def hook(repo, home, hook_id):
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never"}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run([*PRE_COMMIT, "try-repo", str(ROOT), hook_id], cwd=repo, env=env, capture_output=True, text=True, timeout=600)


def dao_lint(repo, *args):
    return subprocess.run([str(BIN / "dao-lint"), *args], cwd=repo, capture_output=True, text=True, timeout=300)


@pytest.fixture
def legacy(tmp_path):
    """The sample app as a legacy project: every current finding in a baseline, committed."""
    repo = tmp_path / "legacy"
    shutil.copytree(SAMPLE, repo, ignore=shutil.ignore_patterns(".dao_lint_cache", "__pycache__"))
    with open(repo / "pyproject.toml", "a") as handle:
        handle.write('baseline = ".dao-lint-baseline.json"\n')
    assert dao_lint(repo, "baseline", ".dao-lint-baseline.json", ".").returncode == 0
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "legacy")
    return repo


def test_both_hooks_pass_on_a_baselined_project_with_nothing_new(legacy, pre_commit_home):
    target = legacy / "blog" / "api" / "posts.py"
    before = "# edited\n" + target.read_text()  # lines move; nothing new
    target.write_text(before)
    git(legacy, "add", "blog/api/posts.py")
    for hook_id in ("dao-lint", "dao-lint-fix"):
        run = hook(legacy, pre_commit_home, hook_id)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Passed" in run.stdout
    assert target.read_text() == before  # legacy code with nothing new is left as it is


def test_both_hooks_fail_clearly_on_a_new_finding_and_agree_with_the_whole_project(legacy, pre_commit_home):
    target = legacy / "blog" / "api" / "posts.py"
    target.write_text(target.read_text() + "\n\ndef purge_drafts():\n    db.session.query(Post).filter_by(draft=True).delete()\n    db.session.commit()\n")
    git(legacy, "add", "blog/api/posts.py")
    check = hook(legacy, pre_commit_home, "dao-lint")
    assert check.returncode == 1 and "Failed" in check.stdout
    reported = sorted(line for line in check.stdout.splitlines() if line.startswith("blog/api/posts.py:"))
    assert reported and all("DAO105" in line or "DAO202" in line or "DAO201" in line for line in reported), reported
    # exactly what the whole-project check reports for that file (baseline applied in both)
    whole = dao_lint(legacy, "check", ".")
    assert reported == sorted(line for line in whole.stdout.splitlines() if line.startswith("blog/api/posts.py:"))
    fix = hook(legacy, pre_commit_home, "dao-lint-fix")
    assert fix.returncode == 1 and "Failed" in fix.stdout
    assert "findings left:" in fix.stdout and "in the baseline" in fix.stdout
