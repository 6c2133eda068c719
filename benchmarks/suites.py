"""Migrate real applications with `dao-lint fix` and run their own test suites before and
after (issue 20, point 10): the strongest check of a fix is what the application does
afterwards.

Usage:  python benchmarks/suites.py [--work DIR] [--only NAME ...] [--postgres] [--out FILE]

For each application (pinned sdists from the package index that ship their tests; downloaded
into --work, never committed): a virtualenv with the application and its test requirements;
a plain `transaction` decorator added the SIP-98 way, with the `[tool.dao-lint]` section its
team would write; then the suite runs

  before        on the unchanged application (the decorator module only),
  fix           after `dao-lint fix` (the safe fixes),
  unsafe        after `dao-lint fix --unsafe-fixes` from the same start, under coverage,
  canary        the same with a decorator that never commits: the tests that then fail are
                the ones that would notice a lost write (none would mean a green run proves
                nothing),

and a second `fix --unsafe-fixes` must change nothing. On SQLite the run relies on the
listeners that `fix` adds for DAO112 (plain pysqlite commits at a SAVEPOINT's RELEASE, so a
removed commit would go unnoticed without them); --postgres runs the suites that can be
pointed at another database on PostgreSQL as well (a server from DAO_LINT_TEST_POSTGRES_URL,
else one started by .ci/postgres.sh).

Reported per application: tests passed per stage (and any test whose outcome changed),
commits removed, decorators added, each kept finding's reason grouped, and which of the
functions `fix` changed the suite executes (so that a green run is known to mean something).
Not a test: CI never runs it. The results go to docs/fix-audit.md by hand.
"""
from __future__ import annotations

import argparse
import ast
import collections
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from fix_audit import reason_kind  # noqa: E402


@dataclass
class App:
    requirement: str  # a pinned sdist that ships the tests
    package: str  # what `fix` runs on
    tests: List[str]  # pytest's arguments
    decorator_module: str  # where the decorator is written
    decorator: str  # its source
    config: str  # the [tool.dao-lint] section
    install: List[str] = field(default_factory=list)  # pip arguments beyond the app itself
    database_env: str = ""  # the variable that points the suite at another database
    description: str = ""


# A unit-of-work decorator as a team writes one when it adopts SIP-98: call the function,
# commit on success, roll back and re-raise on any error.
PLAIN_DECORATOR = '''"""One unit of work per request, command or job: commit on success, roll back on error."""
import functools

from {db_module} import db


def transaction(func):
    @functools.wraps(func)
    def wrapped(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return result

    return wrapped
'''

APPS: Dict[str, App] = {
    "ihatemoney": App(
        requirement="ihatemoney==7.2.1",
        package="ihatemoney",
        tests=["ihatemoney/tests"],
        decorator_module="ihatemoney/transaction.py",
        decorator=PLAIN_DECORATOR.format(db_module="ihatemoney.models"),
        # the web views, the REST API and the management commands are where requests and
        # commands start; the models' methods are the data layer the views call
        config="""
[tool.dao-lint]
preset = "flask-sqlalchemy"
transaction-decorator = "ihatemoney.transaction.transaction"
boundaries = ["ihatemoney/web.py::*", "ihatemoney/api/**::*", "ihatemoney/manage.py::*"]
""",
        install=["pytest", "pytest-flask", "pytest-cov", "psycopg2-binary"],
        database_env="TESTING_SQLALCHEMY_DATABASE_URI",
        description="Flask-SQLAlchemy app: views and a REST API that commit, models with committing methods",
    ),
    "privacyidea": App(
        requirement="privacyidea==3.14",
        package="privacyidea",
        # the API and library tests of the modules `fix` changes (641 of its 5,300 tests: the
        # whole suite takes 15 minutes a run on two cores)
        tests=[
            "tests/test_api_auth.py",
            "tests/test_api_caconnector.py",
            "tests/test_api_clients.py",
            "tests/test_api_events.py",
            "tests/test_api_machineresolver.py",
            "tests/test_api_machines.py",
            "tests/test_api_periodictask.py",
            "tests/test_api_policy.py",
            "tests/test_api_privacyideaserver.py",
            "tests/test_api_radiusserver.py",
            "tests/test_api_serviceids.py",
            "tests/test_api_smtpserver.py",
            "tests/test_api_subscriptions.py",
            "tests/test_api_system.py",
            "tests/test_api_tokengroup.py",
            "tests/test_api_ttype.py",
            "tests/test_lib_auth.py",
            "tests/test_lib_authcache.py",
            "tests/test_lib_caconnector.py",
            "tests/test_lib_config.py",
            "tests/test_lib_events.py",
            "tests/test_lib_machines.py",
            "tests/test_lib_periodictask.py",
            "tests/test_lib_policy.py",
            "tests/test_lib_privacyideaserver.py",
            "tests/test_lib_radiusserver.py",
            "tests/test_lib_realm.py",
            "tests/test_lib_recovery.py",
            "tests/test_lib_serviceid.py",
            "tests/test_lib_smtpserver.py",
            "tests/test_lib_subscriptions.py",
            "tests/test_lib_tokengroup.py",
            "-n", "2",
        ],
        decorator_module="privacyidea/lib/transaction.py",
        decorator=PLAIN_DECORATOR.format(db_module="privacyidea.models"),
        # the REST endpoints and the CLI start the units of work; lib/ holds the functions
        # they call, models/ the active-record classes whose save() commits
        config="""
[tool.dao-lint]
preset = "flask-sqlalchemy"
transaction-decorator = "privacyidea.lib.transaction.transaction"
dao-modules = ["privacyidea/models/**"]
boundaries = ["privacyidea/api/**::*", "privacyidea/cli/**::*"]
""",
        install=[".[test]", "pytest-cov"],
        # (its suite runs on two workers with a database each: SQLite only here)
        description="Flask-SQLAlchemy authentication server: active-record models whose save() commits, a large lib/",
    ),
}


