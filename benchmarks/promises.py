"""What `check` promises and what `fix` does, on every project of the ecosystem set (issue 20):
the text summary's "may be fixed", the JSON's `fixable`/`fix` flags, a cold `check` (it
writes the cache), a `check --no-cache` and `fix --diff` (with and without
`--unsafe-fixes`) must agree, per code. Then the fixes are applied to a copy and `check`
must show every promised finding gone and promise nothing more, and a second `fix` must
change nothing.

Usage:  python benchmarks/promises.py [--work DIR] [--only NAME ...] [--jobs N]

Runs the command line as users do, in fresh copies (never committed). Exit 1 on any
disagreement. Not a test: CI never runs it (the test suite checks the same on the sample
app, tests/test_cli.py and tests/test_fix_behaviour.py).
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from projects import PROJECTS, prepare  # noqa: E402

CHECKED = ["superset", "flask-appbuilder", "flaskbb", "flask-security", "fastapi-users-db", "mlflow", "optuna", "airflow",
           "sqlmodel", "sqlalchemy-utils", "ckan", "fastapi-crudrouter", "open-webui", "zou"]
_SUMMARY = re.compile(r"\((?:(\d+) may be fixed by `dao-lint fix`)?(?:, )?(?:(\d+) (?:more with `--unsafe-fixes`|may be fixed by `dao-lint fix --unsafe-fixes`))?\)")
_FIXED = re.compile(r"(?:would fix|fixed): (.*) in \d+ file")


def dao_lint(copy: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "dao_lint", *args], cwd=copy, capture_output=True, text=True)
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:
        raise SystemExit(f"dao-lint {' '.join(args)} failed in {copy}:\n{done.stderr[-2000:]}")
    return done


def summary_counts(output: str) -> tuple:
    last = output.strip().splitlines()[-1] if output.strip() else ""
    found = _SUMMARY.search(last)
    if found is None:
        return (0, 0)
    return (int(found.group(1) or 0), int(found.group(2) or 0))


def fixed_counts(output: str) -> collections.Counter:
    """The per-code counts of a `fix` run's summary (`would fix: DAO101 x2, ...`)."""
    found = _FIXED.search(output)
    counts: collections.Counter = collections.Counter()
    if found is None or found.group(1) == "nothing":
        return counts
    for part in found.group(1).split(", "):
        code, _, number = part.partition(" x")
        counts[code] = int(number)
    return counts


def one(work: Path, name: str, jobs: str) -> list:
    packages = PROJECTS[name][1]
    copy = prepare(work, name, work / "copies" / f"promises-{name}")
    problems = []
    cold = dao_lint(copy, "check", *packages, "--jobs", jobs)
    plain = dao_lint(copy, "check", *packages, "--jobs", jobs, "--no-cache")
    warm = dao_lint(copy, "check", *packages, "--jobs", jobs)
    records = json.loads(dao_lint(copy, "check", *packages, "--jobs", jobs, "--format", "json").stdout)
    promised = {kind: collections.Counter(r["code"] for r in records if r["fix"] == kind) for kind in ("safe", "unsafe")}
    said = summary_counts(cold.stdout)
    for label, run in (("--no-cache", plain), ("warm", warm)):
        if run.stdout != cold.stdout:
            problems.append(f"check {label} differs from a cold check")
    if said != (sum(promised["safe"].values()), sum(promised["unsafe"].values())):
        problems.append(f"summary says {said}, JSON marks {dict(promised['safe'])} safe, {dict(promised['unsafe'])} unsafe")
    safe = fixed_counts(dao_lint(copy, "fix", *packages, "--jobs", jobs, "--diff").stderr)  # (the patch alone on stdout)
    if safe != promised["safe"]:
        problems.append(f"fix --diff fixes {dict(safe)}, check promised {dict(promised['safe'])}")
    every = promised["safe"] + promised["unsafe"]
    unsafe = fixed_counts(dao_lint(copy, "fix", *packages, "--jobs", jobs, "--diff", "--unsafe-fixes").stderr)
    if unsafe != every:
        problems.append(f"fix --diff --unsafe-fixes fixes {dict(unsafe)}, check promised {dict(every)}")
    done = dao_lint(copy, "fix", *packages, "--jobs", jobs, "--unsafe-fixes")
    applied = fixed_counts(done.stdout + done.stderr)
    if applied != every:
        problems.append(f"fix --unsafe-fixes fixed {dict(applied)}, check promised {dict(every)}")
    after = dao_lint(copy, "check", *packages, "--jobs", jobs)
    if summary_counts(after.stdout) != (0, 0):
        problems.append(f"after the fix, check still promises: {after.stdout.strip().splitlines()[-1]}")
    again = dao_lint(copy, "fix", *packages, "--jobs", jobs, "--diff", "--unsafe-fixes")
    if again.stdout.strip():
        problems.append("a second fix would change: " + ", ".join(sorted(set(re.findall(r"^\+\+\+ b/(\S+)", again.stdout, re.M)))))
    print(f"{name}: promised safe {dict(promised['safe'])}, unsafe {dict(promised['unsafe'])}; fixed {dict(applied)}"
          + ("" if not problems else "\n  " + "\n  ".join(problems)), flush=True)
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dao-lint-eco")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--jobs", default="2")
    args = parser.parse_args()
    failed = 0
    for name in args.only or CHECKED:
        failed += bool(one(args.work, name, args.jobs))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
