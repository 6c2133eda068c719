"""The ecosystem check: `dao-lint check` on pinned real projects, compared with a committed
snapshot of their findings (one line per finding: path, line, code), the way ruff reviews
its ecosystem diff on every change. A rule change shows its real-world diff here; read it
by hand before resolving the change (docs/accuracy.md keeps the judgements).

Usage:  python benchmarks/ecosystem.py [--work DIR] [--only NAME ...] [--jobs N] [--update]
                                       [--show CODE] [--context N]

Exit 1 when the findings differ from the snapshot (without --update). --show CODE prints
every finding of that code with a few lines of source around it, for reading. Downloads go
to the work directory (never committed); the snapshot lives in benchmarks/ecosystem/*.txt.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from projects import CONFIGS, PROJECTS, prepare  # noqa: E402

CHECKED = [
    "superset", "airflow", "flask-appbuilder", "flaskbb", "flask-security", "fastapi-users-db",
    "mlflow", "optuna", "ckan", "sqlmodel", "sqlalchemy-utils", "fastapi-crudrouter", "open-webui", "zou",
]


def findings(work: Path, name: str, jobs: int) -> list:
    """[(path, line, code, message)] of `dao-lint check` on a fresh copy of the project."""
    copy = prepare(work, name, work / "copies" / f"ecosystem-{name}")
    done = subprocess.run(
        [sys.executable, "-m", "dao_lint", "check", ".", "--format", "json", "--no-cache", "--jobs", str(jobs)],
        cwd=copy, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(HERE.parent)},
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"{name}: dao-lint check failed ({done.returncode}):\n{done.stderr}")
    records = json.loads(done.stdout or "[]")
    # one root cause, one finding: never two of one code at one place
    twice = [key for key, n in collections.Counter((r["path"], r["line"], r["column"], r["code"]) for r in records).items() if n > 1]
    for path, line, column, code in twice:
        print(f"  ! {path}:{line}:{column} {code} reported twice")
    if twice:
        raise SystemExit(f"{name}: the same finding reported twice")
    return sorted((r["path"], r["line"], r["code"], r["message"]) for r in records)


def snapshot_path(name: str) -> Path:
    return CONFIGS / f"{name}.txt"


def show(work: Path, name: str, rows: list, code: str, context: int) -> None:
    copy = work / "copies" / f"ecosystem-{name}"
    for path, line, found, message in rows:
        if found != code:
            continue
        lines = (copy / path).read_text(errors="replace").splitlines()
        print(f"--- {name}: {path}:{line} {found} {message}")
        for number in range(max(1, line - context), min(len(lines), line + context) + 1):
            print(f"{'>' if number == line else ' '} {number:5} {lines[number - 1]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dao-lint-eco")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", nargs="*", choices=sorted(PROJECTS))
    parser.add_argument("--update", action="store_true", help="rewrite the snapshot")
    parser.add_argument("--show", metavar="CODE", help="print each finding of CODE in its source")
    parser.add_argument("--context", type=int, default=4)
    args = parser.parse_args()
    changed = False
    totals: collections.Counter = collections.Counter()
    for name in args.only or CHECKED:
        rows = findings(args.work, name, args.jobs)
        lines = [f"{path}:{line} {code}" for path, line, code, _ in rows]
        counts = collections.Counter(code for _, _, code, _ in rows)
        totals.update(counts)
        print(f"{name}: {len(rows)} findings " + " ".join(f"{c}={n}" for c, n in sorted(counts.items())))
        target = snapshot_path(name)
        before = target.read_text().splitlines() if target.exists() else []
        added = sorted(set(lines) - set(before))
        gone = sorted(set(before) - set(lines))
        for line in added:
            print(f"  + {line}")
        for line in gone:
            print(f"  - {line}")
        if added or gone:
            changed = True
        if args.update:
            target.write_text("\n".join(lines) + ("\n" if lines else ""))
        if args.show:
            show(args.work, name, rows, args.show, args.context)
    print("all: " + " ".join(f"{c}={n}" for c, n in sorted(totals.items())))
    if changed and not args.update:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
