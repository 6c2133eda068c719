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

from .config import ConfigResolver
from .presets import PRESETS

__all__ = ["Survey", "survey", "section", "write_section", "SectionExists"]

_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w\.]*)", re.M)
_CLASS = re.compile(r"^\s*class\s+(\w+)\s*(?:\(([^)]*)\))?\s*:", re.M)
_SESSION_USE = re.compile(
    r"(?<![\w\.])((?:[A-Za-z_]\w*\.)*(?:[A-Za-z_]\w*_)?session|(?:[A-Za-z_]\w*\.)*get_session|db)"
    r"\.(?:query|add|add_all|commit|rollback|delete|merge|flush|execute|scalars|scalar|exec|begin_nested)\("
)
# sessions that are not database sessions: Flask's cookie session, HTTP clients
_NOT_DATABASE = ("flask", "request", "http", "cookie", "client", "aiohttp")
_DECORATOR_DEF = re.compile(r"^def\s+(transaction|transactional|unit_of_work|atomic)\s*\(", re.M)
_RUN = re.compile(r"^\s+def\s+run\s*\(\s*self", re.M)
_DAO_DIRS = ("daos", "dao", "repositories", "crud")


class SectionExists(Exception):
    """pyproject.toml already has a `[tool.dao-lint]` section (use --force to replace it)."""


@dataclass
class Survey:
    root: str
    files: int = 0
    imports: Counter = field(default_factory=Counter)  # top-level package -> files importing it
    packages: List[str] = field(default_factory=list)  # the project's own top-level packages
    dao_classes: List[Tuple[str, str]] = field(default_factory=list)  # (relpath, class)
    dao_dirs: Counter = field(default_factory=Counter)  # glob -> DAO classes found there
    dao_bases: Counter = field(default_factory=Counter)
    sessions: Counter = field(default_factory=Counter)  # expression -> uses
    decorator: Optional[str] = None  # dotted path of the transaction decorator
    commands: int = 0  # classes with `run(self)` under a commands directory

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
    from .api import collect_files

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
        for name, bases in _CLASS.findall(text):
            base_names = [b.strip().split("[")[0].split(".")[-1] for b in bases.split(",") if b.strip()]
            if re.search(r"(DAO|Dao|Repository)$", name) or any(re.search(r"(DAO|Dao)$", b) for b in base_names):
                found.dao_classes.append((rel, name))
                for base in base_names:
                    if re.search(r"(DAO|Dao)$", base):
                        found.dao_bases[base] += 1
                directory = next((d for d in parts[:-1] if d in _DAO_DIRS), None)
                if directory is not None:
                    found.dao_dirs[f"**/{directory}/**"] += 1
                elif re.search(r"(_dao|dao|_repository)\.py$", parts[-1]):
                    found.dao_dirs["**/" + ("*_dao.py" if parts[-1].endswith("_dao.py") else parts[-1])] += 1
        for expression in _SESSION_USE.findall(text):
            if not any(word in expression.lower() for word in _NOT_DATABASE):
                found.sessions[expression] += 1
        match = _DECORATOR_DEF.search(text)
        if match and found.decorator is None:
            module = rel[:-3].replace("/", ".")
            module = module[: -len(".__init__")] if module.endswith(".__init__") else module
            found.decorator = f"{module}.{match.group(1)}"
        if "commands" in parts[:-1]:
            found.commands += len(_RUN.findall(text))
    return found


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
    known = list(base.get("dao-modules", ["**/dao.py", "**/daos/**", "**/*_dao.py", "**/dao/**", "**/repositories/**"]))
    if dao_modules and not set(dao_modules) <= set(known):
        lines.append(f"dao-modules = {_toml_list(sorted(set(known) | set(dao_modules)))}")
    bases = [b for b, _ in found.dao_bases.most_common() if b != "BaseDAO"]
    if bases:
        lines.append(f"dao-base-classes = {_toml_list(['BaseDAO', *bases])}")
    names = list(base.get("session-names", ["db.session", "session", "db_session", "_session", "self.session", "self._session"]))
    frequent = [e for e, n in found.sessions.most_common() if n >= 3 and e not in names and e != "db"]
    if frequent:
        lines.append(f"session-names = {_toml_list(names + frequent)}")
    configured = base.get("transaction-decorator")
    if found.decorator and found.decorator != configured:
        lines.append(f'transaction-decorator = "{found.decorator}"')
    elif configured and not found.decorator:
        lines.append(f'transaction-decorator = ""  # {configured} does not exist here yet')
    return "\n".join(lines) + "\n"


def report(found: Survey) -> List[str]:
    """What the survey found, one line each, for the person running `init`."""
    out = [f"surveyed {found.files} Python files under {found.root}"]
    preset = found.preset
    out.append(f"stack: {preset} (preset = \"{preset}\")" if preset else "stack: no SQLAlchemy import found; using the defaults")
    if found.dao_classes:
        where = ", ".join(f"{g} ({n})" for g, n in found.dao_dirs.most_common()) or "outside DAO directories"
        out.append(f"DAOs: {len(found.dao_classes)} classes, in {where}")
    else:
        out.append("DAOs: none found (classes named *DAO, *Dao or *Repository)")
    if found.sessions:
        top = ", ".join(f"{e} ({n})" for e, n in found.sessions.most_common(4))
        out.append(f"sessions: {top}")
    out.append(f"transaction decorator: {found.decorator}" if found.decorator else "transaction decorator: none found")
    out.append(f"commands: {found.commands} `run` methods under commands/ (boundaries)" if found.commands else "commands: none found")
    return out


def write_section(pyproject: str, text: str, force: bool = False) -> str:
    """Add (or with `force`, replace) the `[tool.dao-lint]` section; returns what was done."""
    from .files import write_atomic

    try:
        with open(pyproject, encoding="utf-8") as handle:
            current = handle.read()
    except FileNotFoundError:
        write_atomic(pyproject, text.encode("utf-8"))
        return f"created {pyproject}"
    header = re.compile(r"^\[tool\.dao-lint(?:\.[^\]]+)?\]\s*$", re.M)
    if not header.search(current):
        joined = current if current.endswith("\n") or not current else current + "\n"
        write_atomic(pyproject, (joined + ("\n" if joined else "") + text).encode("utf-8"))
        return f"added [tool.dao-lint] to {pyproject}"
    if not force:
        raise SectionExists(f"{pyproject} already has a [tool.dao-lint] section; use --force to replace it, or --print")
    kept, skipping = [], False
    for line in current.splitlines(keepends=True):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            skipping = bool(header.match(stripped))
        if not skipping:
            kept.append(line)
    rest = "".join(kept).rstrip("\n")
    write_atomic(pyproject, ((rest + "\n\n" if rest else "") + text).encode("utf-8"))
    return f"replaced [tool.dao-lint] in {pyproject}"
