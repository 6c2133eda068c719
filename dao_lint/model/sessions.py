"""The project's session model: which names give a session, by what the values are.

Built once per project from the sketches of all its files (`dao_lint.sketch`), before any
rule runs, and handed to the session analysis through the configuration. It answers, for
a qualified name: what calling it gives (`get_db()` returns a session it made), what
entering it gives (`async with open_db(db) as s:` where `open_db` is an
`@asynccontextmanager` yielding one), what `Depends(it)` hands a path operation, and
whether an annotation names a session type (`SessionDep = Annotated[Session, Depends(...)]`)
or the project's own class that only happens to be called `Session`.

Values are evaluated abstractly, demand-driven and memoised, in a fixed order (so the same
project always gives the same model):

    ("session", origins)   origins: "made" (a new session), "current" (the thread's or
                           request's), "handed" (one the caller passed in)
    ("factory",)           calling it makes a session: `sessionmaker(...)`, `Session`
    ("scoped",)            a `scoped_session` registry
    ("cm", origins)        a context manager whose `as` target is a session
    ("gen", origins)       a generator yielding a session (a FastAPI dependency)
    ("callable", value)    calling it gives `value` (`contextmanager(get_session)`)
    ("function" | "class" | "instance", path, name), ("module", path)
    ("external", qualified) another library's name; ("not",) never a session; None unknown
"""
from __future__ import annotations

import dataclasses
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

from ..foundations.vocabulary import FACTORY_MAKERS, FACTORY_NAMES, NON_DB_PACKAGES, SCOPED_MAKERS, SESSION_CLASSES, SESSION_TYPES, module_name
from ..foundations.config import Config
from ..foundations.globs import name_matches
from .modules import ModuleTable
from .session_model import ProjectSessions
from .sketch import FileSketch, sketch_source

__all__ = ["ProjectSessions", "build_sessions", "own_sessions"]

Value = Optional[tuple]
NOT: tuple = ("not",)
_SESSIONISH = ("session", "cm", "gen", "factory", "scoped")
_BUILTIN_TYPES = frozenset({
    "str", "int", "float", "bool", "bytes", "dict", "list", "set", "tuple", "frozenset", "None",
    "typing.Dict", "typing.List", "typing.Set", "typing.Tuple", "datetime.datetime", "uuid.UUID",
})
_UNKNOWN_TYPES = frozenset({"", "Any", "typing.Any", "object", "typing_extensions.Any"})
_DB_ROOTS = frozenset({"sqlalchemy", "sqlmodel", "flask_sqlalchemy", "sqlalchemy_utils"})


def _origins(value: Value) -> FrozenSet[str]:
    return value[1] if value is not None and value[0] in ("session", "cm", "gen") else frozenset()


def _join(values: Iterable[Value]) -> Value:
    """One value for "any of these": session-like ones win, with their origins merged."""
    values = list(values)
    for kind in ("session", "cm", "gen"):
        found = [v for v in values if v is not None and v[0] == kind]
        if found:
            return (kind, frozenset().union(*(v[1] for v in found)))
    if values and all(v == values[0] for v in values):
        return values[0]
    for kind in ("factory", "scoped"):
        if any(v is not None and v[0] == kind for v in values):
            return (kind,)
    return NOT if values and all(v == NOT for v in values) else None


