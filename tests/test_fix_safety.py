"""`dao-lint fix` never loses a byte: encodings, BOM, newlines, modes, --diff, races, bad files."""
import os
import stat

import pytest
from click.testing import CliRunner

from dao_lint.frontends.cli import cli

DAO = (
    "class ChartDAO:\n"
    "    @classmethod\n"
    "    def create(cls, chart):\n"
    "        db.session.add(chart)  # naïve comment\n"
    "        db.session.commit()\n"
)
FIXED = (
    "class ChartDAO:\n"
    "    @classmethod\n"
    "    def create(cls, chart):\n"
    "        with db.session.begin_nested():\n"
    "            db.session.add(chart)  # naïve comment\n"
)


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# the DAO's one caller commits after it, so its commit may go
COMMAND = (
    "from app.daos.chart import ChartDAO\n"
    "\n"
    "\n"
    "class CreateChartCommand:\n"
    "    def run(self, chart):\n"
    "        ChartDAO.create(chart)\n"
    "        db.session.commit()\n"
)


@pytest.fixture
def project(in_tmp):
    (in_tmp / "app" / "daos").mkdir(parents=True)
    (in_tmp / "app" / "commands").mkdir(parents=True)
    (in_tmp / "app" / "commands" / "create.py").write_text(COMMAND)
    return in_tmp


def test_fix_rewrites_and_a_second_run_is_a_no_op(project):
    target = project / "app" / "daos" / "chart.py"
    target.write_text(DAO, encoding="utf-8")
    result = run("fix", "app")
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == FIXED
    assert "fixed: DAO101 x1 in 1 file(s)" in result.output and "no findings left" in result.output
    again = run("fix", "app", "--diff")
    assert again.exit_code == 0 and "nothing in 0 file(s)" in again.output


def test_diff_writes_nothing_and_exits_1(project):
    target = project / "app" / "daos" / "chart.py"
    target.write_text(DAO)
    before = os.stat(target)
    result = run("fix", "app", "--diff")
    assert result.exit_code == 1
    assert "-        db.session.commit()" in result.output
    assert "+        with db.session.begin_nested():" in result.output
    assert result.output.index("--- a/app/daos/chart.py") < result.output.index("+++ b/app/daos/chart.py")
    assert target.read_text() == DAO
    assert os.stat(target).st_mtime_ns == before.st_mtime_ns
    assert sorted(os.listdir(target.parent)) == ["chart.py"]  # no temporary files left


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.encode("utf-8"), id="utf-8"),
        pytest.param(lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"), id="bom"),
        pytest.param(lambda text: text.replace("\n", "\r\n").encode("utf-8"), id="crlf"),
        pytest.param(lambda text: ("# -*- coding: latin-1 -*-\n" + text).encode("latin-1"), id="latin-1"),
    ],
)
def test_encoding_bom_and_newlines_are_kept(project, encode):
    target = project / "app" / "daos" / "chart.py"
    target.write_bytes(encode(DAO))
    assert run("fix", "app").exit_code == 0
    assert target.read_bytes() == encode(FIXED)


def test_permissions_are_kept(project):
    target = project / "app" / "daos" / "chart.py"
    target.write_text(DAO)
    os.chmod(target, 0o750)
    assert run("fix", "app").exit_code == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o750
    assert target.read_text() == FIXED


def test_files_with_syntax_errors_are_not_touched(project):
    broken = project / "app" / "daos" / "broken.py"
    broken.write_text("class ChartDAO:\n    def create(cls:\n        db.session.commit()\n")
    good = project / "app" / "daos" / "chart.py"
    good.write_text(DAO)
    result = run("fix", "app")
    assert broken.read_text().startswith("class ChartDAO:\n    def create(cls:")
    assert good.read_text() == FIXED
    assert "app/daos/broken.py: skipped: does not parse; not touched" in result.output


def test_a_file_changed_on_disk_meanwhile_is_not_overwritten(project, monkeypatch):
    from dao_lint.fix import fixer

    target = project / "app" / "daos" / "chart.py"
    target.write_text(DAO)
    original = fixer._fix_one

    def edit_then_fix(item):
        target.write_text(DAO + "# edited by someone else\n")
        return original(item)

    monkeypatch.setattr(fixer, "_fix_one", edit_then_fix)
    result = run("fix", "app", "--jobs", "1")
    assert result.exit_code == 2
    assert "changed on disk while fixing; not touched" in result.output
    assert target.read_text().endswith("# edited by someone else\n")


def test_rewrites_that_do_not_converge_leave_the_file_alone(project, monkeypatch):
    from dao_lint.fix import fixer

    target = project / "app" / "daos" / "chart.py"
    target.write_text(DAO)

    def grow(module, context, engines, literal):
        import libcst as cst

        return module.with_changes(body=[*module.body, cst.parse_statement("x = 1\n")]), ["x"]

    monkeypatch.setattr(fixer, "add_sqlite_listeners", grow)
    original = fixer._transform

    def transform(source, path, config, plan, own_fixes=True):
        plan.sqlite[path] = {"engine"}
        return original(source, path, config, plan, own_fixes)

    monkeypatch.setattr(fixer, "_transform", transform)
    result = run("fix", "app", "--jobs", "1")
    assert result.exit_code == 2
    assert "did not converge" in result.output
    assert target.read_text() == DAO


