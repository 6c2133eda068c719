"""Faults: interrupted and concurrent fixes, unwritable files, links, huge files, crashes
while the cache or a report is being written. No file is ever left half-written."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dao_lint.frontends.cli import cli
from .conftest import cli_runner

LOOP = """\
def create_all(session, items):
    for item in items:
        session.add(item)
"""
FIXED = """\
def create_all(session, items):
    session.add_all(items)
"""


def make_tree(root, count=40):
    (root / "app" / "daos").mkdir(parents=True)
    for number in range(count):
        (root / "app" / "daos" / f"dao_{number:03}.py").write_text(f"# module {number}\n" + LOOP)
    return sorted((root / "app" / "daos").glob("*.py"))


def is_old_or_new(path):
    text = path.read_text()
    return text in (f"# module {int(path.stem[4:])}\n" + LOOP, f"# module {int(path.stem[4:])}\n" + FIXED)


def dao_lint(*args, cwd, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "dao_lint", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs
    )


def leftovers(root):
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files if f.endswith(".tmp")]


@pytest.mark.parametrize("signum, delay", [(signal.SIGINT, 0.4), (signal.SIGTERM, 0.8), (signal.SIGINT, 1.3), (signal.SIGTERM, 2.0)])
def test_an_interrupted_fix_leaves_every_file_old_or_new(tmp_path, signum, delay):
    files = make_tree(tmp_path)
    process = dao_lint("fix", "app", "--no-cache", "--jobs", "2", cwd=tmp_path)
    time.sleep(delay)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    seen = f"exit {process.returncode}, stderr:\n{stderr}"
    assert all(is_old_or_new(path) for path in files), seen
    assert leftovers(tmp_path) == [], seen
    assert process.returncode in (0, 1, 130, -signum), seen
    if "Traceback" in stderr:
        # only Python's own report of an interrupt that landed in its code (while starting:
        # site, an editable install's `__editable___dao_lint_..._finder`, the package's
        # two-line `__init__`; or while exiting), never one from dao-lint's own code
        assert "KeyboardInterrupt" in stderr and _dao_lint_frames(stderr) <= _STARTING, seen
    if process.returncode == -signum:  # outside dao-lint's code: nothing or everything written
        assert len({path.read_text().endswith(FIXED) for path in files}) == 1, seen
    if process.returncode == 130:
        assert "dao-lint: interrupted" in stderr, seen


_STARTING = {"__init__.py", "version.py"}


def _dao_lint_frames(stderr):
    """The files of dao-lint's package that a traceback passes through."""
    import re

    return {match.group(1).replace("\\", "/") for match in re.finditer(r'File "[^"]*[/\\]dao_lint[/\\]([^"]+)"', stderr)}


def test_an_interrupt_between_two_writes_keeps_both_sides_whole(in_tmp, monkeypatch):
    files = make_tree(in_tmp, count=10)
    from dao_lint.fix import fixer

    real, written = fixer.write_atomic, []

    def write_then_stop(path, data, **kwargs):
        if len(written) == 4:
            raise KeyboardInterrupt
        real(path, data, **kwargs)
        written.append(path)

    monkeypatch.setattr(fixer, "write_atomic", write_then_stop)
    result = cli_runner().invoke(cli, ["fix", "app", "--jobs", "1", "--no-cache"])
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert sum(path.read_text().endswith(FIXED) for path in files) == 4
    assert all(is_old_or_new(path) for path in files)


def interrupt_renames_to(monkeypatch, suffix):
    """Make the final rename of an atomic write to a file ending in `suffix` be interrupted."""
    real = os.replace

    def interrupted(source, target):
        if str(target).endswith(suffix):
            raise KeyboardInterrupt
        return real(source, target)

    monkeypatch.setattr(os, "replace", interrupted)