class _Evaluator(ModuleTable[FileSketch]):
    def __init__(self, sketches: Iterable[FileSketch], session_names: Tuple[str, ...]) -> None:
        super().__init__(sketches)
        self.plain_names = frozenset(n for n in session_names if "*" not in n and "?" not in n)
        self.globs = tuple(n for n in session_names if n not in self.plain_names)
        self.results: Dict[Tuple[str, str], Value] = {}
        self.assigned: Dict[Tuple[str, str], Value] = {}
        self.busy: set = set()

    def configured(self, dotted: str) -> bool:
        return dotted in self.plain_names or bool(self.globs and name_matches(self.globs, dotted))

    # -- names ------------------------------------------------------------------------
    def lookup(self, record: FileSketch, dotted: str, depth: int = 0) -> Value:
        if not dotted or depth > 8:
            return None
        dotted = self.absolute(record, dotted)
        parts = dotted.split(".")
        if self._defines(record, parts[0]):
            return self._attrs(self.symbol(record, parts[0], depth), parts[1:])
        for cut in range(len(parts), 0, -1):
            module = self._module(".".join(parts[:cut]))
            if module is None:
                continue
            if cut == len(parts):
                return ("module", module.path)
            return self._attrs(self.symbol(module, parts[cut], depth), parts[cut + 1 :])
        return ("external", dotted)

    @staticmethod
    def _defines(record: FileSketch, name: str) -> bool:
        info = record.functions.get(name)
        return (info is not None and info.class_name is None) or name in record.classes or name in record.assigned

    def symbol(self, module: FileSketch, name: str, depth: int = 0) -> Value:
        info = module.functions.get(name)
        if info is not None and info.class_name is None:
            return ("function", module.path, name)
        if name in module.classes:
            return ("class", module.path, name)
        if name in module.assigned:
            key = (module.path, name)
            if key not in self.assigned:
                if key in self.busy:
                    return None
                self.busy.add(key)
                self.assigned[key] = self.evaluate(module, None, module.assigned[name])
                self.busy.discard(key)
            return self.assigned[key]
        if name in module.imports:
            return self.lookup(module, module.imports[name], depth + 1)
        return None

    def _attrs(self, value: Value, names: List[str]) -> Value:
        for name in names:
            value = self.attr(value, name)
        return value

    def attr(self, value: Value, name: str) -> Value:
        if value is None:
            return None
        kind = value[0]
        if kind == "module":
            return self.symbol(self.files[value[1]], name)
        if kind == "external":
            return ("external", f"{value[1]}.{name}")
        if kind == "factory" and name == "begin":
            return ("callable", ("cm", frozenset({"made"})))
        if kind in ("class", "instance"):
            method = self.find_method(value[1], value[2], name)
            if method is not None:
                info = self.files[method[0]].functions[method[1]]
                if info.property and kind == "instance":
                    return self.result(*method)
                return ("function", *method)
            return self._class_attribute(value[1], value[2], name)
        if kind == "not":
            return NOT
        return None

    def _class_attribute(self, path: str, class_name: str, name: str, depth: int = 0) -> Value:
        record = self.files[path]
        info = record.classes.get(class_name)
        if info is None or depth > 8:
            return None
        if self.enum_class(path, class_name):
            return NOT  # `ObjectTypes.query`: a member of an enumeration
        if name in info.attributes:
            key = (path, f"{class_name}.{name}", "attribute")
            if key in self.busy:
                return None  # `self.x = self.x.y`
            self.busy.add(key)
            try:
                return self.evaluate(record, None, info.attributes[name], class_name)
            finally:
                self.busy.discard(key)
        for base in info.bases:
            found = self.lookup(record, base)
            if found is not None and found[0] == "class":
                inherited = self._class_attribute(found[1], found[2], name, depth + 1)
                if inherited is not None:
                    return inherited
        return None

    # -- what values are --------------------------------------------------------------
    def call(self, value: Value, arguments: tuple, record: FileSketch, class_name: Optional[str]) -> Value:
        if value is None:
            return None
        kind = value[0]
        if kind == "function":
            return self.result(value[1], value[2])
        if kind == "class":
            return ("session", frozenset({"made"})) if self.session_class(value[1], value[2]) else ("instance", value[1], value[2])
        if kind == "factory":
            return ("session", frozenset({"made"}))
        if kind == "scoped":
            return ("session", frozenset({"current"}))
        if kind == "callable":
            return value[1]
        if kind == "not":
            return NOT
        if kind != "external":
            return None
        qualified = value[1]
        last = qualified.rsplit(".", 1)[-1]
        root = qualified.split(".")[0]
        if root in NON_DB_PACKAGES:
            return NOT
        if last in FACTORY_MAKERS:
            return ("scoped",) if last in SCOPED_MAKERS else ("factory",)
        if qualified in SESSION_CLASSES or (last in ("Session", "AsyncSession") and root in _DB_ROOTS):
            return ("session", frozenset({"made"}))
        if last in FACTORY_NAMES:  # a factory the project does not show (`SessionLocal()`)
            return ("session", frozenset({"made"}))
        if last in ("contextmanager", "asynccontextmanager") and arguments:
            wrapped = self.evaluate(record, None, arguments[0], class_name)
            inner = self.call(wrapped, (), record, class_name)
            return ("callable", ("cm", inner[1])) if inner is not None and inner[0] == "gen" else None
        if last == "object_session":
            return ("session", frozenset({"handed"}))
        return None

    def enter(self, value: Value) -> Value:
        if value is not None and value[0] in ("cm", "session"):
            return ("session", value[1])
        return None

    def evaluate(self, record: FileSketch, function, expr: tuple, class_name: Optional[str] = None, depth: int = 0) -> Value:  # noqa: ANN001, C901
        if depth > 12:
            return None
        kind = expr[0]
        if kind == "name":
            found = self.lookup(record, expr[1])
            if (found is None or found[0] in ("external",)) and self.configured(expr[1]):
                return ("session", frozenset({"current"}))
            return found
        if kind == "self":
            value: Value = ("instance", record.path, expr[1])
            found = self._attrs(value, expr[2].split(".")) if expr[2] else value
            if found is None and expr[2] and self.configured("self." + expr[2]):
                return ("session", frozenset({"current"}))
            return found
        if kind == "param":
            _, name, types, depends = expr
            if types:
                typed = self.classify_types(record, types)
                if typed is not None:
                    return ("session", frozenset({"handed"})) if typed else NOT
            if depends:
                given = self.call(self.lookup(record, depends), (), record, class_name)
                if given is not None and given[0] in ("session", "gen"):
                    return ("session", frozenset({"handed"}))
            if self.configured(name):
                return ("session", frozenset({"handed"}))
            # what the caller hands in is not followed; the name may still say it
            # (`def make_scope(SessionMaker)`, `session_factory`): a factory
            lowered = name.lower()
            return ("factory",) if "session" in lowered and ("maker" in lowered or "factory" in lowered) else None
        if kind == "call":
            target = self.evaluate(record, function, expr[1], class_name, depth + 1)
            return self.call(target, expr[2], record, class_name)
        if kind == "attr":
            return self.attr(self.evaluate(record, function, expr[1], class_name, depth + 1), expr[2])
        if kind == "enter":
            return self.enter(self.evaluate(record, function, expr[1], class_name, depth + 1))
        if kind == "either":
            return _join(self.evaluate(record, function, e, class_name, depth + 1) for e in expr[1])
        if kind == "def":
            return ("function", record.path, expr[1])
        if kind == "const":
            return NOT
        if kind == "alias":
            return ("alias", record.path, expr[1])
        return None

    def result(self, path: str, qualname: str) -> Value:
        """What calling the function gives."""
        key = (path, qualname)
        if key in self.results:
            return self.results[key]
        if key in self.busy:
            return None
        self.busy.add(key)
        record = self.files[path]
        info = record.functions[qualname]
        values = [self.evaluate(record, info, v, info.class_name) for v in info.values]
        found = _join(values) if values else None
        shape, types = info.returns
        typed = self.classify_types(record, types) if types else None
        manager = any(d.rsplit(".", 1)[-1] in ("contextmanager", "asynccontextmanager") for d in info.decorators)
        answer: Value
        if typed is False:
            answer = NOT  # the annotation names another type: it wins over names and values
        elif manager or info.generator:
            origins = _origins(found) if found is not None and found[0] == "session" else frozenset()
            if not origins and typed:
                origins = frozenset({"current"})
            answer = (("cm" if manager else "gen"), origins) if origins else None
        elif found is not None and found[0] in _SESSIONISH + ("callable", "instance", "function"):
            answer = found  # (a function handed out: `return make_managed_session`)
        elif typed:
            answer = (("cm" if shape == "cm" else "session"), frozenset({"current"}))
        else:
            answer = found if found == NOT else None
        self.busy.discard(key)
        self.results[key] = answer
        return answer

    def classify_types(self, record: FileSketch, types: Tuple[str, ...]) -> Optional[bool]:
        """True when one of the type names is a session type, False when every one is
        known to be something else, None when the sketch cannot tell."""
        verdicts = [self.session_type(record, t) for t in types]
        if any(v is True for v in verdicts):
            return True
        if verdicts and all(v is False for v in verdicts):
            return False
        return None

    def session_type(self, record: FileSketch, name: str, depth: int = 0) -> Optional[bool]:
        if name in _UNKNOWN_TYPES or depth > 6:
            return None
        if name in _BUILTIN_TYPES:
            return False
        found = self.lookup(record, name)
        if found is None:
            return None
        if found[0] == "class":
            return self.session_class(found[1], found[2])
        if found[0] == "external":
            qualified = found[1]
            last = qualified.rsplit(".", 1)[-1]
            if qualified.split(".")[0] in NON_DB_PACKAGES:
                return False
            return True if last in SESSION_TYPES else (None if "." not in qualified else False)
        if found[0] == "alias":
            return self.classify_types(self.files[found[1]], found[2])
        return False if found[0] in ("function", "module") else None

    def members(self, path: str, name: str, depth: int = 0):  # noqa: ANN201 - (attributes, methods)
        """The attribute and method names of a project class, its bases' included."""
        info = self.files[path].classes.get(name)
        attributes, methods = set(), set()
        if info is None or depth > 8:
            return attributes, methods
        attributes |= set(info.attributes)
        methods |= set(info.methods)
        for base in info.bases:
            found = self.lookup(self.files[path], base)
            if found is not None and found[0] == "class" and (found[1], found[2]) != (path, name):
                more, calls = self.members(found[1], found[2], depth + 1)
                attributes |= more
                methods |= calls
        return attributes, methods

    def enum_class(self, path: str, name: str, depth: int = 0) -> bool:
        info = self.files[path].classes.get(name)
        if info is None or depth > 8:
            return False
        for base in info.bases:
            found = self.lookup(self.files[path], base)
            if found is not None and found[0] == "class" and (found[1], found[2]) != (path, name) and self.enum_class(found[1], found[2], depth + 1):
                return True
            if found is not None and found[0] == "external" and found[1].rsplit(".", 1)[-1] in ("Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"):
                return True
        return False

    def session_class(self, path: str, name: str, depth: int = 0) -> bool:
        """A class of the project that is a session: derived from SQLAlchemy's."""
        info = self.files[path].classes.get(name)
        if info is None or depth > 8:
            return False
        for base in info.bases:
            found = self.lookup(self.files[path], base)
            if found is None:
                continue
            if found[0] == "class" and (found[1], found[2]) != (path, name) and self.session_class(found[1], found[2], depth + 1):
                return True
            if found[0] == "external" and found[1].rsplit(".", 1)[-1] in SESSION_TYPES and found[1].split(".")[0] not in NON_DB_PACKAGES:
                return True
        return False


