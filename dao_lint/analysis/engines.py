"""SQLite engines of a module and whether they carry pysqlite's SAVEPOINT fix."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Set, Tuple

import libcst as cst
from libcst.metadata import BatchableMetadataProvider

from .names import dotted_name
from .visitors import CachedVisitors
from .walk import visit_in_place

__all__ = ["SqliteEngine", "EngineFacts", "ModuleEngines"]


@dataclass(frozen=True)
class SqliteEngine:
    name: str
    assignment: cst.Assign  # `engine = create_engine("sqlite://...")`
    literal: bool  # the URL is a plain sqlite string (not a setting that may name another database)
    fixed: bool  # `connect` and `begin` listeners are registered for it in this module


@dataclass(frozen=True)
class ModuleEngines:
    engines: Tuple[SqliteEngine, ...]


def _mentions_sqlite(node: cst.CSTNode) -> bool:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            value = string.evaluated_value
            if isinstance(value, str) and value.startswith("sqlite"):
                found.append(string)

    visit_in_place(node, Finder())
    return bool(found)


class EngineFacts(CachedVisitors, BatchableMetadataProvider[ModuleEngines]):
    """Attaches `ModuleEngines` to the Module node.

    A module-level `name = create_engine(url)` is a SQLite engine when `url` is a sqlite
    string, or an expression (or a module-level name bound to one) that mentions one, such
    as `os.environ.get("DATABASE_URL", "sqlite:///app.db")`.
    """

    def visit_Module(self, node: cst.Module) -> None:
        settings: Dict[str, bool] = {}
        candidates = []
        listeners: Dict[str, Set[str]] = {}
        for statement in node.body:
            for small in getattr(statement, "body", ()) if isinstance(statement, cst.SimpleStatementLine) else ():
                if not isinstance(small, cst.Assign):
                    continue
                names = [t.target.value for t in small.targets if isinstance(t.target, cst.Name)]
                value = small.value
                callee = (dotted_name(value.func) or "").rsplit(".", 1)[-1] if isinstance(value, cst.Call) else ""
                if callee in ("create_engine", "create_async_engine") and value.args:
                    url = value.args[0].value
                    literal = isinstance(url, cst.SimpleString) and _mentions_sqlite(url)
                    sqlite = literal or _mentions_sqlite(url) or (isinstance(url, cst.Name) and settings.get(url.value, False))
                    if sqlite:
                        for name in names:
                            candidates.append((name, small, literal))
                else:
                    for name in names:
                        settings[name] = _mentions_sqlite(value)

        class Listeners(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                name = (dotted_name(call.func) or "").rsplit(".", 1)[-1]
                if name in ("listens_for", "listen") and len(call.args) >= 2:
                    target = dotted_name(call.args[0].value)
                    event = call.args[1].value
                    if target and isinstance(event, cst.SimpleString) and isinstance(event.evaluated_value, str):
                        listeners.setdefault(target, set()).add(event.evaluated_value)

        if candidates:
            visit_in_place(node, Listeners())
        engines = tuple(
            SqliteEngine(name, assign, literal, {"connect", "begin"} <= listeners.get(name, set()))
            for name, assign, literal in candidates
        )
        self.set_metadata(node, ModuleEngines(engines))
