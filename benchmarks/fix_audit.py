"""Audit `dao-lint fix` on real projects: every removed commit with the unit of work that
commits it now, every kept one with the reason (issue 11). Read the output by hand: a
removal whose cover you cannot point to is a bug.

Usage:  python benchmarks/fix_audit.py [--work DIR] [--only NAME ...] [--jobs N] [--out FILE]
        python benchmarks/fix_audit.py --superset-done-when [--work DIR]

For each project (benchmarks/projects.py, configuration in benchmarks/ecosystem/): a fresh
copy, `fix --unsafe-fixes` planned in-process, then written, then checked: every changed file
compiles, a second run changes nothing. The full listing goes to --out (default
benchmarks/fix-audit-latest.txt); a summary table to stdout. Not a test: CI never runs it.

--superset-done-when: Superset 3.0.0 with Superset 4.1's `transaction(on_error=...)` added
to superset/utils/decorators.py and the boundaries the first run suggests declared; then
`fix --unsafe-fixes` must leave no DAO101-DAO103 in superset/daos, write only
`@transaction()`, compile everywhere, and change nothing on a second run.
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from projects import PROJECTS, prepare  # noqa: E402

AUDITED = ["superset", "flask-appbuilder", "flaskbb", "flask-security", "fastapi-users-db", "mlflow", "optuna", "airflow", "ckan"]

# Superset 4.1's unit-of-work decorator (superset/utils/decorators.py), in our words: a
# factory, used as `@transaction()`; commits on success, rolls back and maps the error on
# failure.
SUPERSET_TRANSACTION = '''

def transaction(on_error=None):
    """Run the decorated function as one unit of work (added for the dao-lint audit)."""

    def decorate(func):
        @wraps(func)
        def wrapped(*args, **kwargs):
            from superset import db

            try:
                result = func(*args, **kwargs)
                db.session.commit()
                return result
            except Exception as ex:
                db.session.rollback()
                if on_error:
                    return on_error(ex)
                raise

        return wrapped

    return decorate
'''


def reason_kind(reason: str) -> str:
    """A short category for a kept finding's reason."""
    for needle, kind in (
        ("still commits or rolls back", "a call the SAVEPOINT would hold still commits"),
        ("reaches outside the database", "an effect outside the database follows"),
        ("no transaction decorator is configured", "a declared boundary, but no decorator to make it commit"),
        ("no call site", "entry point (no caller in the project)"),
        ("used as a value", "callback"),
        ("type of its receiver is not known", "unresolved receiver"),
        ("which only tests call otherwise", "unresolved call beside the tests' calls"),
        ("module level", "called at module level"),
        ("opens itself", "own session"),
        ("commit helper", "commit helper"),
        ("swallows", "handler swallows the error"),
        ("rollback", "rollback no SAVEPOINT can replace"),
        ("`commit` flag", "behind a kept commit flag"),
        ("cannot get the decorator", "boundary cannot get the decorator"),
        ("is unknown", "decorator form unknown"),
        ("would leave", "would leave a block empty"),
        ("not a statement of its own", "commit inside an expression"),
        ("call cycle", "call cycle / too deep"),
        ("forwards `commit=`", "forwards the flag"),
        ("could not be resolved", "unresolved commit= call"),
    ):
        if needle in reason:
            return kind
    return "other: " + reason[:60]


def write_listing(listing, title: str, report, broken) -> None:  # noqa: ANN001
    """Every removal with its covers, every kept finding with its reason."""
    removed = collections.Counter(r.code for r in report.removed)
    listing.write(f"\n## {title}\n\n")
    listing.write(f"changed {len(report.changed)} files; removed {dict(removed)}; kept {len(report.kept)}\n\n")
    for item in sorted(report.removed, key=lambda r: (r.path, r.function)):
        listing.write(f"REMOVED {item.code} {item.path}::{item.function}\n")
        for cover in item.covers[:6]:
            listing.write(f"    covered: {cover}\n")
        if len(item.covers) > 6:
            listing.write(f"    ... and {len(item.covers) - 6} more covers\n")
    for item in sorted(report.kept, key=lambda k: (k.path, k.position)):
        listing.write(f"KEPT {item.code} {item.path or '-'}:{item.position[0]} {item.function}: {item.reason}\n")
    for line in broken:
        listing.write(f"NOT COMPILING {line}\n")


def audit(work: Path, name: str, jobs: int, listing) -> dict:  # noqa: ANN001
    from dao_lint.api import fix_paths
    from dao_lint.foundations.config import ConfigResolver

    copy = prepare(work, name, work / "copies" / name)
    cwd = os.getcwd()
    os.chdir(copy)
    try:
        start = time.perf_counter()
        report = fix_paths(["."], ConfigResolver(), unsafe=True, write=True, jobs=jobs, cache=False)
        seconds = time.perf_counter() - start
        broken = []
        for item in report.changed:
            try:
                compile(Path(item.path).read_bytes(), item.path, "exec", dont_inherit=True)
            except SyntaxError as exc:
                broken.append(f"{item.path}: {exc}")
        again = fix_paths(["."], ConfigResolver(), unsafe=True, write=False, jobs=jobs, cache=False)
    finally:
        os.chdir(cwd)
    write_listing(listing, f"{name} ({PROJECTS[name][0]}): {PROJECTS[name][2]}", report, broken)
    removed = collections.Counter(r.code for r in report.removed)
    kinds = collections.Counter(reason_kind(k.reason) for k in report.kept)
    return {
        "project": name,
        "files changed": len(report.changed),
        "removed": sum(removed.values()),
        "kept": len(report.kept),
        "not compiling": len(broken),
        "second run changes": len(again.changed),
        "fix errors": sum(1 for f in report.files if f.error),
        "seconds": seconds,
        "kept by reason": dict(kinds.most_common()),
    }