def _worth_keeping(name: str, value: Value) -> bool:
    """Session-like answers, and "not a session" for names a guess would take for one."""
    if value is None:
        return False
    if value[0] in _SESSIONISH or (value[0] == "callable" and value[1] is not None and value[1][0] in _SESSIONISH):
        return True
    last = name.rsplit(".", 1)[-1].lower()
    # (`query`: a class attribute that is no Flask-SQLAlchemy query, `ObjectTypes.query`)
    return value == NOT and ("session" in last or "db" in last or last == "query")


def build_sessions(sketches: Iterable[FileSketch], session_names: Tuple[str, ...], dao_modules: FrozenSet[str] = frozenset()) -> ProjectSessions:
    """The session model of a project from the sketches of its files."""
    evaluator = _Evaluator(sorted(sketches, key=lambda s: s.path), session_names)
    names: Dict[str, tuple] = {}
    for path in sorted(evaluator.files):
        record = evaluator.files[path]
        prefix = f"{record.module}." if record.module else ""
        for qualname in sorted(record.functions):
            value = evaluator.result(path, qualname)
            if _worth_keeping(qualname, value):
                names[prefix + qualname] = ("calls", value)
        for class_name in sorted(record.classes):
            if evaluator.session_class(path, class_name):
                names[prefix + class_name] = ("type", True)
            elif class_name in SESSION_TYPES:
                names[prefix + class_name] = ("type", False)  # a domain model named `Session`
            attributes, methods = evaluator.members(path, class_name)  # (inherited ones too)
            if evaluator.enum_class(path, class_name):
                attributes.add("query")
            for attribute in sorted(attributes - methods):
                value = evaluator._class_attribute(path, class_name, attribute)
                if value is not None and value[0] == "function":  # `self.Maker = make_maker(...)`
                    called = evaluator.result(value[1], value[2])
                    value = ("callable", called) if called is not None and called[0] in _SESSIONISH else None
                if _worth_keeping(attribute, value):
                    names[f"{prefix}{class_name}.{attribute}"] = ("value", value)
            for method in sorted(methods - set(record.classes[class_name].methods)):
                found = evaluator.find_method(path, class_name, method)
                result = evaluator.result(*found) if found is not None else None
                if _worth_keeping(method, result):
                    names[f"{prefix}{class_name}.{method}"] = ("calls", result)
        for name in sorted(record.assigned):
            value = evaluator.symbol(record, name)
            if value is not None and value[0] == "instance":
                for method in sorted(evaluator.files[value[1]].classes[value[2]].methods):
                    result = evaluator.result(*evaluator.find_method(value[1], value[2], method))
                    if _worth_keeping(method, result):
                        names[f"{prefix}{name}.{method}"] = ("calls", result)
            elif value is not None and value[0] in ("alias", "external", "class"):
                # `SessionDep = Annotated[Session, Depends(get_db)]`, `DbSession = Session`
                typed = evaluator.session_type(record, name)
                if typed:
                    names[prefix + name] = ("type", True)
            elif _worth_keeping(name, value):
                names[prefix + name] = ("value", value)
    _add_reexports(evaluator, names)
    idle = frozenset(f"{r.module}.{q}" if r.module else q for r in evaluator.files.values() for q in r.idle)
    return ProjectSessions(names, dao_modules, idle)


def _add_reexports(evaluator: _Evaluator, names: Dict[str, tuple]) -> None:
    """`from .db import get_db` in a package's `__init__`: `package.get_db` too."""
    for _ in range(3):  # chains of re-exports
        added = False
        for path in sorted(evaluator.files):
            record = evaluator.files[path]
            if not record.module:
                continue
            for local, target in sorted(record.imports.items()):
                name = f"{record.module}.{local}"
                found = names.get(evaluator.absolute(record, target))
                if found is not None and name not in names:
                    names[name] = found
                    added = True
        if not added:
            break


def own_sessions(config: Config, text: str, path: str) -> Config:
    """`config` carrying the session model of this one file (checked alone: an example, an
    in-memory source, a test of the analysis)."""
    relpath = config.relpath(path)
    module = module_name(relpath)
    dao = config.is_dao_module(relpath)
    sketch = sketch_source(text, path, module, relpath.endswith("__init__.py"), dao)
    daos = frozenset({module}) if dao else frozenset()
    return dataclasses.replace(config, project_sessions=build_sessions([sketch] if sketch else [], config.session_names, daos))
