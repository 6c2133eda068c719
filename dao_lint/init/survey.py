"""`dao-lint init`: look at a project and propose its `[tool.dao-lint]` section.

The survey reads text only (imports, class and def lines, session expressions), so it runs
in seconds on a large project. It finds the stack (and so the preset), where the DAOs are,
which session expressions the code uses, whether there is a transaction decorator, and
where the commands are; it says what it found and writes what it can stand behind.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..analysis.session_kinds import METHOD_ACTIONS, Action
from ..foundations.config import ConfigResolver
from ..foundations.globs import name_matches
from ..foundations.presets import PRESETS

__all__ = ["Survey", "survey", "section", "write_section", "refuse_existing", "SectionExists", "plan_boundaries", "count_findings"]

_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w\.]*)", re.M)
_CLASS = re.compile(r"^\s*class\s+(\w+)\s*(?:\(([^)]*)\))?\s*:", re.M)
# what a session expression looks like in text; the methods are the session analysis's own
_SESSION_EXPRESSION = r"(?:[A-Za-z_]\w*\.)*(?:[A-Za-z_]\w*_)?[Ss]ession"
_WRITES = sorted(method for method, action in METHOD_ACTIONS.items() if action is Action.WRITE) + ["execute"]
_USES = sorted({*METHOD_ACTIONS, "execute", "exec"} - {"close", "close_all", "remove", "refresh", "expire", "expire_all", "begin"})
_SESSION_USE = re.compile(
    rf"(?<![\w\.])({_SESSION_EXPRESSION}|(?:[A-Za-z_]\w*\.)*get_session|db)\.(?:{'|'.join(_USES)})\("
)
# sessions that are not database sessions: Flask's cookie session, HTTP clients
_NOT_DATABASE = ("flask", "request", "http", "cookie", "client", "aiohttp")
_DECORATOR_DEF = re.compile(r"^def\s+(transaction|transactional|unit_of_work|atomic)\s*\(", re.M)
_RUN = re.compile(r"^\s+def\s+run\s*\(\s*self", re.M)
_DAO_DIRS = ("daos", "dao", "repositories", "crud")
_WRITE = re.compile(
    rf"(?<![\w\.])(?:{_SESSION_EXPRESSION}|(?:[A-Za-z_]\w*\.)*get_session\(\))\.(?:{'|'.join(_WRITES)})\("
)
_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)", re.M)
_ADD_SELF = re.compile(r"[Ss]ession\.add\(self\)")
# directories whose modules are units of work or their callers, never the data layer
_NOT_DATA_LAYER = ("commands", "command", "api", "apis", "views", "routes", "routers", "endpoints", "cli", "tests", "test", "migrations", "alembic", "scripts", "examples")
#: test code by what it holds, wherever it lives (`*/testing/fixtures.py`): pytest imported,
#: fixtures declared, unittest's TestCase subclassed. Never proposed as the data layer.
_TEST_CODE = re.compile(r"^(?:import pytest\b|from pytest\b|\s*@pytest\.fixture\b|class \w+\((?:[\w.]*\.)?(?:TestCase|IsolatedAsyncioTestCase)\b)", re.M)
_TEST_DIRS = ("tests", "test", "testing")


class SectionExists(Exception):
    """pyproject.toml already has a `[tool.dao-lint]` section (use --force to replace it)."""


@dataclass
class Survey:
    root: str
    files: int = 0
    test_files: int = 0  # test code (by path or content): never the data layer
    imports: Counter = field(default_factory=Counter)  # top-level package -> files importing it
    packages: List[str] = field(default_factory=list)  # the project's own top-level packages
    dao_classes: List[Tuple[str, str]] = field(default_factory=list)  # (relpath, class)
    dao_dirs: Counter = field(default_factory=Counter)  # glob -> DAO classes found there
    dao_bases: Counter = field(default_factory=Counter)
    sessions: Counter = field(default_factory=Counter)  # expression -> uses
    decorator: Optional[str] = None  # dotted path of the transaction decorator
    #: functions named like a unit-of-work decorator: (path, dotted name)
    decorator_candidates: List[Tuple[str, str]] = field(default_factory=list)
    rejected: List[Tuple[str, str]] = field(default_factory=list)  # (dotted name, why not)
    commands: int = 0  # classes with `run(self)` under a commands directory
    #: boundaries that would let `fix` remove more commits: (entry, kept findings it unblocks)
    boundaries: List[Tuple[str, int]] = field(default_factory=list)
    #: DAO-named classes in modules that never touch a session: (relpath, class)
    not_daos: List[Tuple[str, str]] = field(default_factory=list)
    #: modules with no DAO class that are the data layer by evidence: relpath -> why
    data_modules: Dict[str, str] = field(default_factory=dict)
    #: findings the proposed section gives: code -> count (filled by `count_findings`)
    findings: Counter = field(default_factory=Counter)

    @property
    def preset(self) -> Optional[str]:
        for package in ("superset", "airflow"):
            if package in self.packages:
                return package
        for module, preset in (("sqlmodel", "sqlmodel"), ("fastapi", "fastapi"), ("flask_sqlalchemy", "flask-sqlalchemy"), ("sqlalchemy", "sqlalchemy")):
            if self.imports[module]:
                return preset
        return None


def survey(root: str) -> Survey:
    """Read every Python file under `root` (skipping what dao-lint skips by default)."""
    from ..running.discovery import collect_files

    found = Survey(os.path.abspath(root))
    found.packages = sorted(
        name for name in os.listdir(root) if os.path.isfile(os.path.join(root, name, "__init__.py"))
    )
    for path, _ in collect_files([root], ConfigResolver()):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        found.files += 1
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        parts = rel.split("/")
        for module in {m.split(".")[0] for m in _IMPORT.findall(text)}:
            found.imports[module] += 1
        uses_session = bool(_SESSION_USE.search(text) or _WRITE.search(text))
        if is_test_code(text, parts):
            found.test_files += 1  # its fakes and fixtures are not the project's data layer
            continue
        evidence = _data_layer_evidence(text, parts)
        if evidence is not None:
            found.data_modules[rel] = evidence
        for name, bases in _CLASS.findall(text):
            base_names = [b.strip().split("[")[0].split(".")[-1] for b in bases.split(",") if b.strip()]
            if re.search(r"(DAO|Dao|Repository)$", name) or any(re.search(r"(DAO|Dao)$", b) for b in base_names):
                if not uses_session and not any(re.search(r"(DAO|Dao)$", b) for b in base_names):
                    found.not_daos.append((rel, name))  # a git repository, an HTTP client...
                    continue
                found.dao_classes.append((rel, name))
                for base in base_names:
                    if re.search(r"(DAO|Dao)$", base):
                        found.dao_bases[base] += 1
                directory = next((d for d in parts[:-1] if d in _DAO_DIRS), None)
                if directory is not None:
                    found.dao_dirs[f"**/{directory}/**"] += 1
                elif re.search(r"(_dao|dao|_repository)\.py$", parts[-1]):
                    found.dao_dirs["**/" + ("*_dao.py" if parts[-1].endswith("_dao.py") else parts[-1])] += 1
                elif parts[-1] == "__init__.py" and len(parts) > 1:
                    found.dao_dirs["/".join(parts[:-1]) + "/**"] += 1  # the package it fronts
                else:
                    found.dao_dirs[rel] += 1
        for expression in _SESSION_USE.findall(text):
            if not any(word in expression.lower() for word in _NOT_DATABASE):
                found.sessions[expression] += 1
        for match in _DECORATOR_DEF.finditer(text):
            module = rel[:-3].replace("/", ".")
            module = module[: -len(".__init__")] if module.endswith(".__init__") else module
            found.decorator_candidates.append((path, f"{module}.{match.group(1)}"))
        if "commands" in parts[:-1]:
            found.commands += len(_RUN.findall(text))
    if found.dao_classes:
        # a DAO layer exists: modules that write through a session elsewhere are findings
        # (DAO201), not more of the layer; only active-record models join it
        found.data_modules = {rel: why for rel, why in found.data_modules.items() if why.startswith("active record")}
    for path, dotted in found.decorator_candidates:
        why = _not_a_unit_of_work(path, dotted)
        if why is None:
            found.decorator = found.decorator or dotted
        else:
            found.rejected.append((dotted, why))
    return found


def is_test_code(text: str, parts: List[str]) -> bool:
    """Test code, by where it lives or by what it holds (pytest, fixtures, TestCase)."""
    name = parts[-1]
    return (
        any(part in _TEST_DIRS for part in parts[:-1]) or name.startswith(("test_", "conftest")) or name.endswith("_test.py")
        or bool(_TEST_CODE.search(text))
    )


def _data_layer_evidence(text: str, parts: List[str]) -> Optional[str]:
    """Why a module is part of the data layer though it has no DAO class, or None: its
    models save themselves through the session (active record), or most of its functions
    write through a session (a `database.py` of helpers, a service module over the ORM)."""
    if any(part in _NOT_DATA_LAYER for part in parts[:-1]) or parts[-1].startswith(("test_", "conftest")):
        return None
    starts = [(m.start(), len(m.group(1)), m.group(2)) for m in _DEF.finditer(text)]
    if not starts:
        return None
    writing = saves = 0
    for number, (start, indent, name) in enumerate(starts):
        end = next((s for s, i, _ in starts[number + 1 :] if i <= indent), len(text))
        if _WRITE.search(text, start, end):
            writing += 1
        if name == "save" and indent and _ADD_SELF.search(text, start, end):
            saves += 1
    if saves:
        return f"active record: {saves} `save()` method(s) add the object to the session"
    if writing >= 2 and writing * 2 >= len(starts):
        return f"{writing} of its {len(starts)} functions write through a session"
    return None


def _not_a_unit_of_work(path: str, dotted: str) -> Optional[str]:
    """Why the function `dotted` defined in `path` is no unit-of-work decorator, or None:
    it must be a decorator (plain or factory) whose code commits and rolls back a session."""
    from ..foundations.config import parse_table
    from ..checking.engine import check_source

    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        return f"cannot read it ({exc.strerror})"
    config = parse_table({"transaction-decorator": dotted}, "<init>", os.path.dirname(path))
    summary = check_source(source, path, config, summarize=True, summarize_always=True).summary
    name = dotted.rsplit(".", 1)[-1]
    if summary is None or name not in summary.decorator_forms:
        return "not a decorator defined at module level"
    actions = {
        what
        for qualname, info in summary.functions.items()
        if qualname == name or qualname.startswith(name + ".")
        for _, what in info.transaction_calls
    }
    if actions != {"commits", "rolls back"}:
        return "it does not both commit and roll back a session"
    return None


def _toml_list(values: List[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def section(found: Survey) -> str:
    """The `[tool.dao-lint]` section for the survey: the preset, plus what differs from it."""
    preset = found.preset
    base: Dict[str, object] = dict(PRESETS[preset]) if preset else {}
    lines = ["[tool.dao-lint]"]
    if preset:
        lines.append(f'preset = "{preset}"')
    dao_modules = sorted(found.dao_dirs, key=lambda g: (-found.dao_dirs[g], g))
    dao_modules += sorted(found.data_modules)
    known = list(base.get("dao-modules", ["**/dao.py", "**/daos/**", "**/*_dao.py", "**/dao/**", "**/repositories/**"]))
    if dao_modules and not set(dao_modules) <= set(known):
        lines.append(f"dao-modules = {_toml_list(sorted(set(known) | set(dao_modules)))}")
    bases = [b for b, _ in found.dao_bases.most_common() if b != "BaseDAO"]
    if bases:
        lines.append(f"dao-base-classes = {_toml_list(['BaseDAO', *bases])}")
    names = list(base.get("session-names", ["db.session", "session", "db_session", "_session", "self.session", "self._session"]))
    frequent = [e for e, n in found.sessions.most_common() if n >= 3 and e != "db" and not name_matches(names, e)]
    if frequent:
        # the list replaces the preset's: restate only the preset's names this project uses
        # (a plain name always; a dotted one such as `appbuilder.session` when it occurs)
        used = [n for n in names if "." not in n or any(name_matches([n], e) for e in found.sessions)]
        lines.append(f"session-names = {_toml_list(used + frequent)}")
    if found.boundaries:
        listed = list(base.get("boundaries", ["**/commands/**::*.run"]))
        lines.append(f"boundaries = {_toml_list(listed + [entry for entry, _ in found.boundaries if entry not in listed])}")
    configured = base.get("transaction-decorator")
    if found.decorator and found.decorator != configured:
        lines.append(f'transaction-decorator = "{found.decorator}"')
    elif configured and not found.decorator:
        lines.append(f'transaction-decorator = ""  # {configured} does not exist here yet')
    return "\n".join(lines) + "\n"


def report(found: Survey) -> List[str]:
    """What the survey found, one line each, for the person running `init`."""
    out = [f"surveyed {found.files} Python files under {found.root}"]
    if found.test_files:
        out.append(f"test code: {found.test_files} files (pytest, fixtures, TestCase; never proposed as the data layer)")
    preset = found.preset
    out.append(f"stack: {preset} (preset = \"{preset}\")" if preset else "stack: no SQLAlchemy import found; using the defaults")
    if found.dao_classes:
        where = "in " + ", ".join(f"{g} ({n})" for g, n in found.dao_dirs.most_common()) if found.dao_dirs else "outside DAO directories"
        out.append(f"DAOs: {len(found.dao_classes)} classes, {where}")
    else:
        out.append("DAOs: no classes named *DAO, *Dao or *Repository that use a session")
    for rel, name in found.not_daos:
        out.append(f"  not a DAO: {name} in {rel} (named like one, but the module never uses a session)")
    for rel, why in sorted(found.data_modules.items()):
        out.append(f"data layer: {rel} ({why})")
    if found.sessions:
        top = ", ".join(f"{e} ({n})" for e, n in found.sessions.most_common(4))
        out.append(f"sessions: {top}")
    out.append(f"transaction decorator: {found.decorator}" if found.decorator else "transaction decorator: none found")
    for dotted, why in found.rejected:
        out.append(f"  not a unit-of-work decorator: {dotted} ({why})")
    out.append(f"commands: {found.commands} `run` methods under commands/ (boundaries)" if found.commands else "commands: none found")
    for entry, count in found.boundaries:
        out.append(f"boundary: {entry} (where {count} commit(s) that `fix` must keep are called from)")
    if found.findings:
        codes = ", ".join(f"{code} {n}" for code, n in sorted(found.findings.items()))
        out.append(f"with this section, `dao-lint check` finds {sum(found.findings.values())}: {codes}")
    return out


def count_findings(found: Survey, text: str) -> None:
    """Fill `found.findings`: what `dao-lint check` reports under the proposed section."""
    from ..api import lint_files

    config = _parsed(found, text)
    results = lint_files([(path, config) for path, _ in _files(found)], os.cpu_count() or 1)
    found.findings = Counter(d.code for r in results for d in r.diagnostics)


def _parsed(found: Survey, text: str):  # noqa: ANN202 - a Config
    from ..foundations.config import parse_table

    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib
    return parse_table(tomllib.loads(text)["tool"]["dao-lint"], "<init>", found.root)


def _files(found: Survey):  # noqa: ANN202
    from ..running.discovery import collect_files

    return collect_files([found.root], ConfigResolver())


def plan_boundaries(found: Survey, text: str) -> None:
    """Fill `found.boundaries`: where the call paths start that keep `fix` from removing a
    commit under the proposed section (what `dao-lint fix` would suggest too)."""
    from ..fix.fixer import fix_files
    from ..fix.planning import suggest_boundaries

    config = _parsed(found, text)
    files = [(path, config) for path, _ in _files(found)]
    report = fix_files(files, unsafe=True, write=False, jobs=os.cpu_count() or 1)
    found.boundaries = [(entry, count) for entry, count in suggest_boundaries(report.kept)]
    for number, (entry, count) in enumerate(found.boundaries):
        module_glob, _, name = entry.partition("::")
        if not module_glob.startswith("**"):
            found.boundaries[number] = (os.path.relpath(module_glob, found.root).replace(os.sep, "/") + "::" + name, count)


_HEADER = re.compile(r"^\[tool\.dao-lint(?:\.[^\]]+)?\]\s*$", re.M)


def refuse_existing(pyproject: str) -> None:
    """Raise SectionExists when `pyproject` already has a `[tool.dao-lint]` section (asked
    before the survey, which takes seconds on a large project)."""
    try:
        with open(pyproject, encoding="utf-8") as handle:
            current = handle.read()
    except (OSError, UnicodeDecodeError):
        return
    if _HEADER.search(current):
        raise _exists(pyproject)


def _exists(pyproject: str) -> SectionExists:
    return SectionExists(f"{pyproject} already has a [tool.dao-lint] section; use --force to replace it, or --print")


def write_section(pyproject: str, text: str, force: bool = False) -> str:
    """Add (or with `force`, replace) the `[tool.dao-lint]` section; returns what was done."""
    from ..foundations.files import write_atomic

    try:
        with open(pyproject, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        write_atomic(pyproject, text.encode("utf-8"))
        return f"created {pyproject}"
    if not _HEADER.search(current):
        joined = current if current.endswith("\n") or not current else current + "\n"
        write_atomic(pyproject, (joined + ("\n" if joined else "") + text).encode("utf-8"))
        return f"added [tool.dao-lint] to {pyproject}"
    if not force:
        raise _exists(pyproject)
    kept, skipping = [], False
    for line in current.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            skipping = bool(_HEADER.match(stripped))
        if not skipping:
            kept.append(line)
    rest = "".join(kept).rstrip("\n")
    write_atomic(pyproject, ((rest + "\n\n" if rest else "") + text).encode("utf-8"))
    return f"replaced [tool.dao-lint] in {pyproject}"