def run(command: List[str], cwd: Path, env: Optional[dict] = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=str(cwd), env=env, check=check, capture_output=True, text=True)


def unpack(work: Path, name: str, app: App) -> Path:
    """A fresh copy of the sdist as a git repository (downloaded once)."""
    download = work / "downloads" / name
    download.mkdir(parents=True, exist_ok=True)
    if not any(download.glob("*.tar.gz")):
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", str(download), app.requirement], ROOT)
    archive = next(download.glob("*.tar.gz"))
    tree = work / "src" / name
    if tree.exists():
        run(["rm", "-rf", str(tree)], work)
    with tarfile.open(archive) as handle:
        top = handle.getnames()[0].split("/")[0]
        handle.extractall(work / "src", filter="data")
    (work / "src" / top).rename(tree)
    (tree / app.decorator_module).write_text(app.decorator)
    pyproject = tree / "pyproject.toml"
    pyproject.write_text((pyproject.read_text() if pyproject.exists() else "") + app.config)
    for command in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "-c", "user.name=suites", "-c", "user.email=suites@localhost", "commit", "-qm", "base"]):
        run(command, tree)
    return tree


def virtualenv(work: Path, name: str, app: App, tree: Path) -> Path:
    """The application's environment, installed once (editable, so it runs `tree`)."""
    venv = work / f"venv-{name}"
    python = venv / "bin" / "python"
    if not (venv / ".installed").exists():
        run([sys.executable, "-m", "venv", str(venv)], work)
        editable = [str(tree) + item[1:] for item in app.install if item.startswith(".[")] or [str(tree)]
        others = [item for item in app.install if not item.startswith(".[")]
        run([str(python), "-m", "pip", "install", "-q", *(a for e in editable for a in ("-e", e)), *others], work)
        (venv / ".installed").write_text(app.requirement)
    return python


def suite(python: Path, tree: Path, app: App, stage: str, results: Path, env: dict, coverage: bool = False) -> Dict[str, str]:
    """Each test's outcome (passed, failed, error, skipped)."""
    report = results / f"{tree.name}-{stage}.xml"
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *app.tests, f"--junitxml={report}"]
    if coverage:
        command += [f"--cov={app.package}", f"--cov-report=json:{results / f'{tree.name}-{stage}-coverage.json'}"]
    run(command, tree, env=env, check=False)
    outcomes: Dict[str, str] = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[test] = {"failure": "failed", "error": "error", "skipped": "skipped"}.get(kinds[0] if kinds else "", "passed")
    return outcomes


def commits(tree: Path, package: str, skip: str) -> int:
    """`.commit()` calls in the package (the decorator's own not counted)."""
    count = 0
    for path in (tree / package).rglob("*.py"):
        if path == tree / skip:
            continue
        try:
            module = ast.parse(path.read_bytes())
        except SyntaxError:
            continue
        count += sum(
            1 for node in ast.walk(module)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit" and not node.args
        )
    return count


