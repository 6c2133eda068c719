"""What one file says about the values its functions return or yield, for the session model.

Made with CPython's `ast` (an order of magnitude cheaper than libcst), before any rule runs,
for every file of the project, so that a file can ask what a function of another module
gives: `open_db()` is an `@asynccontextmanager` that yields `AsyncSessionLocal()`, so
`async with open_db() as session:` binds a session, whatever the names say.

An expression is kept as a small tuple, with the function's local names already replaced
by what was assigned to them:

    ("name", dotted)                 a module-level, imported or `self.` name as written
    ("param", name, types, depends)  a parameter: its annotation's type names, its
                                     `Depends(...)` target ("" if none)
    ("call", expr, args)             calling expr; args: the plain names or expressions
                                     passed (for `contextmanager(get_session)`)
    ("attr", expr, name)             an attribute of something that is not a plain name
    ("self", class, dotted)          `self.<dotted>` (or `cls.`) in a method of class
    ("enter", expr)                  the `as` target of `with expr`
    ("either", (expr, ...))          one of these (`a or b`, `a if c else b`)
    ("alias", type names)            a module-level type alias (`Annotated[Session, ...]`)
    ("def", qualname)                a function defined inside the function (sketched too)
    ("const",)                       a literal, a container, arithmetic: never a session
    ("other",)                       anything else
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

__all__ = ["FileSketch", "FunctionSketch", "ClassSketch", "sketch_source", "annotation_types"]

Expr = tuple

# containers whose first type argument is what the annotated value gives: iterated (a
# generator dependency), entered (a context manager), awaited, or one of several
_ITERATORS = frozenset({
    "Iterator", "Iterable", "Generator", "AsyncIterator", "AsyncIterable", "AsyncGenerator",
})
_MANAGERS = frozenset({
    "ContextManager", "AbstractContextManager", "AsyncContextManager", "AbstractAsyncContextManager",
    "_GeneratorContextManager", "_AsyncGeneratorContextManager",
})
_WRAPPERS = frozenset({"Optional", "Union", "Annotated", "Awaitable", "Final", "ClassVar", "TypeAlias"})
_MAX_DEPTH = 6


@dataclass
class FunctionSketch:
    class_name: Optional[str]
    decorators: Tuple[str, ...]  # as written, heads qualified by the imports
    generator: bool
    #: the return annotation: ("plain" | "iter" | "cm", type names as written)
    returns: Tuple[str, Tuple[str, ...]]
    values: Tuple[Expr, ...]  # what it returns (or yields, for a generator)
    property: bool = False


@dataclass
class ClassSketch:
    bases: Tuple[str, ...]
    methods: Tuple[str, ...]
    #: `self.<name> = ...` in its methods, and class-level assignments
    attributes: Dict[str, Expr] = field(default_factory=dict)


@dataclass
class FileSketch:
    path: str
    module: str
    is_package: bool
    imports: Dict[str, str]
    classes: Dict[str, ClassSketch]
    functions: Dict[str, FunctionSketch]
    #: module-level `name = <expr>` (factories, aliases, instances)
    assigned: Dict[str, Expr]
    #: (in a DAO module) the functions and methods that touch no database
    idle: Tuple[str, ...] = ()


def _dotted(node: ast.AST) -> Optional[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def annotation_types(node: Optional[ast.AST]) -> Tuple[str, Tuple[str, ...]]:
    """("plain" | "iter" | "cm", the type names an annotation stands for): `Session` for
    `Optional[Session]`, `Session | None`, `Annotated[Session, Depends(f)]`, `"Session"`;
    ("iter", ...) for `Iterator[Session]` and `AsyncGenerator[AsyncSession, None]`."""
    names: List[str] = []
    shape = ["plain"]

    def walk(expr: Optional[ast.AST], depth: int) -> None:
        if expr is None or depth > _MAX_DEPTH:
            return
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            try:
                walk(ast.parse(expr.value, mode="eval").body, depth + 1)
            except SyntaxError:
                pass
            return
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.BitOr):
            walk(expr.left, depth + 1)
            walk(expr.right, depth + 1)
            return
        if isinstance(expr, ast.Subscript):
            container = (_dotted(expr.value) or "").rsplit(".", 1)[-1]
            inner = expr.slice.elts if isinstance(expr.slice, ast.Tuple) else [expr.slice]
            if container in _ITERATORS or container in _MANAGERS:
                if depth == 0:
                    shape[0] = "iter" if container in _ITERATORS else "cm"
                walk(inner[0] if inner else None, depth + 1)
            elif container in ("Optional", "Union"):
                for element in inner:
                    walk(element, depth + 1)
            elif container in _WRAPPERS:
                walk(inner[0] if inner else None, depth + 1)
            else:
                names.append(_dotted(expr.value) or "")  # list[X], Query[X]: the container
            return
        dotted = _dotted(expr)
        if dotted is not None and dotted != "None":
            names.append(dotted)
        elif not (isinstance(expr, ast.Constant) and expr.value is None):
            names.append("")  # something the sketch cannot name

    walk(node, 0)
    return shape[0], tuple(names)


class _Function:
    """Walks one function body in order, keeping what each local name was bound to."""

    def __init__(self, sketcher: "_Sketcher", node, class_name: Optional[str], qualname: str = "", outer=None) -> None:  # noqa: ANN001
        self.sketcher = sketcher
        self.qualname = qualname
        # a nested function sees its enclosing function's names (a closure)
        self.env: Dict[str, List[Expr]] = dict(outer.env) if outer is not None else {}
        self.values: List[Expr] = []
        self.generator = False
        self.attributes: Dict[str, Expr] = {}
        self.class_name = class_name
        arguments = node.args
        for arg, default in _parameters(arguments):
            depends = ""
            if isinstance(default, ast.Call) and (_dotted(default.func) or "").rsplit(".", 1)[-1] == "Depends" and default.args:
                depends = sketcher.qualify(_dotted(default.args[0]) or "")
            if not depends and arg.annotation is not None:
                depends = _annotated_depends(arg.annotation, sketcher)
            types = annotation_types(arg.annotation)[1] if arg.annotation is not None else ()
            self.env[arg.arg] = [("param", arg.arg, tuple(sketcher.qualify(t) for t in types), depends)]
        for star in (arguments.vararg, arguments.kwarg):
            if star is not None:
                self.env[star.arg] = [("other",)]
        self.block(node.body)

    def block(self, statements: List[ast.stmt]) -> None:
        for statement in statements:
            self.statement(statement)

    def statement(self, node: ast.stmt) -> None:  # noqa: C901 - one branch per statement kind
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and self.qualname:
            # a function made inside this one and handed out (`return make_session`): a value
            nested = f"{self.qualname}.{node.name}"
            self.sketcher.function(node, None, nested, self.class_name, self)
            self.env[node.name] = [("def", nested)]
            return
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.env[node.name] = [("other",)]
            return
        if isinstance(node, ast.Assign):
            value = self.expr(node.value)
            for target in node.targets:
                self.bind(target, value)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            self.bind(node.target, self.expr(node.value))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, ("enter", self.expr(item.context_expr)))
        elif isinstance(node, ast.Return) and node.value is not None:
            self.values.append(self.expr(node.value))
        elif isinstance(node, ast.Expr):
            self.yields(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            self.bind(node.target, ("other",))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for local, qualified in _import_bindings(node).items():
                self.env[local] = [("name", qualified)]
        for child in ("body", "orelse", "finalbody"):
            inner = getattr(node, child, None)
            if isinstance(inner, list) and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.block(inner)
        for handler in getattr(node, "handlers", ()):
            if handler.name:
                self.env[handler.name] = [("other",)]
            self.block(handler.body)

    def yields(self, value: ast.AST) -> None:
        if isinstance(value, ast.Await):
            value = value.value
        if isinstance(value, (ast.Yield, ast.YieldFrom)):
            self.generator = True
            if value.value is not None and isinstance(value, ast.Yield):
                self.values.append(self.expr(value.value))

    def bind(self, target: ast.AST, value: Expr) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = [value]
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind(element, ("other",))
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            self.attributes.setdefault(target.attr, value)

    def expr(self, node: ast.AST, depth: int = 0) -> Expr:  # noqa: C901 - one branch per expression kind
        if depth > _MAX_DEPTH:
            return ("other",)
        if isinstance(node, ast.Await):
            return self.expr(node.value, depth + 1)
        if isinstance(node, (ast.Constant, ast.JoinedStr, ast.Dict, ast.List, ast.Set, ast.Tuple, ast.BinOp,
                             ast.Compare, ast.ListComp, ast.DictComp, ast.SetComp, ast.UnaryOp, ast.Lambda)):
            return ("const",)
        if isinstance(node, (ast.IfExp, ast.BoolOp)):
            options = [node.body, node.orelse] if isinstance(node, ast.IfExp) else node.values
            found = [self.expr(option, depth + 1) for option in options]
            return ("either", tuple(found))
        if isinstance(node, ast.Call):
            args = tuple(self.expr(a, depth + 1) for a in node.args[:2] if not isinstance(a, ast.Starred))
            return ("call", self.expr(node.func, depth + 1), args)
        dotted = _dotted(node)
        if dotted is not None:
            head, _, rest = dotted.partition(".")
            bound = self.env.get(head)
            if bound is not None:
                value = bound[-1]
                for part in rest.split(".") if rest else ():
                    value = ("attr", value, part)
                return value
            if head in ("self", "cls") and self.class_name is not None:
                return ("self", self.class_name, rest)
            return ("name", self.sketcher.qualify(dotted))
        if isinstance(node, ast.Attribute):
            return ("attr", self.expr(node.value, depth + 1), node.attr)
        return ("other",)


def _annotated_depends(annotation: ast.AST, sketcher: "_Sketcher") -> str:
    """`Annotated[Session, Depends(get_db)]`: the dependency's target."""
    if isinstance(annotation, ast.Subscript) and (_dotted(annotation.value) or "").rsplit(".", 1)[-1] == "Annotated":
        elements = annotation.slice.elts if isinstance(annotation.slice, ast.Tuple) else []
        for element in elements[1:]:
            if isinstance(element, ast.Call) and (_dotted(element.func) or "").rsplit(".", 1)[-1] == "Depends" and element.args:
                return sketcher.qualify(_dotted(element.args[0]) or "")
    return ""


