"""SQLite engines of a module and whether they carry pysqlite's SAVEPOINT fix."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst
from libcst.metadata import BatchableMetadataProvider

from .context import FileContextProvider
from ..foundations.vocabulary import URI_SETTING
from .names import dotted_name
from .visitors import CachedVisitors
from .walk import visit_in_place

__all__ = ["SqliteEngine", "EngineFacts", "ModuleEngines", "URI_SETTING"]




@dataclass(frozen=True)
class SqliteEngine:
    name: str  # the engine's name, or URI_SETTING for a setting
    #: `engine = create_engine("sqlite://...")`; for a setting, where it is given (an
    #: assignment, `app.config["..."] = ...`, or a `setdefault(...)` call)
    assignment: cst.CSTNode
    literal: bool  # the URL is a plain sqlite string (not a setting that may name another database)
    fixed: bool  # a `savepoint` listener, or `connect` and `begin` ones, registered for it (a setting: on `Engine`) here
    setting: bool = False

    @property
    def url(self) -> cst.CSTNode:
        """Where its position is taken: an engine's URL expression, a setting's assignment."""
        if isinstance(self.assignment, cst.Assign) and not self.setting:
            return self.assignment.value
        return self.assignment


@dataclass(frozen=True)
class ModuleEngines:
    engines: Tuple[SqliteEngine, ...]
    #: the module registers the fix's listeners on SQLAlchemy's `Engine` class
    #: or on an app's engine (`db.engine`): the fix for an engine made out of sight
    class_listeners: bool = False


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
    as `os.environ.get("DATABASE_URL", "sqlite:///app.db")`. So is the engine of an app whose
    `SQLALCHEMY_DATABASE_URI` setting is or defaults to one (the first such setting of the
    module: a config class, `app.config[...] = ...`, `app.config.setdefault(...)`).
    """

    METADATA_DEPENDENCIES = (FileContextProvider,)

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

        text = self.get_metadata(FileContextProvider, node).text or ""
        setting = _sqlite_setting(node) if URI_SETTING in text else None
        if candidates or setting is not None or ("listen" in text and "Engine" in text or "engine," in text):
            visit_in_place(node, Listeners())
        engines = tuple(
            SqliteEngine(name, assign, literal, _fixes(listeners.get(name, set())))
            for name, assign, literal in candidates
        )
        # on the class, or on an app's engine (`db.engine`, not a module-level engine of its own)
        on_class = set().union(*(
            events for target, events in listeners.items() if target.rsplit(".", 1)[-1] == "Engine" or ("." in target and target.endswith(".engine"))
        ))
        class_listeners = _fixes(on_class)
        if setting is not None:
            engines += (SqliteEngine(URI_SETTING, setting[0], setting[1], class_listeners, setting=True),)
        self.set_metadata(node, ModuleEngines(engines, class_listeners))


def _fixes(events: Set[str]) -> bool:
    """The listeners make SAVEPOINTs nest: a `savepoint` one that begins the transaction
    first (what `fix` writes), or SQLAlchemy's `connect` and `begin` pair."""
    return "savepoint" in events or {"connect", "begin"} <= events


def _sqlite_setting(module: cst.Module) -> Optional[Tuple[cst.CSTNode, bool]]:
    """The first place the module gives `SQLALCHEMY_DATABASE_URI` a value that is or
    defaults to a sqlite URL, and whether it is a plain literal."""
    found: List[Tuple[cst.CSTNode, bool]] = []

    def note(where: cst.CSTNode, value: cst.BaseExpression) -> None:
        if not found and _mentions_sqlite(value):
            found.append((where, isinstance(value, cst.SimpleString)))

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, assign: cst.Assign) -> None:
            for target in assign.targets:
                if _names_setting(target.target):
                    note(assign, assign.value)

        def visit_AnnAssign(self, assign: cst.AnnAssign) -> None:
            if assign.value is not None and _names_setting(assign.target):
                note(assign, assign.value)

        def visit_Call(self, call: cst.Call) -> None:
            # app.config.setdefault("SQLALCHEMY_DATABASE_URI", ...), config.update(SQLALCHEMY_DATABASE_URI=...)
            method = call.func.attr.value if isinstance(call.func, cst.Attribute) else ""
            if method == "setdefault" and len(call.args) >= 2 and _is_setting_key(call.args[0].value):
                note(call, call.args[1].value)
            for arg in call.args:
                if arg.keyword is not None and arg.keyword.value == URI_SETTING:
                    note(call, arg.value)

        def visit_DictElement(self, element: cst.DictElement) -> None:
            if _is_setting_key(element.key):
                note(element, element.value)

    visit_in_place(module, Finder())
    return found[0] if found else None


def _is_setting_key(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.SimpleString) and node.evaluated_value == URI_SETTING


def _names_setting(target: cst.BaseExpression) -> bool:
    """`SQLALCHEMY_DATABASE_URI = ...` (a module or config class), `config["..."] = ...`."""
    if isinstance(target, cst.Name):
        return target.value == URI_SETTING
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        return isinstance(index, cst.Index) and _is_setting_key(index.value)
    return False
