"""Real-world stress run: check and fix large projects from the package index (issue 7).

Usage:  python benchmarks/stress.py [--work DIR] [--jobs N] [--only NAME ...]

For each project: download it (cached in DIR), unpack its Python sources, then
  1. `dao-lint check` (files, findings per code, internal errors DAO000),
  2. on a fresh copy: `dao-lint fix --unsafe-fixes --diff` (must write nothing),
  3. `dao-lint fix --unsafe-fixes` (files changed), then compile every changed file,
  4. `dao-lint fix --unsafe-fixes --diff` again (a file it would still change is not
     idempotent),
and print a table: files, findings, internal errors, changed, not compiling, not
idempotent, seconds. Not a test: CI never runs it; docs/reliability.md quotes its output.
"""
from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from projects import PROJECTS, fetch  # noqa: E402

STRESSED = ["superset", "airflow", "flask-appbuilder", "sqlalchemy", "sqlalchemy-utils", "django"]


def dao_lint(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dao_lint", *args], cwd=cwd, capture_output=True, text=True)


def digests(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*.py")}


def stress(work: Path, name: str, jobs: str) -> dict:
    source = fetch(work, name)
    row: dict = {"project": name}
    start = time.perf_counter()
    checked = dao_lint("check", ".", "--format", "json", "--no-cache", "--jobs", jobs, cwd=source)
    row["check s"] = time.perf_counter() - start
    findings = json.loads(checked.stdout or "[]")
    row["files"] = sum(1 for _ in source.rglob("*.py"))
    row["findings"] = len(findings)
    row["codes"] = dict(sorted(collections.Counter(f["code"] for f in findings).items()))
    row["internal errors"] = sum(1 for f in findings if f["code"] == "DAO000") + ("Traceback" in checked.stderr)
    copy = work / "copies" / name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy)
    before = digests(copy)
    start = time.perf_counter()
    diff = dao_lint("fix", ".", "--unsafe-fixes", "--diff", "-q", "--jobs", jobs, cwd=copy)
    row["diff wrote"] = sum(1 for k, v in digests(copy).items() if before.get(k) != v)
    fixed = dao_lint("fix", ".", "--unsafe-fixes", "-q", "--jobs", jobs, cwd=copy)
    row["fix s"] = time.perf_counter() - start
    after = digests(copy)
    changed = [k for k, v in after.items() if before.get(k) != v]
    row["changed"] = len(changed)
    broken = 0
    for relative in changed:
        try:
            compile((copy / relative).read_bytes(), relative, "exec", dont_inherit=True)
        except SyntaxError:
            broken += 1
    row["not compiling"] = broken
    again = dao_lint("fix", ".", "--unsafe-fixes", "--diff", "-q", "--jobs", jobs, cwd=copy)
    row["not idempotent"] = sum(1 for line in again.stdout.splitlines() if line.startswith("+++ b/"))
    row["internal errors"] += sum("Traceback" in p.stderr for p in (diff, fixed, again))
    row["fix errors"] = sum(1 for line in fixed.stdout.splitlines() if ": not fixed:" in line)
    shutil.rmtree(copy, ignore_errors=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dao-lint-stress")
    parser.add_argument("--jobs", default=str(os.cpu_count() or 1))
    parser.add_argument("--only", nargs="*", choices=sorted(PROJECTS))
    args = parser.parse_args()
    rows = [stress(args.work, name, args.jobs) for name in (args.only or STRESSED)]
    columns = ["project", "files", "findings", "internal errors", "changed", "not compiling", "not idempotent", "fix errors", "diff wrote", "check s", "fix s"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{row[c]:.1f}" if isinstance(row[c], float) else str(row[c]) for c in columns) + " |")
    print()
    for row in rows:
        print(f"{row['project']}: {row['codes']}")


if __name__ == "__main__":
    main()
