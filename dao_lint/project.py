"""A project-wide index: what each file defines, calls and commits, for cross-module questions.

One pass per file (the same analysis providers the rules use) produces a small, picklable
`FileSummary`; `ProjectIndex` joins them to resolve calls across modules by imports and
class hierarchies (never by searching text), e.g. every call site of `BaseDAO.create`.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst
from libcst import BatchableCSTVisitor

from .analysis import Action, DaoFacts, FileContext, FileContextProvider, Origin, SessionFacts
from .analysis.session import _is_docstring, is_commit_helper
from .analysis.dao import action_verb, commit_flags, dao_call, registration
from .analysis.engines import EngineFacts
from .analysis.positions import AstPositionFacts
from .analysis.structure import literal_names, per_item, raises, statement_call
from .analysis.visitors import CachedVisitors
from .analysis.names import collect_imports, dotted_name, import_bindings, qualify
from .codemods.nested_session import OWN_ORIGINS, refusal
from .suppress import NoqaMap
from .summary import CallSite, ClassInfo, FileSummary, FunctionInfo, Position

__all__ = ["Summarizer", "finish_summary"]

class Summarizer(CachedVisitors, BatchableCSTVisitor):
    """Collects a FileSummary in one traversal."""

    METADATA_DEPENDENCIES = (SessionFacts, DaoFacts, AstPositionFacts, FileContextProvider, EngineFacts)

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context
        self.functions: Dict[str, FunctionInfo] = {}
        self.classes: Dict[str, ClassInfo] = {}
        self.stack: List[FunctionInfo] = []
        self.module_level = FunctionInfo("", "", None, (1, 0), context.is_dao_module, False, False, False, False)
        self.begin_depth: List[int] = [0]
        self.uses_begin_nested = False
        self.imports: Dict[str, str] = {}
        self.engines: Dict[str, Tuple[Position, bool, bool]] = {}
        self.decorator_called: Optional[bool] = None
        self.loops: List[int] = [0]  # per function: how many loop bodies enclose this point
        self.blocks: List[int] = [0]  # per function: block depth (1 = the function body)
        self.registrations: List[Tuple[str, str]] = []
        self.call_stack: List[cst.Call] = []
        # ids of `commit` Names that are not uses of the flag's value in an unknown way
        self.commit_ifs: Set[int] = set()  # `if commit:` tests
        self.forward_values: Set[int] = set()  # `commit=commit` arguments
        self.not_values: Set[int] = set()  # parameter names, keywords, attributes
        self.accepted_ifs: Set[int] = set()  # `if commit: rollback()` in handlers that re-raise
        # per function, for covers that hold on every path: the open blocks, the calls made
        # (index in info.calls, block path), commits (position, block path, session key, in a
        # loop), and the statements that leave early (position, kind)
        self.frames: List[_Frame] = [_Frame()]
        self.block_counter = 0
        self.flag_ifs = 0  # open `if commit:` branches
        self.references: List[Tuple[str, Position]] = []
        self.decorator_forms: Dict[str, str] = {}
        self.names: Tuple[str, ...] = ()
        self.class_stack: List[Optional[ClassInfo]] = []

    @property
    def frame(self) -> "_Frame":
        return self.frames[-1]

    def _qualify(self, dotted: Optional[str]) -> Optional[str]:
        """`dotted` with its head replaced by what it was imported as, in the function
        (`from app.models import Chart` inside it) or the module."""
        if dotted is None:
            return None
        head = dotted.split(".")[0]
        for frame in reversed(self.frames):
            if head in frame.imports:
                return qualify(dotted, frame.imports)
        return qualify(dotted, self.imports)

    def _imported(self, name: str) -> Optional[str]:
        """What `name` was imported as (in the function or the module), or None."""
        for frame in reversed(self.frames):
            if name in frame.imports:
                return frame.imports[name]
        return self.imports.get(name)

    def visit_Import(self, node: cst.Import) -> None:
        if len(self.frames) > 1:
            self.frame.imports.update(import_bindings(node))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if len(self.frames) > 1:
            self.frame.imports.update(import_bindings(node))

    @property
    def current(self) -> FunctionInfo:
        return self.stack[-1] if self.stack else self.module_level

    fallback_positions = None  # set by whoever runs the traversal: libcst's PositionProvider

    def _range(self, node: cst.CSTNode):  # noqa: ANN202
        found = self.get_metadata(AstPositionFacts, node, None)
        if found is not None:
            return found.range
        if self._slow is None:
            self._slow = self.fallback_positions()
        return self._slow[node]

    _slow = None

    def pos(self, node: cst.CSTNode) -> Position:
        start = self._range(node).start
        return (start.line, start.column)

    def visit_Module(self, node: cst.Module) -> None:
        self.imports = collect_imports(node)
        self.frames[0].literals = literal_names(node.body)
        self.names = module_names(node)
        for engine in self.get_metadata(EngineFacts, node).engines:
            self.engines[engine.name] = (self.pos(engine.assignment.value), engine.literal, engine.fixed)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = []
        for base in node.bases:
            expr = base.value.value if isinstance(base.value, cst.Subscript) else base.value
            dotted = dotted_name(expr)
            if dotted is not None:
                bases.append(self._qualify(dotted) or dotted)
        methods = {
            s.name.value for s in node.body.body if isinstance(s, cst.FunctionDef)
        }
        if not self.stack:  # nested classes inside functions are not part of the module's API
            info = ClassInfo(node.name.value, tuple(bases), tuple(sorted(methods)), self._class_attributes(node))
            self.classes[node.name.value] = info
            self.class_stack.append(info)
        else:
            self.class_stack.append(None)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.class_stack.pop()

    def _type_of(self, annotation: Optional[cst.BaseExpression]) -> Optional[str]:
        """The class an annotation names (`QueryDAO`, `Optional[QueryDAO]`, `"QueryDAO"`)."""
        if isinstance(annotation, cst.Subscript) and dotted_name(annotation.value) in ("Optional", "typing.Optional", "type", "Type"):
            element = annotation.slice[0].slice if annotation.slice else None
            annotation = element.value if isinstance(element, cst.Index) else None
        if isinstance(annotation, cst.SimpleString):
            text = annotation.evaluated_value
            dotted = text if isinstance(text, str) and all(p.isidentifier() for p in text.split(".")) else None
        else:
            dotted = dotted_name(annotation) if annotation is not None else None
        if dotted is None or not dotted.rsplit(".", 1)[-1][:1].isupper():
            return None
        return self._qualify(dotted) or dotted

    def _element_type(self, annotation: cst.BaseExpression) -> Optional[str]:
        """`Cache` for `dict[Region, Cache]`, `list[Cache]`, `Sequence[Cache]`: what a
        subscript of the container gives."""
        if not isinstance(annotation, cst.Subscript) or not annotation.slice:
            return None
        container = (dotted_name(annotation.value) or "").rsplit(".", 1)[-1].lower()
        if container not in ("dict", "list", "sequence", "mapping", "mutablemapping", "tuple", "defaultdict"):
            return None
        last = annotation.slice[-1].slice
        return self._type_of(last.value) if isinstance(last, cst.Index) else None

    def _value_type(self, value: cst.BaseExpression) -> Optional[str]:
        """The class whose instance (or the class itself) a value is: `Repo()`, `ChartDAO`."""
        if isinstance(value, cst.Call):
            value = value.func
        dotted = dotted_name(value)
        if dotted is None or not dotted.rsplit(".", 1)[-1][:1].isupper():
            known = self.frame.types.get(dotted) if dotted else None
            return known
        return self._qualify(dotted) or dotted

    def _class_attributes(self, node: cst.ClassDef) -> Dict[str, str]:
        found: Dict[str, str] = {}
        for statement in getattr(node.body, "body", ()):
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    known = self._type_of(small.annotation.annotation)
                elif isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    known = self._value_type(small.value)
                else:
                    continue
                if known is not None:
                    target = small.target if isinstance(small, cst.AnnAssign) else small.targets[0].target
                    found[target.value] = known
        return found

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.get_metadata(DaoFacts, node)
        decorator = self.context.config.transaction_decorator
        decorated = False
        binding = "function"
        if scope.is_method:
            binding = "instance"
        for item in node.decorators:
            plain = dotted_name(item.decorator) or ""
            if scope.is_method and plain in ("classmethod", "staticmethod"):
                binding = "class" if plain == "classmethod" else "static"
            elif scope.is_method and plain in ("property", "functools.cached_property", "cached_property"):
                binding = "property"
            expr = item.decorator.func if isinstance(item.decorator, cst.Call) else item.decorator
            name = self._qualify(dotted_name(expr)) or ""
            short = name.rsplit(".", 1)[-1]
            if decorator and (name == decorator.rstrip("()") or short == decorator.rstrip("()").rsplit(".", 1)[-1]):
                decorated = True
                self.decorator_called = isinstance(item.decorator, cst.Call)
            if short in ("contextmanager", "asynccontextmanager"):
                decorated = True
        params = node.params
        commit_params = commit_flags(node)
        commit_param = bool(commit_params)
        info = FunctionInfo(
            qualname=scope.qualname,
            name=node.name.value,
            class_name=scope.class_name if scope.is_method else None,
            position=self.pos(node),
            in_dao=scope.in_dao,
            is_async=scope.is_async,
            boundary_pattern=self._matches_boundary(scope.qualname),
            # a unit of work by itself: decorated, a context manager, the decorator's own body
            has_decorator=decorated or (scope.in_boundary and not scope.migration_module and not self._matches_boundary(scope.qualname)),
            commit_parameter=commit_param,
            commit_parameter_line=self._parameter_line(node, "commit") if commit_params else 0,
            in_test=scope.in_test,
            migration_module=scope.migration_module,
            listener=scope.listener,
            binding=binding,
            signature=_signature(params, binding),
            returns=self._type_of(node.returns.annotation) if node.returns is not None else None,
            name_position=_name_position(node, self.pos(node)),
        )
        if scope.in_dao and not node.name.value.startswith("_") and (scope.is_method or not self.stack):
            info.verb = action_verb(self.context.config, node.name.value)
        if not self.stack and decorator and node.name.value == decorator.rstrip("()").rsplit(".", 1)[-1]:
            self.decorator_forms[node.name.value] = decorator_form(node)
        self.functions[scope.qualname] = info
        self.stack.append(info)
        self.frames.append(_Frame())
        self.frame.literals = literal_names(node.body.body if isinstance(node.body, cst.IndentedBlock) else ())
        self.begin_depth.append(0)
        self.loops.append(0)
        self.blocks.append(0)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        info = self.stack.pop()
        frame = self.frames.pop()
        self.begin_depth.pop()
        self.loops.pop()
        self.blocks.pop()
        info.commit_sessions = tuple(frame.commit_keys)
        body = [s for s in original_node.body.body if not _is_docstring(s)] if isinstance(original_node.body, cst.IndentedBlock) else []
        info.only_call = len(body) == 1 and statement_call(body[0]) is not None
        info.calls = frame.covered(info.calls)
        if (info.commits or info.rollbacks) and not info.in_test:
            facts = lambda n: self.get_metadata(SessionFacts, n, None)  # noqa: E731
            info.refusal = refusal(original_node, facts)
            info.commit_helper = is_commit_helper(original_node, facts)

    def _parameter_line(self, node: cst.FunctionDef, name: str) -> int:
        found = self.get_metadata(AstPositionFacts, node, None)
        if found is not None:
            arguments = found.node.args
            for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs):
                if arg.arg == name:
                    return arg.lineno
        for param in (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params):
            if param.name.value == name:
                return self.pos(param)[0]
        return 0

    def _matches_boundary(self, qualname: str) -> bool:
        from .globs import name_matches, path_matches

        for entry in self.context.config.boundary_entries:
            module_glob, _, name_glob = entry.partition("::")
            if path_matches([module_glob], self.context.relpath) and name_matches([name_glob], qualname):
                return True
        return False

    def visit_For_body(self, node: cst.For) -> None:
        self.loops[-1] += 1
        self.frame.item_loops.append(per_item(node, self.frame.literals | self.frames[0].literals))

    def leave_For_body(self, node: cst.For) -> None:
        self.loops[-1] -= 1
        self.frame.item_loops.pop()

    def visit_While_body(self, node: cst.While) -> None:
        self.loops[-1] += 1
        self.frame.item_loops.append(per_item(node))

    def leave_While_body(self, node: cst.While) -> None:
        self.loops[-1] -= 1
        self.frame.item_loops.pop()

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
        self.blocks[-1] += 1
        self.block_counter += 1
        self.frame.open.append(self.block_counter)

    def leave_IndentedBlock(self, original_node: cst.IndentedBlock) -> None:
        self.blocks[-1] -= 1
        self.frame.open.pop()

    def visit_SimpleStatementSuite(self, node: cst.SimpleStatementSuite) -> None:
        self.block_counter += 1
        self.frame.open.append(self.block_counter)

    def leave_SimpleStatementSuite(self, original_node: cst.SimpleStatementSuite) -> None:
        self.frame.open.pop()

    def visit_Break(self, node: cst.Break) -> None:
        self.frame.exits.append((self.pos(node), "loop"))

    def visit_Continue(self, node: cst.Continue) -> None:
        self.frame.exits.append((self.pos(node), "loop"))

    # the items' facts exist once the items were visited, that is, when the body starts
    def visit_With_body(self, node: cst.With) -> None:
        for item in node.items:
            if isinstance(item.item, cst.Call):
                use = self.get_metadata(SessionFacts, item.item, None)
                if use is not None and use.action is Action.BEGIN:
                    self.begin_depth[-1] += 1
                    self.frame.begins.append(session_key(use))

    def leave_With_body(self, original_node: cst.With) -> None:
        for item in original_node.items:
            if isinstance(item.item, cst.Call):
                use = self.get_metadata(SessionFacts, item.item, None)
                if use is not None and use.action is Action.BEGIN:
                    self.begin_depth[-1] -= 1
                    self.frame.begins.pop()

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        # `if commit: session.rollback()` before a `raise`: the nested rewrite removes it
        statements = list(getattr(node.body, "body", ()))
        for number, statement in enumerate(statements):
            if (
                isinstance(statement, cst.If)
                and statement.orelse is None
                and raises(statements[number + 1 :])
            ):
                self.accepted_ifs.add(id(statement))

    def visit_If(self, node: cst.If) -> None:
        if isinstance(node.test, cst.Name) and node.test.value == "commit":
            self.commit_ifs.add(id(node.test))

    def visit_If_body(self, node: cst.If) -> None:
        if isinstance(node.test, cst.Name) and node.test.value == "commit":
            self.flag_ifs += 1

    def leave_If_body(self, node: cst.If) -> None:
        if isinstance(node.test, cst.Name) and node.test.value == "commit":
            self.flag_ifs -= 1

    def leave_If(self, node: cst.If) -> None:
        # at leave: the body's calls have been visited, so their facts exist
        if not (isinstance(node.test, cst.Name) and node.test.value == "commit"):
            return
        if id(node) in self.accepted_ifs and _commit_only(node.body, self, Action.ROLLBACK):
            return
        if not _commit_only(node.body, self) or node.orelse is not None:
            self.current.commit_other_use = True

    def visit_Name(self, node: cst.Name) -> None:
        if node.value != "commit" or not self.stack or not self.current.commit_parameter:
            return
        if id(node) in self.commit_ifs or id(node) in self.forward_values or id(node) in self.not_values:
            return
        self.current.commit_other_use = True

    def visit_Arg(self, node: cst.Arg) -> None:
        forwards = isinstance(node.value, cst.Name) and node.value.value == "commit" and not node.star
        if node.keyword is not None and node.keyword.value == "commit":
            self.not_values.add(id(node.keyword))
        elif node.keyword is not None or not forwards:
            return
        if forwards:  # `commit=commit`, or `commit` passed on by position
            self.forward_values.add(id(node.value))
            if self.call_stack:
                self.current.commit_forwards.append(self.pos(self.call_stack[-1]))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.not_values.add(id(node.attr))

    def leave_Call(self, original_node: cst.Call) -> None:
        self.call_stack.pop()

    def visit_Call(self, node: cst.Call) -> None:
        self.call_stack.append(node)
        func = node.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            self.frame.dict_keys.pop(func.value.value, None)  # `kwargs.update(...)`: keys unknown
        use = self.get_metadata(SessionFacts, node, None)
        if use is not None or dao_call(self.context.config, node) is not None:
            self.current.db_work = True
        if use is not None:
            if use.action is Action.COMMIT:
                self.current.transaction_calls.append((self.pos(node), "commits"))
            elif use.action is Action.ROLLBACK:
                self.current.transaction_calls.append((self.pos(node), "rolls back"))
            if use.action is Action.BEGIN_NESTED:
                self.uses_begin_nested = True
            elif use.action is Action.COMMIT and use.origin is not Origin.CREATED:
                position = self.pos(node)
                self.current.commits.append(position)
                key = session_key(use)
                self.frame.commit_keys.append(key)
                self.frame.commits.append((position, tuple(self.frame.open), key, self.loops[-1] > 0))
                if self.flag_ifs and self.stack:
                    self.current.flag_guarded = True
                if self.blocks[-1] == 1 and self.loops[-1] == 0:
                    self.current.top_level_commits.append(position)
            elif use.action is Action.CREATE:
                self.current.creations.append(self.pos(node))
            elif use.action is Action.ROLLBACK and use.origin not in OWN_ORIGINS:
                # a rollback of a session it obtained itself is its own business (DAO104)
                self.current.rollbacks.append(self.pos(node))
        registered = registration(node)
        if registered is not None:
            target = dotted_name(registered[0])
            if target is not None:
                self.registrations.append((self._qualify(target) or target, registered[1]))
        # a call on a session runs SQLAlchemy's code, never a method of the project
        site = self._call_site(node) if use is None else None
        if site is not None:
            self.frame.calls.append((len(self.current.calls), tuple(self.frame.open)))
            self.current.calls.append(site)
        self._note_references(node)

    def _call_site(self, node: cst.Call) -> Optional[CallSite]:
        keyword = None
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "commit":
                keyword = cst.Module([]).code_for_node(arg.value)
            elif arg.keyword is None and not arg.star and isinstance(arg.value, cst.Name) and arg.value.value == "commit":
                keyword = "commit"  # the flag passed on by position
        covered = self.begin_depth[-1] > 0
        func = node.func
        position = self.pos(node)
        end = self._range(node).end
        site = self._site(node, func, position, keyword, covered)
        if site is None:
            return None
        positional = sum(1 for a in node.args if a.keyword is None and not a.star)
        keywords = tuple(a.keyword.value for a in node.args if a.keyword is not None)
        starred = False
        for arg in node.args:
            known = self.frame.dict_keys.get(arg.value.value) if arg.star == "**" and isinstance(arg.value, cst.Name) else None
            if known is not None:  # `**kwargs` with `kwargs = {"async": async_}`: its keys are known
                keywords += known
            elif arg.star:
                starred = True
        return CallSite(
            site.kind,
            site.target,
            site.method,
            site.position,
            site.commit_keyword,
            site.covered_here,
            (end.line, end.column),
            any(self.frame.item_loops),  # once per item (DAO106), not a retry
            self.blocks[-1] == 1,
            f"begin {self.frame.begins[-1]}" if self.frame.begins else "",
            (positional, keywords, starred),
        )

    def _site(self, node: cst.Call, func: cst.BaseExpression, position: Position, keyword, covered):  # noqa: ANN001, ANN202
        if isinstance(func, cst.Name):
            target = self._qualify(func.value) or func.value
            return CallSite("name", target, func.value, position, keyword, covered)
        if not isinstance(func, cst.Attribute):
            return None
        method = func.attr.value
        receiver = func.value
        if isinstance(receiver, cst.Name) and receiver.value in ("self", "cls"):
            return CallSite("self", "", method, position, keyword, covered)
        if isinstance(receiver, cst.Call) and isinstance(receiver.func, cst.Name) and receiver.func.value == "super":
            return CallSite("super", "", method, position, keyword, covered)
        if isinstance(receiver, cst.Call):
            ctor = dotted_name(receiver.func)
            if ctor is not None and ctor.rsplit(".", 1)[-1][:1].isupper():
                return CallSite("instance", self._qualify(ctor) or ctor, method, position, keyword, covered)
            inner = self._site(receiver, receiver.func, position, None, covered)
            if inner is not None and inner.kind not in ("returned", "unknown"):
                # `self.get_factory().create()`: the factory's return annotation may tell
                return CallSite("returned", f"{inner.kind}|{inner.target}|{inner.method}", method, position, keyword, covered)
            return CallSite("unknown", "", method, position, keyword, covered)
        if isinstance(receiver, cst.Subscript):
            # `_cache[region].delete(key)` with `_cache: dict[Region, Cache]`: a Cache
            base = dotted_name(receiver.value)
            element = self.frame.types.get(f"{base}[]") or self.frames[0].types.get(f"{base}[]") if base else None
            if element is not None:
                return CallSite("instance", element, method, position, keyword, covered)
        dotted = dotted_name(receiver)
        if dotted is None:
            return CallSite("unknown", "", method, position, keyword, covered)
        if dotted.rsplit(".", 1)[-1] in ORM_ATTRIBUTES:
            # `Tag.__table__.create(bind)`, `Model.metadata.drop_all()`: SQLAlchemy's objects
            return CallSite("instance", EXTERNAL, method, position, keyword, covered)
        known = self.frame.types.get(dotted)
        if known is not None:  # `setting = Setting(...)`, then `setting.save()`
            return CallSite("instance", known, method, position, keyword, covered)
        # "attr": the receiver's head is imported; "var": a local, a parameter, a class here
        kind = "attr" if self._imported(dotted.split(".")[0]) else "var"
        return CallSite(kind, self._qualify(dotted) or dotted, method, position, keyword, covered)

    # -- what local names hold -------------------------------------------------------------
    def visit_Subscript(self, node: cst.Subscript) -> None:
        # `kwargs[key] = ...` (or any use by subscript) may add keys: no longer known
        if isinstance(node.value, cst.Name):
            self.frame.dict_keys.pop(node.value.value, None)

    def visit_Assign(self, node: cst.Assign) -> None:
        value = node.value
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                keys = _literal_keys(value)
                if keys is not None:
                    self.frame.dict_keys[target.target.value] = keys
                else:
                    self.frame.dict_keys.pop(target.target.value, None)
        ctor = dotted_name(value.func) if isinstance(value, cst.Call) else None
        for target in node.targets:
            self._note_attribute(target.target, value)
            if not isinstance(target.target, cst.Name):
                continue
            if not self.stack and self.class_stack:
                continue  # a class attribute: `_class_attributes` has it
            name = target.target.value
            if ctor is not None and ctor.rsplit(".", 1)[-1][:1].isupper():
                self.frame.types[name] = self._qualify(ctor) or ctor
            elif isinstance(value, cst.Call) and self._returns_outside_object(value):
                self.frame.types[name] = EXTERNAL
            else:
                self.frame.types.pop(name, None)
            if self.stack:
                self._note_value(value)

    def _returns_outside_object(self, call: cst.Call) -> bool:
        """The call returns an object of another library (`Image.open(...)`, then its
        `.resize(...)`), never an instance of the project's classes. Not for session and
        query calls: they return the project's models."""
        current: cst.BaseExpression = call
        while isinstance(current, (cst.Call, cst.Attribute, cst.Subscript)):
            if isinstance(current, cst.Call):
                if self.get_metadata(SessionFacts, current, None) is not None:
                    return False
                current = current.func
            else:
                current = current.value
        head = dotted_name(current)
        if head is None:
            return False
        if self.frame.types.get(head) == EXTERNAL:
            return True
        imported = self._imported(head)
        own = (self.context.module_name or "").split(".")[0]
        return imported is not None and not imported.startswith(".") and imported.split(".")[0] not in (own, "")

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        known = self._type_of(node.annotation.annotation)
        target = dotted_name(node.target)
        element = self._element_type(node.annotation.annotation)
        if element is not None and isinstance(node.target, cst.Name) and not (self.class_stack and not self.stack):
            self.frame.types[f"{node.target.value}[]"] = element
        if known is not None and target is not None and target.startswith("self.") and target.count(".") == 1:
            owner = self.class_stack[-1] if self.class_stack else None
            if owner is not None and self.stack:
                owner.attributes.setdefault(target[5:], known)

    def _note_attribute(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """`self.repo = Repo()` or `self.dao = dao` (an annotated parameter) in a method."""
        dotted = dotted_name(target)
        owner = self.class_stack[-1] if self.class_stack else None
        if owner is None or not self.stack or dotted is None or not dotted.startswith("self.") or dotted.count(".") != 1:
            return
        known = self._value_type(value)
        if known is not None:
            owner.attributes.setdefault(dotted[5:], known)

    def visit_Param(self, node: cst.Param) -> None:
        self.not_values.add(id(node.name))
        annotation = node.annotation.annotation if node.annotation is not None else None
        dotted = dotted_name(annotation) if annotation is not None else None
        if dotted is not None and dotted.rsplit(".", 1)[-1][:1].isupper():
            # the parameter's frame is the function's own: visit_FunctionDef pushed it already
            self.frame.types[node.name.value] = self._qualify(dotted) or dotted

    # -- functions used as values (callbacks) -----------------------------------------------
    def _note_references(self, node: cst.Call) -> None:
        for arg in node.args:
            self._note_value(arg.value)

    def _note_value(self, value: cst.BaseExpression) -> None:
        """Remember `value` if it names a function without calling it."""
        if isinstance(value, (cst.List, cst.Tuple, cst.Set)):
            for element in value.elements:
                self._note_value(element.value)
            return
        if isinstance(value, cst.Dict):
            for element in value.elements:
                if isinstance(element, cst.DictElement):
                    self._note_value(element.value)
            return
        dotted = dotted_name(value) if isinstance(value, (cst.Name, cst.Attribute)) else None
        if dotted is None:
            return
        head = dotted.split(".")[0]
        # only what can name a function of the project: an import, a class's attribute, a
        # name of this module (checked against its functions at the end)
        if "." in dotted and not (self._imported(head) or head in ("self", "cls") or head[:1].isupper()):
            return
        if head in ("self", "cls") and "." in dotted:
            owner = self.current.class_name or (self.current.qualname.split(".")[0] if "." in self.current.qualname else None)
            if owner is None:
                return
            dotted = owner + dotted[len(head):]
        self.references.append((self._qualify(dotted) or dotted, self.pos(value)))

    def visit_Return(self, node: cst.Return) -> None:
        self.frame.exits.append((self.pos(node), "return"))
        if node.value is not None and self.stack:
            self._note_value(node.value)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        if not self.call_stack:
            self._note_value(node.value)

    def summary(self) -> FileSummary:
        engines = dict(self.engines)
        functions = dict(self.functions)
        functions[""] = self.module_level
        return FileSummary(
            path=self.context.path,
            module=self.context.module_name,
            imports=self.imports,
            classes=self.classes,
            functions=functions,
            uses_begin_nested=self.uses_begin_nested,
            sqlite_engines=engines,
            decorator_called=self.decorator_called,
            is_package=self.context.relpath.endswith("__init__.py"),
            registrations=list(self.registrations),
            references=self._function_references(functions),
            decorator_forms=dict(self.decorator_forms),
            names=self.names,
            variables=dict(self.frames[0].types),
        )

    def _function_references(self, functions: Dict[str, FunctionInfo]) -> List[Tuple[str, Position]]:
        """The references that may name a function: imported names, or this module's own."""
        out = []
        for dotted, position in self.references:
            head = dotted.split(".")[0]
            if "." in dotted or dotted in functions or head in self.classes:
                out.append((dotted, position))
        return sorted(set(out))


# a value of another library's class (what it is does not matter: never the project's)
EXTERNAL = "<outside>"
# attributes SQLAlchemy gives mapped classes: calls on them never run the project's methods
ORM_ATTRIBUTES = frozenset({"__table__", "__mapper__", "metadata", "__tablename__"})


class _Frame:
    """What one function's traversal remembers to decide which calls a later commit covers."""

    def __init__(self) -> None:
        self.open: List[int] = []  # ids of the blocks enclosing this point
        self.calls: List[Tuple[int, Tuple[int, ...]]] = []  # (index in info.calls, block path)
        self.commits: List[Tuple[Position, Tuple[int, ...], str, bool]] = []
        self.commit_keys: List[str] = []
        self.exits: List[Tuple[Position, str]] = []  # return / break / continue
        self.begins: List[str] = []  # session keys of the open `with s.begin():` blocks
        self.types: Dict[str, str] = {}  # local name -> qualified class it holds an instance of
        self.item_loops: List[bool] = []  # per open loop: it runs once per item of data
        self.literals: Set[str] = set()  # names bound to literal collections in the function
        self.imports: Dict[str, str] = {}  # imports made inside the function
        self.dict_keys: Dict[str, Tuple[str, ...]] = {}  # name -> the keys of the dict literal it holds

    def covered(self, calls: List[CallSite]) -> List[CallSite]:
        """`calls` with `cover` set where a commit follows on every path that does not raise.

        The commit must sit in the call's own block or an enclosing one (not in a branch of
        its own), after it, with no `return` between (nor a `break`/`continue` when the commit
        is in a loop body).
        """
        out = list(calls)
        for number, path in self.calls:
            site = out[number]
            if site.cover:
                continue
            for position, commit_path, key, in_loop in self.commits:
                if position <= site.position or path[: len(commit_path)] != commit_path:
                    continue
                if any(site.position < where < position and (kind == "return" or in_loop) for where, kind in self.exits):
                    continue
                out[number] = _with_cover(site, f"commit {key}")
                break
        return [_with_cover(c, c.cover) if c.cover and not c.covered_here else c for c in out]


def _literal_keys(value: cst.BaseExpression) -> Optional[Tuple[str, ...]]:
    """The keys of a dict literal whose keys are all plain strings, else None."""
    if not isinstance(value, cst.Dict):
        return None
    keys = []
    for element in value.elements:
        if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
            return None
        key = element.key.evaluated_value
        if not isinstance(key, str):
            return None
        keys.append(key)
    return tuple(keys)


def _with_cover(site: CallSite, cover: str) -> CallSite:
    return CallSite(
        site.kind, site.target, site.method, site.position, site.commit_keyword, bool(cover),
        site.end, site.in_loop, site.top_level, cover, site.arguments,
    )


def session_key(use) -> str:  # noqa: ANN001 - a SessionUse
    """Which session a transaction call is on, as the planner compares them.

    "own s": a session the function obtained itself (no caller can commit it); "global
    db.session": a module-level session everybody shares; "local session": one handed in.
    """
    if use.origin in OWN_ORIGINS:
        return f"own {use.session}"
    if use.origin is Origin.NAME and not use.session.startswith(("self.", "cls.")):
        return f"global {use.session}"
    return f"local {use.session}"


def _name_position(node: cst.FunctionDef, start: Position) -> Position:
    """Where the function's name is, from where its `def` (or `async def`) starts."""
    column = start[1]
    if node.asynchronous is not None:
        column += len("async") + len(node.asynchronous.whitespace_after.value)
    return (start[0], column + len("def") + len(node.whitespace_after_def.value))


def module_names(module: cst.Module) -> Tuple[str, ...]:
    """The names a module binds at its top level (not inside functions or classes)."""
    names: Set[str] = set(collect_imports(module))
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            names.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                targets = []
                if isinstance(small, cst.Assign):
                    targets = [t.target for t in small.targets]
                elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                    targets = [small.target]
                for target in targets:
                    elements = target.elements if isinstance(target, (cst.Tuple, cst.List)) else [target]
                    for element in elements:
                        value = element.value if isinstance(element, (cst.Element, cst.StarredElement)) else element
                        if isinstance(value, cst.Name):
                            names.add(value.value)
    return tuple(sorted(names))


def _signature(params: cst.Parameters, binding: str) -> Tuple[int, int, Tuple[str, ...], bool]:
    positional = [*params.posonly_params, *params.params]
    if binding in ("instance", "class", "property") and positional:
        positional = positional[1:]  # self / cls
    required = sum(1 for p in positional if p.default is None)
    names = tuple(p.name.value for p in (*positional, *params.kwonly_params))
    open_ended = isinstance(params.star_arg, cst.Param) or params.star_kwarg is not None
    return (len(positional), required, names, open_ended)


def decorator_form(node: cst.FunctionDef) -> str:
    """"plain" for `def d(func): ... return wrapper`, "factory" for `def d(**options): ...
    return decorate` (used as `@d()`), from what the definition calls and returns."""
    params = [*node.params.posonly_params, *node.params.params]
    first = params[0].name.value if params else None
    inner = [s for s in node.body.body if isinstance(s, cst.FunctionDef)] if isinstance(node.body, cst.IndentedBlock) else []
    if first is not None and params[0].default is None and any(_calls_name(f, first) for f in inner):
        return "plain"  # the wrapper calls the decorated function, handed in as `first`
    for function in inner:
        inner_params = [*function.params.posonly_params, *function.params.params]
        if inner_params and any(
            isinstance(s, cst.FunctionDef) and _calls_name(s, inner_params[0].name.value)
            for s in (function.body.body if isinstance(function.body, cst.IndentedBlock) else ())
        ):
            return "factory"  # returns a decorator whose wrapper calls the function
    if all(p.default is not None for p in params) or not params:
        return "factory"
    return "plain"


def _calls_name(node: cst.CSTNode, name: str) -> bool:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            if isinstance(call.func, cst.Name) and call.func.value == name:
                found.append(call)

    node.visit(Finder())
    return bool(found)


def _commit_only(block: cst.BaseSuite, summarizer: "Summarizer", action: Action = Action.COMMIT) -> bool:
    """The block holds nothing but session commits (what an `if commit:` branch should hold)."""
    if not isinstance(block, cst.IndentedBlock):
        block_body = getattr(block, "body", ())
        statements = [cst.SimpleStatementLine(body=list(block_body))]
    else:
        statements = list(block.body)
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if not isinstance(small, cst.Expr):
                return False
            call = small.value.expression if isinstance(small.value, cst.Await) else small.value
            if not isinstance(call, cst.Call):
                return False
            use = summarizer.get_metadata(SessionFacts, call, None)
            if use is None or use.action is not action:
                return False
    return True


def finish_summary(summarizer: Summarizer, text: str) -> FileSummary:
    """The summary of a finished traversal, with `# noqa` suppressions applied."""
    summary = summarizer.summary()
    if "noqa" in text.lower():
        noqa = NoqaMap(text)
        for info in summary.functions.values():
            suppressed = set(info.suppressed)
            if any(noqa.suppresses(line, "DAO101") for line, _ in info.commits):
                suppressed.add("DAO101")
            if any(noqa.suppresses(line, "DAO102") for line, _ in info.rollbacks):
                suppressed.add("DAO102")
            if info.commit_parameter_line and noqa.suppresses(info.commit_parameter_line, "DAO103"):
                suppressed.add("DAO103")
            if any(noqa.suppresses(line, "DAO105") for line, _ in info.commits + info.rollbacks):
                suppressed.add("DAO105")
            info.suppressed = tuple(sorted(suppressed))
    return summary