def changed_functions(tree: Path) -> Dict[Tuple[str, str], Set[int]]:
    """(file, function) -> the lines of that function in the fixed file, for every function
    the fix edited (from `git diff -U0` against the start)."""
    diff = run(["git", "diff", "-U0", "HEAD"], tree).stdout
    touched: Dict[str, Set[int]] = collections.defaultdict(set)
    path = ""
    for line in diff.splitlines():
        if line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else ""
        match = re.match(r"@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", line)
        if match and path:
            start, length = int(match.group(1)), int(match.group(2) or 1)
            touched[path].update(range(start, start + max(length, 1)))
    found: Dict[Tuple[str, str], Set[int]] = {}
    for path, lines in touched.items():
        module = ast.parse((tree / path).read_bytes())

        def visit(node: ast.AST, prefix: str) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    name = f"{prefix}{child.name}"
                    if isinstance(child, ast.ClassDef):
                        visit(child, name + ".")
                        continue
                    first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                    span = set(range(first, child.end_lineno + 1))
                    if span & lines:
                        found[(path, name)] = set(range(child.body[0].lineno, child.end_lineno + 1))
                    visit(child, name + ".")

        visit(module, "")
    return found


def executed(coverage_json: Path, functions: Dict[Tuple[str, str], Set[int]]) -> Set[Tuple[str, str]]:
    """The changed functions whose body the suite ran."""
    import json

    files = json.loads(coverage_json.read_text())["files"]
    ran: Set[Tuple[str, str]] = set()
    for (path, name), lines in functions.items():
        data = files.get(path) or next((v for k, v in files.items() if k.endswith(path)), None)
        if data and lines & set(data["executed_lines"]):
            ran.add((path, name))
    return ran


def fix(tree: Path, app: App, unsafe: bool):  # noqa: ANN201 - a dao_lint FixReport
    from dao_lint.api import fix_paths
    from dao_lint.foundations.config import ConfigResolver

    cwd = os.getcwd()
    os.chdir(tree)
    try:
        return fix_paths([app.package], ConfigResolver(), unsafe=unsafe, write=True, cache=False)
    finally:
        os.chdir(cwd)