def test_an_interrupt_inside_a_write_leaves_the_old_file_and_no_temporary(in_tmp, monkeypatch):
    files = make_tree(in_tmp, count=3)
    interrupt_renames_to(monkeypatch, ".py")
    result = cli_runner().invoke(cli, ["fix", "app", "--jobs", "1", "--no-cache"])
    assert result.exit_code == 130
    assert all(path.read_text().endswith(LOOP) for path in files)
    assert [name for name in os.listdir(in_tmp / "app" / "daos") if not name.endswith(".py")] == []


def test_two_fixes_at_once_do_not_corrupt_files(tmp_path):
    files = make_tree(tmp_path, count=60)
    first = dao_lint("fix", "app", "--jobs", "1", cwd=tmp_path)
    second = dao_lint("fix", "app", "--jobs", "1", cwd=tmp_path)
    outputs = [process.communicate(timeout=300) for process in (first, second)]
    assert all("Traceback" not in err for _, err in outputs)
    assert {first.returncode, second.returncode} <= {0}
    assert all(path.read_text().endswith(FIXED) for path in files)
    assert leftovers(tmp_path) == []


def test_an_unwritable_file_is_reported_and_the_rest_is_fixed(in_tmp, monkeypatch):
    files = make_tree(in_tmp, count=4)
    from dao_lint.fix import fixer

    real = fixer.write_atomic

    def refuse(path, data, **kwargs):
        if path.endswith("dao_001.py"):
            raise PermissionError(13, "Permission denied", path)
        return real(path, data, **kwargs)

    monkeypatch.setattr(fixer, "write_atomic", refuse)
    result = cli_runner().invoke(cli, ["fix", "app", "--jobs", "1", "--no-cache"])
    assert result.exit_code == 2
    assert "dao_001.py: not fixed: cannot write: Permission denied" in result.stdout
    assert [path.read_text().endswith(FIXED) for path in files] == [True, False, True, True]


def test_an_unwritable_cache_still_gives_results(in_tmp, monkeypatch):
    make_tree(in_tmp, count=2)
    from dao_lint.running import cache

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cache, "write_atomic", refuse)
    result = cli_runner().invoke(cli, ["check", "app", "--format", "json", "--jobs", "1"])
    assert result.exit_code == 1 and {r["code"] for r in json.loads(result.stdout)} == {"DAO701"}


def test_links_are_not_followed(in_tmp):
    make_tree(in_tmp, count=1)
    (in_tmp / "elsewhere").mkdir()
    (in_tmp / "elsewhere" / "dao.py").write_text(LOOP)
    os.symlink(in_tmp / "app", in_tmp / "app" / "loop")  # a directory loop
    os.symlink(in_tmp / "elsewhere" / "dao.py", in_tmp / "app" / "daos" / "linked.py")  # out of the tree
    result = cli_runner().invoke(cli, ["check", "app", "--format", "json", "--jobs", "1", "--no-cache"])
    assert result.exit_code == 1
    assert {r["path"] for r in json.loads(result.stdout)} == {"app/daos/dao_000.py"}


def test_fixing_a_file_named_through_a_link_keeps_the_link(in_tmp):
    (in_tmp / "real.py").write_text(LOOP)
    os.symlink(in_tmp / "real.py", in_tmp / "link.py")
    assert cli_runner().invoke(cli, ["fix", "link.py", "--jobs", "1", "--no-cache"]).exit_code in (0, 1)  # DAO201 is left
    assert os.path.islink(in_tmp / "link.py") and (in_tmp / "real.py").read_text() == FIXED