def _parameters(arguments: ast.arguments):  # noqa: ANN202
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: List[Optional[ast.AST]] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
    yield from zip(positional, defaults)
    yield from zip(arguments.kwonlyargs, arguments.kw_defaults)


def _import_bindings(node: ast.AST) -> Dict[str, str]:
    out: Dict[str, str] = {}
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                out[alias.asname] = alias.name
            else:
                head = alias.name.split(".")[0]
                out[head] = head
    elif isinstance(node, ast.ImportFrom):
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                continue
            joiner = "" if module.endswith(".") or not module else "."
            out[alias.asname or alias.name] = f"{module}{joiner}{alias.name}"
    return out


class _Sketcher:
    def __init__(self, tree: ast.Module) -> None:
        self.imports: Dict[str, str] = {}
        for node in _module_level(tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.imports.update(_import_bindings(node))
        self.classes: Dict[str, ClassSketch] = {}
        self.functions: Dict[str, FunctionSketch] = {}
        self.assigned: Dict[str, Expr] = {}
        module_function = _Function.__new__(_Function)
        module_function.sketcher, module_function.env, module_function.class_name = self, {}, None
        self.module_level = module_function
        for node in _module_level(tree.body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(node, None)
            elif isinstance(node, ast.ClassDef):
                self.klass(node)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = self.module_level.expr(node.value)
                if isinstance(node.value, ast.Subscript) or (isinstance(node.value, ast.BinOp) and isinstance(node.value.op, ast.BitOr)):
                    # a type alias: `SessionDep = Annotated[Session, Depends(get_db)]`
                    value = ("alias", tuple(self.qualify(t) for t in annotation_types(node.value)[1]))
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.assigned[target.id] = value

    def qualify(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        if head in self.imports:
            return self.imports[head] + ("." + rest if rest else "")
        return dotted

    def function(self, node, class_name: Optional[str], nested: str = "", owner: Optional[str] = None, outer=None) -> None:  # noqa: ANN001
        """Sketch a function: a module-level one, a method of `class_name`, or one `nested`
        in another (its qualname given; `owner`: the class whose `self` it sees; `outer`:
        the enclosing function's walk, whose names it sees)."""
        qualname = nested or (f"{class_name}.{node.name}" if class_name else node.name)
        walked = _Function(self, node, class_name or owner, qualname, outer)
        decorators = tuple(self.qualify(_dotted(d.func if isinstance(d, ast.Call) else d) or "") for d in node.decorator_list)
        returns = annotation_types(node.returns) if node.returns is not None else ("plain", ())
        returns = (returns[0], tuple(self.qualify(t) for t in returns[1]))
        self.functions[qualname] = FunctionSketch(
            class_name, decorators, walked.generator, returns, tuple(walked.values),
            property=any(d.rsplit(".", 1)[-1] in ("property", "cached_property") for d in decorators),
        )
        if class_name is not None:
            attributes = self.classes[class_name].attributes
            for name, value in walked.attributes.items():
                attributes.setdefault(name, value)

    def klass(self, node: ast.ClassDef) -> None:
        bases = []
        for base in node.bases:
            expr = base.value if isinstance(base, ast.Subscript) else base
            dotted = _dotted(expr)
            if dotted is not None:
                bases.append(self.qualify(dotted))
        methods = tuple(sorted(s.name for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))))
        sketch = ClassSketch(tuple(bases), methods)
        self.classes[node.name] = sketch
        for statement in node.body:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(statement, node.name)
            elif isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
                sketch.attributes[statement.targets[0].id] = self.module_level.expr(statement.value)
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                types = annotation_types(statement.annotation)[1]
                sketch.attributes[statement.target.id] = ("param", statement.target.id, tuple(self.qualify(t) for t in types), "")


def _module_level(body: List[ast.stmt]):  # noqa: ANN202 - statements, also under if/try
    for statement in body:
        if isinstance(statement, (ast.If, ast.Try)):
            yield from _module_level(statement.body)
            yield from _module_level(statement.orelse)
            for handler in getattr(statement, "handlers", ()):
                yield from _module_level(handler.body)
            yield from _module_level(getattr(statement, "finalbody", []))
        else:
            yield statement


def sketch_source(source: bytes, path: str, module: str, is_package: bool, dao: bool = False) -> Optional[FileSketch]:
    """The file's sketch, or None when CPython cannot parse it (the check reports that).
    With `dao` (a module of the DAO layer), it also names the functions that touch no
    database (`idle`)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    sketcher = _Sketcher(tree)
    idle = _idle_functions(tree) if dao else ()
    return FileSketch(path, module, is_package, sketcher.imports, sketcher.classes, sketcher.functions, sketcher.assigned, idle)


_SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "text"})


def _touches(node: ast.AST) -> bool:
    """The code may use a database: a `query` (`Model.query`, `session.query(...)`), a call
    on something named for a session, a connection or an engine, a method of a class or a
    DAO object (`Users.get_user(...)`), or a statement built."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr == "query":
            return True
        if isinstance(sub, ast.Call):
            func = sub.func
            if isinstance(func, ast.Name) and func.id in _SQL_BUILDERS:
                return True
            if isinstance(func, ast.Attribute):
                dotted = _dotted(func.value) or ""
                receiver = dotted.lower()
                if "session" in receiver or receiver.rsplit(".", 1)[-1] in ("db", "conn", "connection", "engine", "cursor"):
                    return True
                if dotted[:1].isupper():
                    return True  # another DAO's method (`SkillHistories.get_history_by_id(...)`)
    return False


def _idle_functions(tree: ast.Module) -> Tuple[str, ...]:
    """The module's functions and methods that touch no database, directly or through
    their own class's methods (`cls.get_columns()`, not `cls.get(pk)`)."""
    found: Dict[str, Tuple[bool, set]] = {}
    for node in tree.body:
        members = [(None, node)] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
        if isinstance(node, ast.ClassDef):
            members = [(node.name, m) for m in node.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for owner, function in members:
            calls = {c.func.attr for c in ast.walk(function) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                     and isinstance(c.func.value, ast.Name) and c.func.value.id in ("self", "cls")}
            found[f"{owner}.{function.name}" if owner else function.name] = (_touches(function), calls)
    busy = {name for name, (touches, _) in found.items() if touches}
    changed = True
    while changed:  # a method calling its class's busy method is busy
        changed = False
        for name, (_, calls) in found.items():
            owner = name.rpartition(".")[0]
            if name not in busy and owner and any(f"{owner}.{c}" in busy for c in calls):
                busy.add(name)
                changed = True
    return tuple(sorted(set(found) - busy))