def migrate(work: Path, name: str, app: App, postgres: Optional[str], out) -> dict:  # noqa: ANN001
    tree = unpack(work, name, app)
    python = virtualenv(work, name, app, tree)
    results = work / "results"
    results.mkdir(exist_ok=True)
    databases = [("sqlite", {})]
    if postgres and app.database_env:
        databases.append(("postgresql", {app.database_env: postgres}))
    row: dict = {"app": name, "commits before": commits(tree, app.package, app.decorator_module)}
    outcomes: Dict[str, Dict[str, str]] = {}
    for database, extra in databases:
        env = {**os.environ, **extra}
        outcomes[f"before/{database}"] = suite(python, tree, app, f"before-{database}", results, env)
    fix(tree, app, unsafe=False)
    row["safe: commits removed"] = row["commits before"] - commits(tree, app.package, app.decorator_module)
    for database, extra in databases:
        outcomes[f"fix/{database}"] = suite(python, tree, app, f"fix-{database}", results, {**os.environ, **extra})
    run(["git", "reset", "-q", "--hard", "HEAD"], tree)
    run(["git", "clean", "-qfdx", "-e", "*.egg-info"], tree)
    report = fix(tree, app, unsafe=True)
    broken = [item.path for item in report.changed if not _compiles(tree / item.path)]
    again = fix(tree, app, unsafe=True)
    diff = run(["git", "diff", "HEAD"], tree).stdout
    row["unsafe: commits removed"] = row["commits before"] - commits(tree, app.package, app.decorator_module)
    row["unsafe: commits become flush()"] = sum(1 for line in diff.splitlines() if line.startswith("+") and line.rstrip().endswith(".flush()"))
    row["unsafe: decorators added"] = sum(1 for line in diff.splitlines() if re.match(r"\+\s*@transaction\b", line))
    row["unsafe: files changed"] = len(report.changed)
    row["not compiling"] = len(broken)
    row["second run changes"] = len(again.changed)
    functions = changed_functions(tree)
    for database, extra in databases:
        outcomes[f"unsafe/{database}"] = suite(python, tree, app, f"unsafe-{database}", results, {**os.environ, **extra}, coverage=database == "sqlite")
    ran = executed(results / f"{name}-unsafe-sqlite-coverage.json", functions)
    # does the suite notice a lost commit at all? The migrated app with a decorator that
    # never commits: the tests that then fail are the ones that would catch a lost write
    decorator = tree / app.decorator_module
    source = decorator.read_text()
    decorator.write_text(source.replace("db.session.commit()", "db.session.flush()"))
    canary = suite(python, tree, app, "canary-sqlite", results, dict(os.environ))
    decorator.write_text(source)
    row["tests that fail when the decorator never commits"] = sum(
        1 for test, outcome in canary.items() if outcome in ("failed", "error") and outcomes["before/sqlite"].get(test) == "passed"
    )
    row["changed functions"] = len(functions)
    row["changed functions the suite runs"] = len(ran)
    for stage, tests in outcomes.items():
        row[f"passed {stage}"] = f"{sum(1 for o in tests.values() if o == 'passed')} of {len(tests)}"
    kinds = collections.Counter(reason_kind(k.reason) for k in report.kept)
    row["kept by reason"] = dict(kinds.most_common())

    out.write(f"\n## {name} ({app.requirement}): {app.description}\n\n")
    for key, value in row.items():
        if key != "kept by reason":
            out.write(f"{key}: {value}\n")
    for database, _ in databases:
        before = outcomes[f"before/{database}"]
        for stage in ("fix", "unsafe"):
            after = outcomes[f"{stage}/{database}"]
            for test in sorted(set(before) | set(after)):
                if before.get(test) != after.get(test):
                    out.write(f"CHANGED {stage}/{database} {test}: {before.get(test)} -> {after.get(test)}\n")
    for test, outcome in sorted(outcomes["before/sqlite"].items()):
        if outcome in ("failed", "error"):
            out.write(f"FAILS BEFORE TOO {test}\n")
    for item in sorted(report.removed, key=lambda r: (r.path, r.function)):
        out.write(f"REMOVED {item.code} {item.path}::{item.function} (covered by {', '.join(item.covers[:3])}{' ...' if len(item.covers) > 3 else ''})\n")
    for item in sorted(report.kept, key=lambda k: (k.path, k.position)):
        out.write(f"KEPT {item.code} {item.path}:{item.position[0]} {item.function}: {reason_kind(item.reason)}\n")
    for key in sorted(functions):
        out.write(f"{'RUN' if key in ran else 'NOT RUN'} {key[0]}::{key[1]}\n")
    for kind, count in kinds.most_common():
        out.write(f"kept: {count:3d} {kind}\n")
    row["tests changed"] = sum(
        1 for database, _ in databases for stage in ("fix", "unsafe")
        for test in set(outcomes[f"before/{database}"]) | set(outcomes[f"{stage}/{database}"])
        if outcomes[f"before/{database}"].get(test) != outcomes[f"{stage}/{database}"].get(test)
    )
    return row


def _compiles(path: Path) -> bool:
    try:
        compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    except SyntaxError:
        return False
    return True


def _postgres(work: Path) -> str:
    """A PostgreSQL URL for psycopg2 (the driver the applications use)."""
    url = os.environ.get("DAO_LINT_TEST_POSTGRES_URL") or run(["bash", str(ROOT / ".ci" / "postgres.sh")], ROOT).stdout.strip()
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "dao-lint-suites")
    parser.add_argument("--only", nargs="*", choices=sorted(APPS))
    parser.add_argument("--postgres", action="store_true", help="also run the suites on PostgreSQL")
    parser.add_argument("--out", type=Path, default=HERE / "suites-latest.txt")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    postgres = _postgres(args.work) if args.postgres else None
    rows = []
    with args.out.open("w") as out:
        out.write("# benchmarks/suites.py: real applications' own test suites before and after `dao-lint fix`\n")
        for name in args.only or sorted(APPS):
            row = migrate(args.work, name, APPS[name], postgres, out)
            rows.append(row)
            print(row, flush=True)
    failed = [r["app"] for r in rows if r["tests changed"] or r["second run changes"] or r["not compiling"]]
    print(f"listing: {args.out}")
    if failed:
        print(f"tests changed, a second run changes something, or a file does not compile: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