def test_a_10_mb_file_is_answered_quickly_and_the_run_goes_on(tmp_path):
    make_tree(tmp_path, count=1)
    block = "".join(f"def f{n}(session, items):\n    for item in items:\n        session.add(item)\n\n\n" for n in range(200))
    big = tmp_path / "app" / "generated.py"
    with open(big, "w") as handle:
        while handle.tell() < 10 * 1024 * 1024:
            handle.write(block)
    process = dao_lint("check", "app", "--format", "json", "--no-cache", "--jobs", "1", cwd=tmp_path)
    stdout, stderr = process.communicate(timeout=120)  # a hang guard, not a benchmark
    found = {(r["path"], r["code"]) for r in json.loads(stdout)}
    assert ("app/generated.py", "DAO002") in found and ("app/daos/dao_000.py", "DAO701") in found
    message = next(r["message"] for r in json.loads(stdout) if r["code"] == "DAO002")
    assert "max-file-size" in message


def test_the_output_file_is_replaced_whole(in_tmp, monkeypatch):
    make_tree(in_tmp, count=1)
    (in_tmp / "report.json").write_text("previous report\n")
    interrupt_renames_to(monkeypatch, "report.json")
    cli_runner().invoke(cli, ["check", "app", "--format", "json", "-o", "report.json", "--jobs", "1"])
    assert (in_tmp / "report.json").read_text() == "previous report\n"
    assert [name for name in os.listdir(in_tmp) if name.startswith(".dao-lint-")] == []


def _children(pid):
    """The processes `pid` started (Linux: /proc lists them)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _assert_gone(pids, within=10.0):
    """Every one of `pids` has exited (orphans: init reaps them) within `within` seconds."""
    deadline = time.monotonic() + within
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _running(pid)]
        time.sleep(0.1)
    assert alive == [], f"worker processes left running after their check was killed: {alive}"


def _wait_for_workers(process, within=120.0):
    """The worker processes of a running check, once it has started them (polled for, with a
    generous deadline: a loaded machine may take long to get there)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = _children(process.pid)
        if found or process.poll() is not None:
            return found  # (none: it ended without them)
        time.sleep(0.02)
    raise AssertionError(f"no worker process within {within} s")


def _running(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # (a zombie has exited)


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc to find the worker processes")
def test_a_check_killed_while_writing_its_cache_leaves_a_usable_cache(tmp_path):
    make_tree(tmp_path, count=120)
    expected = subprocess.run(
        [sys.executable, "-m", "dao_lint", "check", "app", "--format", "json", "--no-cache"], cwd=tmp_path, capture_output=True, text=True
    ).stdout
    for later in (0.0, 0.3, 0.6):
        process = dao_lint("check", "app", "--format", "json", "--jobs", "2", cwd=tmp_path)
        workers = _wait_for_workers(process)  # (a state polled for, whatever the machine's speed)
        # the first run has nothing cached: it starts workers; a later one may answer from
        # what an earlier one wrote before it was killed
        assert workers or later, "a cold check ended without starting its workers"
        time.sleep(later)  # then killed at different points of the run (no outcome depends on it)
        workers = sorted(set(workers) | set(_children(process.pid)))
        process.kill()
        process.wait()
        _assert_gone(workers)
    again = subprocess.run([sys.executable, "-m", "dao_lint", "check", "app", "--format", "json"], cwd=tmp_path, capture_output=True, text=True)
    assert again.stdout == expected and "Traceback" not in again.stderr
    shutil.rmtree(tmp_path / ".dao_lint_cache")


def test_python_m_dao_lint_imports_its_work_inside_the_interrupt_handler():
    """`python -m dao_lint` imports the package before `__main__` can catch an interrupt: the
    package itself must import nothing heavy, so that Ctrl-C while starting ends with
    "dao-lint: interrupted", not a traceback through dao-lint's modules."""
    probe = "import sys, dao_lint; print(sorted(m for m in sys.modules if m.startswith('dao_lint')))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "['dao_lint', 'dao_lint.version']"
    # the public names are still there, imported on first use
    use = "import dao_lint; print(dao_lint.lint_source('x = 1'), dao_lint.Span.__name__)"
    assert subprocess.run([sys.executable, "-c", use], capture_output=True, text=True, check=True).stdout.strip() == "[] Span"
