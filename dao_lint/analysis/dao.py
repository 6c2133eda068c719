"""Which code is a DAO, a test, a unit-of-work boundary: the one place that decides it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

import libcst as cst
from libcst.metadata import BatchableMetadataProvider

from ..foundations.globs import name_matches
from ..foundations.vocabulary import LOCAL_BASES, local_base
from .context import FileContext, FileContextProvider
from .visitors import CachedVisitors
from .names import absolute_name, collect_imports, dotted_name, qualify
from .rows import LoadedRows
from .walk import visit_in_place

__all__ = ["CodeScope", "DaoFacts", "commit_flags", "action_verb", "LOCAL_BASES", "local_base", "dao_call", "DaoCalls", "entity_of"]

# bases that add no methods a DAO would override: a class with only these (or bases defined
# in the same file) can be judged by its file alone



@dataclass(frozen=True)
class CodeScope:
    """Where a node sits: its function and class, and what kind of code that is."""

    qualname: str  # `ChartDAO.update`; "" at module level
    function: Optional[cst.FunctionDef]
    class_name: Optional[str]  # the innermost enclosing class
    dao_class: bool  # the innermost enclosing class is a DAO class
    in_dao: bool  # DAO code: in a DAO module or inside a DAO class
    in_test: bool
    in_boundary: bool  # inside a unit-of-work boundary (function or module)
    is_async: bool = False
    is_method: bool = False  # the function is defined directly in a class body
    migration_module: bool = False  # the module is its own unit of work (e.g. a migration)
    #: a unit of work by its shape: a context manager (`with session_scope() as s:`) or the
    #: transaction decorator's own body; it commits and rolls back, DAO code or not
    unit_of_work: bool = False
    #: the ORM event this function (or an enclosing one) listens to, e.g. "after_insert"
    listener: Optional[str] = None
    #: test roles: "fixture" (function-scoped pytest fixture), "wide-fixture" (wider scope),
    #: "setup" / "teardown" (unittest, per test), "test", or None
    test_role: Optional[str] = None
    #: which calls of the file are DAO calls (one resolver per file)
    dao_calls: Optional["DaoCalls"] = field(default=None, compare=False, repr=False)


def _decorator_names(node: cst.FunctionDef, imports) -> Tuple[str, ...]:
    names = []
    for decorator in node.decorators:
        expr = decorator.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        dotted = dotted_name(expr)
        if dotted is not None:
            names.append(qualify(dotted, imports) or dotted)
    return tuple(names)


class DaoFacts(CachedVisitors, BatchableMetadataProvider[CodeScope]):
    """Attaches a `CodeScope` to every function definition and every call."""

    METADATA_DEPENDENCIES = (FileContextProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.stack: List[CodeScope] = []
        self.frames: List[str] = []
        self.class_frames: List[bool] = []  # per frame: pushed by a class
        self.dao_classes: Set[str] = set()
        self.context: Optional[FileContext] = None
        self.imports = {}
        self.registered: dict = {}  # function name -> event, from `event.listen(X, "evt", fn)` here
        self.rows = LoadedRows()

    def visit_Module(self, node: cst.Module) -> None:
        self.context = context = self.get_metadata(FileContextProvider, node)
        self.imports = collect_imports(node)
        self.registered = module_registrations(node)
        self.stack = [
            CodeScope(
                qualname="",
                function=None,
                class_name=None,
                dao_class=False,
                in_dao=context.is_dao_module,
                in_test=context.is_test,
                in_boundary=context.is_migration_module,
                migration_module=context.is_migration_module,
                dao_calls=DaoCalls(context, self.imports, frozenset(
                    s.name.value for s in node.body if isinstance(s, (cst.FunctionDef, cst.ClassDef))
                )),
            )
        ]

    def _is_dao_class(self, node: cst.ClassDef) -> bool:
        config = self.context.config
        name = node.name.value
        if name_matches(config.dao_classes, name):
            return True
        for base in node.bases:
            expr = base.value
            if isinstance(expr, cst.Subscript):  # BaseDAO[Chart]
                expr = expr.value
            dotted = dotted_name(expr)
            if dotted is None:
                continue
            last = dotted.rsplit(".", 1)[-1]
            if last in config.dao_base_classes or last in self.dao_classes:
                return True
            qualified = qualify(dotted, self.imports) or dotted
            if last == "BaseQuery" or (last == "Query" and qualified.split(".")[0] in ("sqlalchemy", "flask_sqlalchemy")):
                return True  # the project's own query class: its methods are the data layer's
            if name_matches(config.dao_classes, last):
                return True
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        outer = self.stack[-1]
        dao = self._is_dao_class(node)
        if dao:
            self.dao_classes.add(node.name.value)
        self.frames.append(node.name.value)
        self.class_frames.append(True)
        self.stack.append(
            CodeScope(
                qualname=".".join(self.frames),
                function=outer.function,
                class_name=node.name.value,
                dao_class=dao,
                in_dao=outer.in_dao or dao,
                in_test=outer.in_test,
                in_boundary=outer.in_boundary,
                is_async=outer.is_async,
                migration_module=outer.migration_module,
                dao_calls=outer.dao_calls,
            )
        )
        self.set_metadata(node, self.stack[-1])

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()
        self.frames.pop()
        self.class_frames.pop()

    def _unit_of_work(self, node: cst.FunctionDef, qualname: str) -> bool:
        decorators = _decorator_names(node, self.imports)
        if any(d.rsplit(".", 1)[-1] in ("contextmanager", "asynccontextmanager") for d in decorators):
            return True
        return self.context.config.defines_transaction_decorator(self.context.module_name, qualname)

    def _is_boundary(self, node: cst.FunctionDef, qualname: str) -> bool:
        context = self.context
        decorators = _decorator_names(node, self.imports)
        # A context manager that commits on success and rolls back on failure *is* a unit
        # of work (R3 recommends exactly that shape): `with session_scope() as session:`.
        if any(d.rsplit(".", 1)[-1] in ("contextmanager", "asynccontextmanager") for d in decorators):
            return True
        decorator = (context.config.transaction_decorator or "").rstrip("()") or None
        if decorator is not None:
            # the decorator's own definition commits and rolls back: that is its job
            if context.config.defines_transaction_decorator(context.module_name, qualname):
                return True
            short = decorator.rsplit(".", 1)[-1]
            for name in decorators:
                if name == decorator or (name == short and short not in self.imports):
                    return True
        return context.config.is_boundary(context.relpath, qualname)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        outer = self.stack[-1]
        is_method = bool(self.class_frames) and self.class_frames[-1]
        self.frames.append(node.name.value)
        self.class_frames.append(False)
        qualname = ".".join(self.frames)
        listener = outer.listener or listener_event(node) or self.registered.get(node.name.value)
        scope = CodeScope(
            qualname=qualname,
            function=node,
            class_name=outer.class_name,
            listener=listener,
            test_role=outer.test_role or (_test_role(node, is_method) if outer.in_test else None),
            dao_class=outer.dao_class,
            in_dao=outer.in_dao,
            in_test=outer.in_test,
            in_boundary=outer.in_boundary or self._is_boundary(node, qualname),
            is_async=node.asynchronous is not None,
            is_method=is_method,
            migration_module=outer.migration_module,
            unit_of_work=outer.unit_of_work or self._unit_of_work(node, qualname),
            dao_calls=outer.dao_calls,
        )
        self.set_metadata(node, scope)
        self.stack.append(scope)
        self.rows.enter()

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()
        self.frames.pop()
        self.class_frames.pop()
        self.rows.leave()

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self.rows.assign(target.target, node.value)

    def visit_For(self, node: cst.For) -> None:
        self.rows.loop(node.target, node.iter)

    def visit_Call(self, node: cst.Call) -> None:
        self.set_metadata(node, self.stack[-1])
        written = self.rows.row_write(node)
        if written is not None and self.stack[-1].dao_calls is not None:
            self.stack[-1].dao_calls.rows[id(node)] = written

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value == "query":  # `Chart.query` kept or passed on: a read of its own
            self.set_metadata(node, self.stack[-1])


#: ORM events whose listeners run inside someone else's flush or transaction (mapper,
#: session, instance and attribute events); engine and pool events are not among them.
ORM_EVENTS = frozenset(
    {
        "before_insert", "after_insert", "before_update", "after_update", "before_delete", "after_delete",
        "before_flush", "after_flush", "after_flush_postexec", "before_commit", "after_commit",
        "after_rollback", "after_soft_rollback", "after_begin", "after_transaction_create",
        "after_transaction_end", "after_attach", "before_attach", "after_bulk_update",
        "after_bulk_delete", "do_orm_execute", "persistent_to_deleted", "pending_to_persistent",
        "set", "append", "remove", "bulk_replace", "init", "load", "refresh", "expire",
    }
)


def _event_name(call: cst.Call) -> Optional[str]:
    if len(call.args) < 2:
        return None
    value = call.args[1].value
    if isinstance(value, cst.SimpleString) and isinstance(value.evaluated_value, str):
        name = value.evaluated_value
        return name if name in ORM_EVENTS else None
    return None


def listener_event(node: cst.FunctionDef) -> Optional[str]:
    """The ORM event of an `@event.listens_for(target, "event")` decorator, if any."""
    for decorator in node.decorators:
        expr = decorator.decorator
        if isinstance(expr, cst.Call) and (dotted_name(expr.func) or "").rsplit(".", 1)[-1] == "listens_for":
            event = _event_name(expr)
            if event is not None:
                return event
    return None


def registration(call: cst.Call) -> Optional[Tuple[cst.BaseExpression, str]]:
    """(listener expression, event) for `event.listen(target, "event", listener)`."""
    if (dotted_name(call.func) or "").rsplit(".", 1)[-1] != "listen" or len(call.args) < 3:
        return None
    event = _event_name(call)
    return (call.args[2].value, event) if event is not None else None


def module_registrations(module: cst.Module) -> dict:
    """Plain function names registered as ORM listeners by a module-level `event.listen`."""
    found = {}
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call):
                registered = registration(small.value)
                if registered is not None and isinstance(registered[0], cst.Name):
                    found[registered[0].value] = registered[1]
    return found


def _test_role(node: cst.FunctionDef, is_method: bool) -> Optional[str]:
    name = node.name.value
    for decorator in node.decorators:
        expr = decorator.decorator
        call = expr if isinstance(expr, cst.Call) else None
        target = call.func if call is not None else expr
        if (dotted_name(target) or "").rsplit(".", 1)[-1] in ("fixture", "yield_fixture"):
            scope = "function"
            for arg in call.args if call is not None else ():
                if arg.keyword is not None and arg.keyword.value == "scope" and isinstance(arg.value, cst.SimpleString):
                    scope = str(arg.value.evaluated_value)
            return "fixture" if scope == "function" else "wide-fixture"
    if is_method and name in ("setUp", "asyncSetUp"):
        return "setup"
    if is_method and name in ("tearDown", "asyncTearDown"):
        return "teardown"
    if name.startswith("test"):
        return "test"
    return None


class DaoCalls:
    """Which calls one file makes into the DAO layer: a method of a DAO class
    (`ChartDAO.create(...)`, by the configured class globs) or a function of a module in
    `dao-modules` (`crud.create_user(db, ...)`, `from app.database import update`)."""

    def __init__(self, context: FileContext, imports: dict, functions: FrozenSet[str] = frozenset()) -> None:
        self.config = context.config
        self.model = context.config.project_sessions
        self.module = context.module_name
        self.is_package = context.relpath.endswith("__init__.py")
        self.imports = imports
        #: in a DAO module, its own module-level functions and classes are the DAO layer too
        self.own = functions if context.is_dao_module else frozenset()
        self.memo: Dict[int, Optional[Tuple[str, str]]] = {}  # (rules ask of a call several times)
        #: `membership.delete()` on a row the function loaded: the model's own write
        self.rows: Dict[int, Tuple[str, str]] = {}

    def of(self, call: cst.Call) -> Optional[Tuple[str, str]]:
        """(the DAO, as an entity's DAO is named: `ChartDAO`, `User` for `crud.create_user`;
        the method or function) for a DAO call, else None."""
        key = id(call)
        if key not in self.memo:
            self.memo[key] = self._of(call)
        return self.memo[key]

    def _of(self, call: cst.Call) -> Optional[Tuple[str, str]]:
        if id(call) in self.rows:
            return self.rows[id(call)]
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            receiver = func.value.value
            if name_matches(self.config.dao_classes, receiver) or receiver in self.config.dao_base_classes:
                return receiver, func.attr.value
        target = dotted_name(func)
        if target is None:
            return None
        head, _, rest = target.partition(".")
        if head in self.own:  # a function or class of this DAO module: `get(...)`, `Model.find(...)`
            if self.model is not None and self.model.is_idle(f"{self.module}.{target}"):
                return None
            return (head, rest) if rest and "." not in rest else ((entity_of(target, self.module), target) if not rest else None)
        if self.model is None or head not in self.imports:
            return None
        parts = absolute_name(self.module, self.is_package, qualify(target, self.imports) or target).split(".")
        if self.model.is_idle(".".join(parts)):
            return None  # a function of the DAO layer that touches no database (`Resource.get_columns()`)
        for cut in range(len(parts) - 1, 0, -1):
            if self.model.is_dao_module(".".join(parts[:cut])):
                function = parts[-1]
                if cut == len(parts) - 1:
                    return entity_of(function, parts[cut - 1]), function  # `crud.create_user(...)`
                if cut == len(parts) - 2:
                    return parts[cut], function  # a class of a DAO module: `models.TrialModel.find(...)`
                return None
        return None


_VERBS = ("create", "update", "delete", "upsert", "get", "find", "exists", "list", "count", "remove", "save", "validate")


def entity_of(function: str, module: str) -> str:
    """`User` for `create_user`, `get_user_by_email`; the module's name when the function
    names no entity (`database.get`)."""
    words = function.split("_")
    if len(words) > 1 and words[0] in _VERBS:
        entity = []
        for word in words[1:]:
            if word in ("by", "for", "from", "with", "if", "or", "in", "of"):
                break
            entity.append(word)
        if entity:
            return "".join(w.capitalize() for w in entity)
    return module.rsplit(".", 1)[-1]


def dao_call(asker, call: cst.Call) -> Optional[Tuple[str, str]]:  # noqa: ANN001 - a rule or visitor with DaoFacts
    """(DAO, method) for a call into the DAO layer (see `DaoCalls`), else None."""
    from .session import SessionFacts

    if asker.get_metadata(SessionFacts, call, None) is not None:
        return None  # a call on the session itself (`model.Session.remove()`)
    scope = asker.get_metadata(DaoFacts, call, None)
    return scope.dao_calls.of(call) if scope is not None and scope.dao_calls is not None else None


def dao_entity(dao_class: str) -> str:
    """`User` for `UserDAO`, `UserDao` or `UserRepository`."""
    for suffix in ("DAO", "Dao", "Repository"):
        if dao_class.endswith(suffix) and len(dao_class) > len(suffix):
            return dao_class[: -len(suffix)]
    return dao_class


def commit_flags(node: cst.FunctionDef) -> List[cst.Param]:
    """The function's `commit` parameters that are boolean flags deciding a commit: typed
    `bool` (or untyped: defaulted to `True`/`False`, or bare), and either guarding a
    `commit()` (`if commit: db.session.commit()`) or handed on to another function's flag
    (`commit=commit`). `commit: str` or a default of another kind (a git hash, a commit
    object) is not a flag, nor is a dry-run switch that reaches no `commit()`
    (`if commit: apply() else: preview()`)."""
    params = node.params
    found = []
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value != "commit":
            continue
        if param.annotation is not None:
            annotation = param.annotation.annotation
            text = dotted_name(annotation) or ""
            if isinstance(annotation, cst.Subscript):  # Optional[bool]
                inner = annotation.slice[0].slice if annotation.slice else None
                text = dotted_name(inner.value) if isinstance(inner, cst.Index) else ""
            if text.rsplit(".", 1)[-1] != "bool":
                continue
        elif param.default is not None:
            if not (isinstance(param.default, cst.Name) and param.default.value in ("True", "False")):
                continue
        decides, switches = _decides_commit(node, "commit")
        # a typed flag decides a commit unless it is a switch for something else; a bare
        # `commit` parameter only where it guards a commit or is handed on
        if decides or (not switches and (param.annotation is not None or param.default is not None)):
            found.append(param)
    return found


def _decides_commit(node: cst.FunctionDef, name: str) -> Tuple[bool, bool]:
    """(the flag `name` guards a `.commit()` call or is handed on (`commit=commit`), it is
    tested in a condition at all)."""
    found = []
    tested = []

    def commits(tree: Optional[cst.CSTNode]) -> bool:
        hits = []

        class Calls(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                if isinstance(call.func, cst.Attribute) and call.func.attr.value == "commit":
                    hits.append(call)

        if tree is not None:
            visit_in_place(tree, Calls())
        return bool(hits)

    def tests(expr: cst.BaseExpression) -> bool:
        if isinstance(expr, cst.UnaryOperation):
            expr = expr.expression
        return isinstance(expr, cst.Name) and expr.value == name

    class Finder(cst.CSTVisitor):
        def visit_If(self, statement: cst.If) -> None:
            if tests(statement.test):
                tested.append(statement)
                if commits(statement.body) or commits(statement.orelse):
                    found.append(statement)

        def visit_IfExp(self, expr: cst.IfExp) -> None:
            if tests(expr.test):
                tested.append(expr)
                if commits(expr.body) or commits(expr.orelse):
                    found.append(expr)

        def visit_BooleanOperation(self, expr: cst.BooleanOperation) -> None:
            if tests(expr.left):
                tested.append(expr)
                if commits(expr.right):
                    found.append(expr)

        def visit_Arg(self, arg: cst.Arg) -> None:
            if isinstance(arg.value, cst.Name) and arg.value.value == name and not arg.star:
                if arg.keyword is None or arg.keyword.value == name:
                    found.append(arg)

    visit_in_place(node.body, Finder())
    return bool(found), bool(tested)


def action_verb(config, name: str) -> Optional[Tuple[str, str]]:  # noqa: ANN001 - Config
    """(verb, the CRUD words to use) when a DAO method's name starts with an action verb of
    the configuration (`save`, `save_as`, `overwrite`...), else None."""
    import re

    verbs = dict(config.action_verbs)
    lowered = name.lower()
    if lowered in verbs:
        return lowered, verbs[lowered]
    words = tuple(w.lower() for w in re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).split("_") if w)
    for size in (2, 1):  # `save_as` before `save`
        head = "_".join(words[:size])
        if len(words) >= size and head in verbs:
            return head, verbs[head]
    return None