def superset_done_when(work: Path, jobs: int, listing) -> int:  # noqa: ANN001
    """Issue 11's last check on Superset 3.0.0 with 4.1's decorator. Returns an exit code."""
    from dao_lint.api import fix_paths, lint_paths
    from dao_lint.foundations.config import ConfigResolver
    from dao_lint.fix.planning import suggest_boundaries
    from dao_lint.foundations.presets import PRESETS

    copy = prepare(work, "superset", work / "copies" / "superset-done-when")
    decorators = copy / "superset" / "utils" / "decorators.py"
    decorators.write_text(decorators.read_text() + SUPERSET_TRANSACTION)
    pyproject = copy / "pyproject.toml"
    base = re.sub(r"^transaction-decorator = .*$", 'transaction-decorator = "superset.utils.decorators.transaction"', pyproject.read_text(), flags=re.M)
    pyproject.write_text(base)
    cwd = os.getcwd()
    os.chdir(copy)
    try:
        plan = fix_paths(["."], ConfigResolver(), unsafe=True, write=False, jobs=jobs, cache=False)
        suggested = [entry for entry, _ in suggest_boundaries(plan.kept)]
        print(f"first plan: {len(plan.kept)} kept; declaring the {len(suggested)} suggested boundaries:")
        for entry in suggested:
            print(f"  {entry}")
        declared = list(PRESETS["superset"]["boundaries"]) + suggested
        pyproject.write_text(base + "boundaries = [" + ", ".join(f'"{entry}"' for entry in declared) + "]\n")
        report = fix_paths(["."], ConfigResolver(), unsafe=True, write=True, jobs=jobs, cache=False)
        print(f"fix: changed {len(report.changed)} files, removed {collections.Counter(r.code for r in report.removed)}, kept {len(report.kept)}")
        for item in report.kept:
            if "superset/daos" in item.path:
                print(f"  kept in daos: {os.path.relpath(item.path, copy)}:{item.position[0]} {item.code} {item.function}: {item.reason}")
        left = [
            d for result in lint_paths(["superset/daos"], ConfigResolver(), jobs=jobs, cache=False)
            for d in result.diagnostics if d.code in ("DAO101", "DAO102", "DAO103")
        ]
        bare = [
            str(p.relative_to(copy)) for p in (copy / "superset").rglob("*.py")
            if re.search(r"^\s*@transaction\s*$", p.read_text(errors="replace"), re.M)
        ]
        broken = []
        for item in report.changed:
            try:
                compile(Path(item.path).read_bytes(), item.path, "exec", dont_inherit=True)
            except SyntaxError as exc:
                broken.append(str(exc))
        again = fix_paths(["."], ConfigResolver(), unsafe=True, write=False, jobs=jobs, cache=False)
    finally:
        os.chdir(cwd)
    write_listing(listing, "superset 3.0.0 with 4.1's transaction(on_error=...) and the suggested boundaries", report, broken)
    # issue 20: what stays in the DAOs is kept for a reason it names, of these kinds only
    allowed = {"entry point (no caller in the project)", "unresolved receiver", "forwards the flag", "behind a kept commit flag"}
    unexplained = []
    print(f"DAO101-103 left in superset/daos: {len(left)}")
    for d in left:
        # (the finding names its function: "DAO `BaseDAO.update` commits")
        owner = re.search(r"DAO `([^`]+)`", d.message)
        reasons = sorted({
            reason_kind(k.reason) for k in report.kept
            if owner and os.path.normpath(k.path) == os.path.normpath(d.path) and k.function == owner.group(1)
        })
        print(f"  {d.path}:{d.line} {d.code}: kept for {', '.join(reasons) or 'NO REASON'}")
        if not reasons or not set(reasons) <= allowed:
            unexplained.append(d)
    print(f"left without an allowed reason: {len(unexplained)}")
    print(f"bare @transaction written: {len(bare)} {bare[:5]}")
    print(f"not compiling: {len(broken)} {broken[:3]}")
    print(f"second run would change: {len(again.changed)} files {[os.path.relpath(f.path, copy) for f in again.changed][:5]}")
    return 0 if not (unexplained or bare or broken or again.changed) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dao-lint-eco")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", nargs="*", choices=sorted(PROJECTS))
    parser.add_argument("--out", type=Path, default=HERE / "fix-audit-latest.txt")
    parser.add_argument("--superset-done-when", action="store_true")
    args = parser.parse_args()
    if args.superset_done_when:
        with open(HERE / "fix-audit-superset-latest.txt", "w") as listing:
            listing.write("# dao-lint fix on Superset 3.0.0 with a transaction decorator (issue 11's last check)\n")
            raise SystemExit(superset_done_when(args.work, args.jobs, listing))
    rows = []
    with open(args.out, "w") as listing:
        listing.write("# dao-lint fix audit: every removal with its cover, every kept finding with its reason\n")
        for name in args.only or AUDITED:
            rows.append(audit(args.work, name, args.jobs, listing))
    columns = ["project", "files changed", "removed", "kept", "not compiling", "second run changes", "fix errors", "seconds"]
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(f"{row[c]:.1f}" if isinstance(row[c], float) else str(row[c]) for c in columns) + " |")
    print()
    for row in rows:
        print(f"{row['project']} kept by reason: {row['kept by reason']}")


if __name__ == "__main__":
    main()
