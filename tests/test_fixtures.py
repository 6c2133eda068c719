"""The sample project: every rule fires exactly where expected, in the CLI and in flake8."""
import json
import subprocess
import sys

from click.testing import CliRunner

from dao_lint.frontends.cli import cli

from .conftest import ROOT, SAMPLE


def _expected():
    lines = (ROOT / "fixtures" / "sample_app.expected").read_text().split("\n")
    found = set()
    for line in lines:
        if line.strip():
            location, code = line.split()
            path, number = location.rsplit(":", 1)
            found.add((path, int(number), code))
    return found


def _cli_findings(monkeypatch):
    monkeypatch.chdir(SAMPLE)
    result = CliRunner().invoke(cli, ["check", ".", "--format", "json", "--jobs", "1"])
    assert result.exit_code == 1, result.output
    return json.loads(result.output)


def test_cli_finds_exactly_the_expected_diagnostics(monkeypatch):
    records = _cli_findings(monkeypatch)
    assert {(r["path"], r["line"], r["code"]) for r in records} == _expected()


def test_every_rule_fires_on_the_sample_project(monkeypatch):
    from dao_lint.rules.base import registry

    codes = {code for _, _, code in _expected()}
    assert {code for code, rule in registry.items() if rule.default_enabled} <= codes


def test_opt_in_rules_stay_off_unless_selected(monkeypatch):
    from dao_lint.rules.base import registry

    opt_in = sorted(code for code, rule in registry.items() if not rule.default_enabled)
    assert opt_in == ["DAO111"]
    monkeypatch.chdir(SAMPLE)
    default = json.loads(CliRunner().invoke(cli, ["check", ".", "--format", "json", "--jobs", "1"]).output)
    assert not any(r["code"] in opt_in for r in default)
    selected = CliRunner().invoke(cli, ["check", ".", "--format", "json", "--jobs", "1", "--extend-select", "DAO111"])
    found = {(r["path"], r["line"]) for r in json.loads(selected.output) if r["code"] == "DAO111"}
    assert found == {("blog/services/featuring.py", 13)}


def test_parallel_run_gives_the_same_result(monkeypatch):
    monkeypatch.chdir(SAMPLE)
    one = CliRunner().invoke(cli, ["check", ".", "--format", "json", "--jobs", "1"])
    # enough files for the process pool: the sample project twice over, by explicit paths
    files = sorted(str(p.relative_to(SAMPLE)) for p in SAMPLE.rglob("*.py"))
    two = CliRunner().invoke(cli, ["check", *files, "--format", "json", "--jobs", "2"])
    assert len(files) >= 16
    assert json.loads(one.output) == json.loads(two.output)


def test_flake8_plugin_agrees_with_the_cli_line_for_line(monkeypatch):
    records = _cli_findings(monkeypatch)
    cli_lines = sorted(f"./{r['path']}:{r['line']}:{r['column']}: {r['code']} {r['message']}" for r in records)
    run = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "DAO", "."],
        cwd=SAMPLE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    flake8_lines = sorted(line for line in run.stdout.splitlines() if line.strip())
    assert flake8_lines == cli_lines


def test_dao_lint_is_clean_on_its_own_source():
    from dao_lint.api import lint_paths
    from dao_lint.foundations.config import ConfigResolver

    results = lint_paths([str(ROOT / "dao_lint")], ConfigResolver(), jobs=1)
    assert [d for r in results for d in r.diagnostics] == []
    assert len(results) > 10


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    assert readme.count("```sh\npython3 -m venv") == 2
    assert command in readme and command in ci


def test_flake8_with_its_own_workers_and_no_cache_yet_agrees_with_the_cli(tmp_path):
    """flake8's default run: several worker processes (daemonic: they may not start any), the
    project never checked before. The plugin fills the cache once and every worker reads it;
    nothing crashes, and the findings are the CLI's."""
    import shutil

    copy = tmp_path / "app"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns(".dao_lint_cache", "__pycache__"))
    for number in range(20):  # modules no rule can match: never cached, so checked again when asked
        (copy / "blog" / f"plain_{number}.py").write_text(f"VALUE = {number}\n")
    run = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "DAO", "-j", "2", "."], cwd=copy, capture_output=True, text=True, check=False
    )
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    flake8_lines = sorted(line for line in run.stdout.splitlines() if line.strip())
    check = subprocess.run(
        [sys.executable, "-m", "dao_lint", "check", ".", "--format", "json", "--no-cache"], cwd=copy, capture_output=True, text=True, check=False
    )
    records = json.loads(check.stdout)
    assert flake8_lines == sorted(f"./{r['path']}:{r['line']}:{r['column']}: {r['code']} {r['message']}" for r in records)


def _counts(summary_line):
    """(safe, unsafe) from `Found N problems in M files (a may be fixed by ..., b more ...)`."""
    import re

    safe = re.search(r"(\d+) may be fixed by `dao-lint fix`", summary_line)
    unsafe = re.search(r"(\d+) (?:more with `--unsafe-fixes`|may be fixed by `dao-lint fix --unsafe-fixes`)", summary_line)
    return (int(safe.group(1)) if safe else 0, int(unsafe.group(1)) if unsafe else 0)


def _fixed(stderr):
    """code -> count from a fix run's `would fix: DAO101 x2, ... in N file(s)`."""
    listed = stderr.split("would fix: ", 1)[1].split(" in ", 1)[0]
    return {} if listed == "nothing" else {c.split(" x")[0]: int(c.split(" x")[1]) for c in listed.split(", ")}


def test_on_the_sample_app_check_promises_what_fix_does(tmp_path, monkeypatch):
    # issue 20: the summary's "may be fixed", the JSON's `fix` flags, a cold, a warm and a
    # --no-cache check, and `fix --diff` with and without --unsafe-fixes all agree
    import shutil

    copy = tmp_path / "sample_app"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns(".dao_lint_cache"))
    monkeypatch.chdir(copy)
    runner = CliRunner()
    cold = runner.invoke(cli, ["check", ".", "--jobs", "1"]).output
    warm = runner.invoke(cli, ["check", ".", "--jobs", "1"]).output
    plain = runner.invoke(cli, ["check", ".", "--jobs", "1", "--no-cache"]).output
    assert cold == warm == plain
    records = json.loads(runner.invoke(cli, ["check", ".", "--jobs", "1", "--format", "json"]).output)
    safe = {}
    every = {}
    for record in records:
        if record["fix"] == "safe":
            safe[record["code"]] = safe.get(record["code"], 0) + 1
        if record["fix"] in ("safe", "unsafe"):
            every[record["code"]] = every.get(record["code"], 0) + 1
    assert _counts(cold.strip().splitlines()[-1]) == (sum(safe.values()), sum(every.values()) - sum(safe.values()))
    assert safe and every != safe  # (the sample has both kinds)
    assert _fixed(runner.invoke(cli, ["fix", ".", "--diff", "--jobs", "1"]).stderr) == safe
    assert _fixed(runner.invoke(cli, ["fix", ".", "--diff", "--jobs", "1", "--unsafe-fixes"]).stderr) == every