def test_a_fix_that_would_not_compile_is_refused(project, monkeypatch):
    from dao_lint.fix import fixer

    target = project / "app" / "daos" / "chart.py"
    target.write_text(DAO)
    monkeypatch.setattr(fixer, "_transform", lambda source, path, config, plan, own_fixes=True: (b"def broken(:\n", {}))
    result = run("fix", "app", "--jobs", "1")
    assert result.exit_code == 2
    assert "would not parse" in result.output
    assert target.read_text() == DAO


def test_select_and_ignore_limit_the_fixes(project):
    target = project / "app" / "daos" / "chart.py"
    target.write_text(DAO)
    assert run("fix", "app", "--ignore", "DAO101", "--diff").exit_code == 0
    assert run("fix", "app", "--select", "DAO101", "--diff").exit_code == 1


@pytest.mark.parametrize("options", [[], ["--unsafe-fixes"], ["--unsafe-fixes", "--no-cache"]])
def test_the_diff_preview_reports_what_the_run_does(tmp_path, monkeypatch, options):
    """`fix --diff` and `fix`: the same counts, the same kept commits, the same boundaries to
    declare, the same findings left (only the verb differs)."""
    import shutil

    from .conftest import SAMPLE

    reports = []
    for mode in (["--diff"], []):
        copy = tmp_path / ("preview" if mode else "real")
        shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns(".dao_lint_cache", "__pycache__"))
        monkeypatch.chdir(copy)
        result = CliRunner().invoke(cli, ["fix", ".", "--jobs", "1", *options, *mode], catch_exceptions=False)
        assert result.exit_code in (0, 1), result.output
        summary = result.output[result.output.index("would fix:" if mode else "fixed:"):]
        reports.append(summary.replace("would fix:", "fixed:", 1))
    preview, real = reports
    assert "kept" in real and "findings left:" in real
    assert preview == real


def test_fix_touches_only_the_named_files_and_lists_what_a_cross_file_fix_needs(tmp_path, monkeypatch):
    import shutil

    from .conftest import SAMPLE

    copy = tmp_path / "app"
    shutil.copytree(SAMPLE, copy, ignore=shutil.ignore_patterns(".dao_lint_cache", "__pycache__"))
    monkeypatch.chdir(copy)
    before = {p: p.read_bytes() for p in copy.rglob("*.py")}

    def changed():
        return sorted(str(p.relative_to(copy)) for p in copy.rglob("*.py") if p.read_bytes() != before[p])

    # a one-file fix (DAO109's `with` in the job): nothing else moves, though other files have fixes too
    one = CliRunner().invoke(cli, ["fix", "blog/jobs.py", "--jobs", "1"], catch_exceptions=False)
    assert changed() == ["blog/jobs.py"], one.output
    assert "also changed" not in one.output
    # dropping a DAO's commit flag rewrites its call sites in other files: they change, and are listed
    flags = CliRunner().invoke(cli, ["fix", "blog/daos/base.py", "--unsafe-fixes", "--jobs", "1"], catch_exceptions=False)
    others = [p for p in changed() if p not in ("blog/jobs.py", "blog/daos/base.py")]
    assert "blog/daos/base.py" in changed() and others, flags.output
    listed = flags.output.split("also changed", 1)[1].split("findings left")[0]
    assert all(p in listed for p in others), flags.output


def test_the_diff_on_stdout_is_a_patch_git_applies(tmp_path):
    """`fix --diff > change.patch` then `git apply change.patch` gives what `fix` writes:
    the summary goes to stderr, the patch alone to stdout."""
    import shutil
    import subprocess
    import sys

    from .conftest import SAMPLE

    copies = {}
    for name in ("patched", "fixed"):
        copies[name] = tmp_path / name
        shutil.copytree(SAMPLE, copies[name], ignore=shutil.ignore_patterns(".dao_lint_cache", "__pycache__"))
    patched = copies["patched"]
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x"]):
        subprocess.run(["git", *command], cwd=patched, check=True)
    preview = subprocess.run([sys.executable, "-m", "dao_lint", "fix", ".", "--diff", "--no-cache"], cwd=patched, capture_output=True, text=True)
    assert preview.returncode == 1, preview.stderr
    assert preview.stdout.startswith("--- a/") and "would fix:" in preview.stderr and "would fix" not in preview.stdout
    (tmp_path / "change.patch").write_text(preview.stdout)
    applied = subprocess.run(["git", "apply", str(tmp_path / "change.patch")], cwd=patched, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    subprocess.run([sys.executable, "-m", "dao_lint", "fix", ".", "--no-cache"], cwd=copies["fixed"], capture_output=True, check=False)
    for path in sorted(copies["fixed"].rglob("*.py")):
        relative = path.relative_to(copies["fixed"])
        assert (patched / relative).read_bytes() == path.read_bytes(), relative
