"""Which calls are made on a SQLAlchemy session, and what they do (commit, write, read...).

The provider follows names through the file (imports, factories, parameters and their
annotations, assignments, `with ... as` targets) and asks the project's session model what
names from elsewhere give (`ModelView`). A configured session name counts unless the file
shows it is something else (`from flask import session`, `session = requests.Session()`).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst
from libcst.metadata import BatchableMetadataProvider

from .context import FileContext, FileContextProvider
from .visitors import CachedVisitors
from ..foundations.globs import name_matches
from .model_view import ModelView
from .names import collect_imports, dotted_name, import_bindings, qualify, root_module
from .commit_helpers import is_commit_helper
from .queries import QueryCalls
from .session_kinds import (
    ENGINE_MAKERS, FACTORY_MAKERS, FACTORY_NAMES, NEVER_SESSIONS, NON_DB_PACKAGES, SCOPED_MAKERS, SESSION_CLASSES,
    SESSION_TYPES, Action, FunctionSessions, Origin, SessionUse, 
)

__all__ = ["Action", "Origin", "SessionUse", "SessionFacts", "FunctionSessions", "NON_DB_PACKAGES", "is_commit_helper"]  # re-exported vocabulary


class _Binding(enum.Enum):
    SESSION = "session"
    NOT_SESSION = "not-session"
    UNKNOWN = "unknown"  # bound to what the analysis cannot see: a configured name stays one


@dataclass
class _Scope:
    names: Dict[str, Tuple[_Binding, Origin]]
    statements: Dict[str, Action]  # name -> kind of SQL statement assigned to it
    parameters: List[str]
    queries: Dict[str, str] = field(default_factory=dict)  # name -> the session a query kept in it reads


class SessionFacts(QueryCalls, CachedVisitors, BatchableMetadataProvider[object]):
    """Attaches a `SessionUse` to every call on (or creating) a session, and a
    `FunctionSessions` to every function with session parameters."""

    METADATA_DEPENDENCIES = (FileContextProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.imports: Dict[str, str] = {}
        self.factories: Set[str] = set()  # names that create sessions when called
        self.scoped: Set[str] = set()  # scoped_session registries: also usable as sessions
        self.engines: Set[str] = set()
        self.session_names: frozenset = frozenset()
        self.session_globs: Tuple[str, ...] = ()
        self.scopes: List[_Scope] = []
        self.classes: List[Set[str]] = []  # per class: self.<attr> known not to be sessions
        self.awaited: Set[int] = set()
        self.query_writes: Dict[int, str] = {}  # id of a query() call -> the bulk method
        self.queries_seen: Set[int] = set()  # ids of `Model.query` attributes a call reported
        self.view = ModelView(None, "", False, {})
        self.class_names: List[str] = []

    # -- module and scopes ------------------------------------------------------------
    def visit_Module(self, node: cst.Module) -> None:
        context: FileContext = self.get_metadata(FileContextProvider, node)
        self.session_names = frozenset(n for n in context.config.session_names if "*" not in n and "?" not in n)
        # `*.db.session`: Flask-SQLAlchemy reached through a module (`models.db.session`)
        self.session_globs = tuple(n for n in context.config.session_names if "*" in n or "?" in n)
        self.imports = collect_imports(node)
        self.view = ModelView(context.config.project_sessions, context.module_name, context.relpath.endswith("__init__.py"), self.imports)
        self.scopes = [_Scope({}, {}, [])]
        for local, qualified in self.imports.items():
            self._bind_import(local, qualified)
        for statement in node.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                        self._note_module_assignment(small)

    def _bind_import(self, local: str, qualified: str) -> None:
        scope = self.scopes[-1]
        if root_module(qualified) in NON_DB_PACKAGES:
            scope.names[local] = (_Binding.NOT_SESSION, Origin.NONE)
        elif local in scope.names:
            del scope.names[local]

    def _note_module_assignment(self, node: cst.CSTNode) -> None:
        targets = (
            [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
        )
        value = node.value
        if not isinstance(value, cst.Call):
            return
        maker = qualify(dotted_name(value.func), self.imports) or ""
        last = maker.rsplit(".", 1)[-1]
        # scoped_session(sessionmaker(...)) and sessionmaker(...) both make factories
        for target in targets:
            name = dotted_name(target)
            if name is None:
                continue
            if last in FACTORY_MAKERS:
                self.factories.add(name)
                if last in SCOPED_MAKERS:
                    self.scoped.add(name)
            elif last in ENGINE_MAKERS:
                self.engines.add(name)

    def visit_Import(self, node: cst.Import) -> None:
        if len(self.scopes) > 1:
            for local, qualified in import_bindings(node).items():
                self._bind_import(local, qualified)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if len(self.scopes) > 1:
            for local, qualified in import_bindings(node).items():
                self._bind_import(local, qualified)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(_non_session_attributes(node, self))
        self.class_names.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()
        self.class_names.pop()

    # -- the project's session model ---------------------------------------------------
    def _project(self, expr: cst.BaseExpression) -> Optional[tuple]:
        dotted = dotted_name(expr)
        head = dotted.split(".")[0] if dotted is not None else None
        if head is None or (head not in ("self", "cls") and self._locally_bound(head)):
            return None
        return self.view.entry(dotted, self.class_names[-1] if self.class_names else None)

    def _provided(self, call: cst.Call, entered: bool) -> Optional[Tuple[_Binding, Origin]]:
        """A call of a name the model knows: a session (obtained from it), not a session,
        or None when the model does not tell."""
        entry = self._project(call.func)
        given = self.view.called(entry, entered)
        if given == "not":
            return (_Binding.NOT_SESSION, Origin.NONE)
        if given == "handed":  # `helper(self.session)`: the session it was handed
            for arg in call.args:
                if isinstance(arg.value, (cst.Name, cst.Attribute)):
                    handed = self._classify_value(arg.value)
                    if handed is not None and handed[0] is _Binding.SESSION:
                        return handed
        if given is None:
            return None
        # a factory or session class called makes one here; a function gives what it got
        return (_Binding.SESSION, Origin.CREATED if given == "made" and entry[0] in ("type", "value") else Origin.OBTAINED)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = _Scope({}, {}, [])
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self._bind_parameter(scope, param)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                scope.names[star.name.value] = (_Binding.NOT_SESSION, Origin.NONE)
        self.scopes.append(scope)
        if scope.parameters:
            self.set_metadata(node, FunctionSessions(tuple(scope.parameters)))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.scopes.append(_Scope({}, {}, []))

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.scopes.pop()

    def _bind_parameter(self, scope: _Scope, param: cst.Param) -> None:
        name = param.name.value
        if self._depends_on_session(param.default):
            # FastAPI: `db = Depends(get_db)` (whatever the annotation says)
            scope.names[name] = (_Binding.SESSION, Origin.PARAMETER)
            scope.parameters.append(name)
            return
        if param.annotation is not None:
            if self._annotation_is_session(param.annotation.annotation):
                scope.names[name] = (_Binding.SESSION, Origin.PARAMETER)
                scope.parameters.append(name)
            else:
                scope.names[name] = (_Binding.NOT_SESSION, Origin.NONE)
        elif name in self.session_names:
            scope.names[name] = (_Binding.SESSION, Origin.PARAMETER)
            scope.parameters.append(name)
        else:
            scope.names[name] = (_Binding.NOT_SESSION, Origin.NONE)

    def _depends_on_session(self, default: Optional[cst.BaseExpression]) -> bool:
        """`Depends(get_db)` where `get_db` returns or yields a session (this module's own,
        or an imported provider named for sessions: `get_db`, `get_session`...)."""
        if not isinstance(default, cst.Call) or (dotted_name(default.func) or "").rsplit(".", 1)[-1] != "Depends":
            return False
        if not default.args:
            return False
        provider = dotted_name(default.args[0].value) or ""
        known = self.view.depended(self._project(default.args[0].value))
        if known is not None:
            return known
        last = provider.rsplit(".", 1)[-1].lower()
        return provider.split(".")[0] in self.imports and ("session" in last or last in ("get_db", "get_database", "db"))

    def _annotation_is_session(self, annotation: cst.BaseExpression) -> bool:
        """`Session`, `AsyncSession`, `Optional[Session]`, `"Session"` from a database package."""
        if isinstance(annotation, cst.Subscript):
            if (dotted_name(annotation.value) or "").rsplit(".", 1)[-1] == "Annotated":
                first = annotation.slice[0].slice if annotation.slice else None
                return isinstance(first, cst.Index) and self._annotation_is_session(first.value)
            return any(
                isinstance(e.slice, cst.Index) and self._annotation_is_session(e.slice.value)
                for e in annotation.slice
            )
        if isinstance(annotation, cst.BinaryOperation):  # Session | None
            return self._annotation_is_session(annotation.left) or self._annotation_is_session(
                annotation.right
            )
        if isinstance(annotation, cst.SimpleString):
            text = annotation.evaluated_value
            if not isinstance(text, str):
                return False
            text = text.replace("Optional[", "").rstrip("]").split("|")[0].strip()
            dotted = text if all(p.isidentifier() for p in text.split(".")) else None
        else:
            dotted = dotted_name(annotation)
        if dotted is None:
            return False
        known = self.view.entry(dotted, None)
        if known is not None and known[0] == "type":
            return known[1]  # an alias or subclass of the project's, or its own `Session` model
        qualified = qualify(dotted, self.imports) or dotted
        if root_module(qualified) in NON_DB_PACKAGES:
            return False
        last = qualified.rsplit(".", 1)[-1]
        if last in SESSION_TYPES:
            return True
        # an alias or subclass defined in another module of the project (`SessionDep`,
        # `DbSession`, `StoreSession`): named for what it is, imported from the project
        head = dotted.split(".")[0]
        return "Session" in last and head in self.imports and not self.imports[head].startswith(tuple(NON_DB_PACKAGES))

    # -- bindings ----------------------------------------------------------------------
    def _classify_value(self, value: cst.BaseExpression, entered: bool = False) -> Optional[Tuple[_Binding, Origin]]:
        """What a name bound to `value` (or to what entering it gives) is; None when the
        file does not tell. A guess never says "not a session" for a call it cannot see:
        a configured name bound to it stays a session."""
        if isinstance(value, cst.Await):
            value = value.expression
        if isinstance(value, cst.Call):
            provided = self._provided(value, entered)
            if provided is not None:
                return provided
            if self._creation(value) is not None:
                return (_Binding.SESSION, Origin.CREATED)
            func = dotted_name(value.func)
            # factory.begin() yields a new session whose transaction commits on exit
            if isinstance(value.func, cst.Attribute) and value.func.attr.value == "begin":
                base = dotted_name(value.func.value)
                if base is not None and (base in self.factories or base.rsplit(".", 1)[-1] in FACTORY_NAMES):
                    return (_Binding.SESSION, Origin.CREATED)
            qualified = qualify(func, self.imports) or ""
            if qualified and root_module(qualified) in NON_DB_PACKAGES:
                return (_Binding.NOT_SESSION, Origin.NONE)
            if func is not None and (func in self.scoped or self._configured(func)):
                return (_Binding.SESSION, Origin.OBTAINED)  # `session = settings.Session()`
            if func is not None and func.rsplit(".", 1)[-1] == "object_session":
                return (_Binding.SESSION, Origin.PARAMETER)  # the session the object came with: the caller's
            if func is not None and func.rsplit(".", 1)[-1].endswith("Session") and func.split(".")[0] in self.imports:
                # the project's own session class, imported (`with StoreSession(engine) as s:`)
                return (_Binding.SESSION, Origin.CREATED)
            last = (func or "").rsplit(".", 1)[-1].lower()
            if "session" in last or last in ("get_db", "get_db_session"):
                # `helper(self.session)`: the session it was handed, adapted, not a new one
                for arg in value.args:
                    handed = self._classify_value(arg.value) if isinstance(arg.value, (cst.Name, cst.Attribute)) else None
                    if handed is not None and handed[0] is _Binding.SESSION:
                        return handed
                return (_Binding.SESSION, Origin.OBTAINED)
            return None
        if isinstance(value, cst.BooleanOperation):  # session or db.session
            for operand in (value.left, value.right):
                found = self._classify_value(operand)
                if found is not None and found[0] is _Binding.SESSION:
                    return found
            return None
        if isinstance(value, cst.IfExp):
            for operand in (value.body, value.orelse):
                found = self._classify_value(operand)
                if found is not None and found[0] is _Binding.SESSION:
                    return found
            return None
        if isinstance(value, (cst.Name, cst.Attribute)):
            origin = self.session_origin(value)
            if origin is not None:
                return (_Binding.SESSION, origin)
            return None
        if isinstance(value, NEVER_SESSIONS):
            return (_Binding.NOT_SESSION, Origin.NONE)
        # `session = context["session"]`, `session = sessions[0]`: the file does not show
        # what it is, and a configured name stays what the configuration says
        return None

    def _bind(self, target: cst.BaseExpression, value: Optional[Tuple[_Binding, Origin]]) -> None:
        if not isinstance(target, cst.Name):
            return
        self.scopes[-1].names[target.value] = value if value is not None else (_Binding.UNKNOWN, Origin.NONE)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(self.scopes) > 1:  # a factory made inside a function: `maker = sessionmaker()`
            self._note_module_assignment(node)
        binding = self._classify_value(node.value)
        kind = self.statement_of(node.value)
        source = self.query_source(node.value)
        scope = self.scopes[-1]
        for target in node.targets:
            self._bind(target.target, binding)
            if isinstance(target.target, cst.Name):
                name = target.target.value
                if kind is not None:
                    scope.statements[name] = kind
                else:
                    scope.statements.pop(name, None)
                if source is not None:
                    scope.queries[name] = source
                else:
                    scope.queries.pop(name, None)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self._annotation_is_session(node.annotation.annotation):
            self._bind(node.target, (_Binding.SESSION, Origin.CREATED if node.value else Origin.NAME))
        elif node.value is not None:
            self._bind(node.target, self._classify_value(node.value))

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None:
            self._bind(node.asname.name, self._classify_value(node.item, entered=True))

    def visit_For(self, node: cst.For) -> None:
        self._bind(node.target, (_Binding.NOT_SESSION, Origin.NONE))

    # -- questions ---------------------------------------------------------------------
    def session_origin(self, expr: cst.BaseExpression) -> Optional[Origin]:
        """How `expr` is a session, or None when it is not one."""
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        head = dotted.split(".")[0]
        for scope in reversed(self.scopes):
            if head in scope.names:
                binding, origin = scope.names[head]
                if binding is _Binding.UNKNOWN:
                    break
                if binding is _Binding.NOT_SESSION:
                    if "." in dotted and head not in self.imports and (self._configured(dotted) or self._modelled(expr, dotted)):
                        # `db.session` where `db` is a parameter: still the configured name
                        break
                    return None
                if head == dotted:
                    return origin
                break
        if dotted.startswith("self.") and self.classes and dotted.split(".")[1] in self.classes[-1]:
            return None
        if self._configured(dotted):
            return Origin.NAME
        if dotted in self.scoped:
            return Origin.NAME
        if dotted.endswith(".query.session") and dotted.count(".") == 2 and dotted[:1].isupper():
            return Origin.NAME  # `Chart.query.session`: Flask-SQLAlchemy's session, reached by a model
        return self._modelled(expr, dotted)

    def _modelled(self, expr: cst.BaseExpression, dotted: str) -> Optional[Origin]:
        """A name the project's model knows holds a session: an attribute its class sets
        (`self.store = SessionLocal()`), a module-level session (`from app.db import session`)."""
        if "." not in dotted and any(dotted in scope.names for scope in self.scopes[1:]):
            return None  # a local name: its binding said what it is
        entry = self._project(expr)
        if entry is None or entry[0] != "value" or entry[1][0] not in ("session", "scoped"):
            return None
        origins = entry[1][1] if entry[1][0] == "session" else frozenset({"current"})
        if not dotted.startswith(("self.", "cls.")):
            return Origin.NAME  # a module's session, shared by whoever imports it
        if "handed" in origins:
            return Origin.PARAMETER
        return Origin.OBTAINED if "made" in origins else Origin.NAME

    def _configured(self, dotted: str) -> bool:
        """`dotted` is a configured session name, or matches a configured glob (`*.db.session`)."""
        return dotted in self.session_names or bool(self.session_globs and name_matches(self.session_globs, dotted))

    def _creation(self, call: cst.Call) -> Optional[str]:
        """The name of what creates a session in `call`, or None."""
        func = call.func
        if isinstance(func, cst.Call):
            inner = qualify(dotted_name(func.func), self.imports) or ""
            if inner.rsplit(".", 1)[-1] in ("sessionmaker", "async_sessionmaker"):
                return "sessionmaker(...)()"
            return None
        dotted = dotted_name(func)
        if dotted is None:
            return None
        known = self.view.creates(self._project(call.func))
        if known is not None:
            return dotted if known else None
        qualified = qualify(dotted, self.imports) or dotted
        last = qualified.rsplit(".", 1)[-1]
        if qualified in SESSION_CLASSES:
            return last
        if root_module(qualified) in NON_DB_PACKAGES:
            return None
        if dotted in self.scoped or self._configured(dotted):
            return None  # a scoped registry called: the thread's current session, not a new one
        if last in SCOPED_MAKERS or dotted in self.factories:
            return dotted
        if last in FACTORY_NAMES and not self._locally_bound(dotted):
            return dotted
        if last in ("Session", "AsyncSession") and (dotted in self.imports or "." in dotted):
            return dotted
        return None

    def _locally_bound(self, name: str) -> bool:
        """A plain name bound in an enclosing function to something the file cannot vouch for."""
        if "." in name:
            return False
        for scope in reversed(self.scopes[1:]):
            if name in scope.names:
                return scope.names[name][0] is not _Binding.SESSION
        return False

    def visit_Await(self, node: cst.Await) -> None:
        if isinstance(node.expression, cst.Call):
            self.awaited.add(id(node.expression))

    def visit_Call(self, node: cst.Call) -> None:
        awaited = id(node) in self.awaited
        created = self._creation(node)
        if created is not None:
            self.set_metadata(node, SessionUse(Action.CREATE, created, created, Origin.NONE, awaited))
            return
        func = node.func
        if not isinstance(func, cst.Attribute):
            return
        method, receiver = func.attr.value, func.value
        if method == "query":
            self.queries_seen.add(id(func))  # `session.query(...)`: the call speaks for it
        elif method in ("update", "delete"):
            self._mark_query_write(receiver, method)
        if method in ("begin", "connect") and self._is_engine(receiver):
            session = dotted_name(receiver) or method
            self.set_metadata(node, SessionUse(Action.ENGINE_TRANSACTION, method, session, Origin.NONE, awaited))
            return
        origin = self.session_origin(receiver)
        if origin is None:
            if not self._written_through(node, receiver, method, awaited):
                self._model_query(node, receiver, method, awaited)
            return
        action = self._action(node, method)
        if action is None:
            return
        session = dotted_name(receiver) or ""
        if id(node) in self.query_writes:
            method = f"{method}(...).{self.query_writes[id(node)]}"
        self.set_metadata(node, SessionUse(action, method, session, origin, awaited))


def _non_session_attributes(node: cst.ClassDef, facts: SessionFacts) -> Set[str]:
    """`self.<attr>` names that the class's methods assign (at their top level) from a call
    that is not a session: `self.session = requests.Session()`."""
    found: Set[str] = set()
    for method in node.body.body if isinstance(node.body, cst.IndentedBlock) else ():
        if not isinstance(method, cst.FunctionDef) or not isinstance(method.body, cst.IndentedBlock):
            continue
        for statement in method.body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if not isinstance(small, cst.Assign) or not isinstance(small.value, cst.Call):
                    continue
                for target in small.targets:
                    dotted = dotted_name(target.target) or ""
                    if dotted.startswith("self.") and dotted.count(".") == 1:
                        binding = facts._classify_value(small.value)
                        if binding is not None and binding[0] is _Binding.NOT_SESSION:
                            found.add(dotted.split(".")[1])
    return found

