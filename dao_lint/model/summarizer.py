"""A project-wide index: what each file defines, calls and commits, for cross-module questions.

One pass per file (the same analysis providers the rules use) produces a small, picklable
`FileSummary`; `ProjectIndex` joins them to resolve calls across modules by imports and
class hierarchies (never by searching text), e.g. every call site of `BaseDAO.create`.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Mapping, Optional, Set, Tuple

import libcst as cst
from libcst import BatchableCSTVisitor

from ..analysis import Action, DaoFacts, FileContext, FileContextProvider, Origin, SessionFacts
from ..analysis.commit_helpers import is_commit_helper
from ..analysis.structure import is_docstring
from ..analysis.dao import action_verb, commit_flags, dao_call, registration
from ..analysis.engines import EngineFacts
from ..analysis.structure import StructureFacts
from ..analysis.positions import AstPositionFacts
from ..analysis.structure import Literals, class_literals, leaves_after, literal_names, per_item, raises, statement_call
from ..analysis.visitors import CachedVisitors
from ..analysis.names import collect_imports, dotted_name, import_bindings, qualify
from ..analysis.session_kinds import OWN_ORIGINS
from ..codemods.nested_dry_run import rewrite_outcome
from .summary import CallSite, ClassInfo, FileSummary, FunctionInfo, Position, with_suppressions
from .function_shapes import Frame, commit_only, decorator_form, module_names, name_position, session_key, signature
from .values import Values

__all__ = ["Summarizer", "finish_summary"]

_VALUE_HOOKS = tuple(name for name in dir(Values) if name.startswith(("visit_", "leave_")))

class Summarizer(CachedVisitors, BatchableCSTVisitor):
    """Collects a FileSummary in one traversal."""

    METADATA_DEPENDENCIES = (SessionFacts, DaoFacts, AstPositionFacts, FileContextProvider, EngineFacts, StructureFacts)

    def __init__(self, context: FileContext) -> None:
        super().__init__()
        self.context = context
        self.values = Values(self)  # what values are: its hooks run in this same pass
        self.functions: Dict[str, FunctionInfo] = {}
        self.classes: Dict[str, ClassInfo] = {}
        self.stack: List[FunctionInfo] = []
        self.module_level = FunctionInfo("", "", None, (1, 0), context.is_dao_module, False, False, False, False, in_test=context.is_test)
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
        self.frames: List[Frame] = [Frame()]
        self.block_counter = 0
        self.flag_ifs = 0  # open `if commit:` branches
        self.references: List[Tuple[str, Position]] = []
        self.decorator_forms: Dict[str, str] = {}
        self.names: Tuple[str, ...] = ()
        self.class_stack: List[Optional[ClassInfo]] = []
        self.branch_ids: Dict[int, int] = {}  # id of an `if`/`try` -> its number in the file
        self.decorator_lines: Tuple[int, int] = (0, 0)  # where the transaction decorator is defined here
        self.class_literals: List[Literals] = [Literals()]  # per enclosing class: `self.FIELDS` and the like

    @property
    def frame(self) -> "Frame":
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

    def get_visitors(self) -> Mapping[str, Callable]:
        own = super().get_visitors()  # and the value tracker's hooks (no name is both's: a test says so)
        return {**own, **{name: getattr(self.values, name) for name in _VALUE_HOOKS if name not in own}}

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

    def _leaves_after(self, node: cst.CSTNode) -> bool:
        place = self.get_metadata(StructureFacts, node, None)  # (or in a block that leaves the function)
        return place is not None and (place.item_loop is None or leaves_after(place))

    def branches(self, node: cst.CSTNode) -> str:
        """The `if`/`try` branches around `node`, as the summary writes them ("3:0/5:1")."""
        place = self.get_metadata(StructureFacts, node, None)
        if place is None:
            return ""
        ids = self.branch_ids
        return "/".join(f"{ids.setdefault(id(owner), len(ids))}:{index}" for owner, index in place.branches)

    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine) -> None:
        # (on leaving: the positions of the statements inside are known by then)
        node = original_node
        for small in node.body if self.stack else ():
            if isinstance(small, (cst.Return, cst.Raise)):  # (where it ends: `return f()` leaves after f)
                self.current.leaves.append(((self._range(small).end.line, self._range(small).end.column), self.branches(node)))

    def pos(self, node: cst.CSTNode) -> Position:
        start = self._range(node).start
        return (start.line, start.column)

    def visit_Module(self, node: cst.Module) -> None:
        self.imports = collect_imports(node)
        self.frames[0].literals = literal_names(node.body)
        self.names = module_names(node)
        found = self.get_metadata(EngineFacts, node)
        self.engines = {e.name: (self.pos(e.url), e.literal, e.fixed) for e in found.engines}
        self.engine_listeners = found.class_listeners

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
        self.class_literals.append(class_literals(node))
        if not self.stack:  # nested classes inside functions are not part of the module's API
            info = ClassInfo(node.name.value, tuple(bases), tuple(sorted(methods)), self.values.class_attributes(node))
            self.classes[node.name.value] = info
            self.class_stack.append(info)
        else:
            self.class_stack.append(None)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.class_stack.pop()
        self.class_literals.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.get_metadata(DaoFacts, node)
        decorator = self.context.config.transaction_decorator
        decorated = carries = False  # (carries: the transaction decorator itself)
        memoized = False
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
                decorated = carries = True
                self.decorator_called = isinstance(item.decorator, cst.Call)
            if short in ("contextmanager", "asynccontextmanager"):
                decorated = True
            memoized = memoized or "memoize" in short.lower() or short in ("cache", "lru_cache", "cached")
        own = self.context.config.defines_transaction_decorator(self.context.module_name, scope.qualname)
        if own and not self.stack:
            found = self.get_metadata(AstPositionFacts, node, None)
            if found is not None:
                self.decorator_lines = (found.range.start.line, found.range.end.line)
        params = node.params
        commit_params = commit_flags(node)
        commit_param = bool(commit_params)
        named_at = name_position(node, self.pos(node))
        info = FunctionInfo(
            qualname=scope.qualname,
            name=node.name.value,
            class_name=scope.class_name if scope.is_method else None,
            position=self.pos(node),
            in_dao=scope.in_dao,
            is_async=scope.is_async,
            # (the decorator's own definition is the unit of work, never a boundary to decorate)
            boundary_pattern=self.context.config.is_boundary(self.context.relpath, scope.qualname) and not own,
            # a unit of work by itself: decorated, a context manager, the decorator's own body
            has_decorator=decorated or own or (scope.in_boundary and not scope.migration_module and not self.context.config.is_boundary(self.context.relpath, scope.qualname)),
            commit_parameter=commit_param,
            commit_parameter_line=self._parameter_line(node, "commit") if commit_params else 0,
            in_test=scope.in_test,
            migration_module=scope.migration_module,
            listener=scope.listener,
            binding=binding,
            signature=signature(params, binding),
            returns=self.values.type_of(node.returns.annotation) if node.returns is not None else None,
            name_position=named_at,
            name_end=_after(named_at, node.name.value),
            memoized=memoized, decorated=carries,
        )
        if scope.in_dao and not node.name.value.startswith("_") and (scope.is_method or not self.stack):
            info.verb = action_verb(self.context.config, node.name.value)
        if not self.stack and decorator and node.name.value == decorator.rstrip("()").rsplit(".", 1)[-1]:
            self.decorator_forms[node.name.value] = decorator_form(node)
        self.functions[scope.qualname] = info
        self.stack.append(info)
        self.frames.append(Frame())
        self.frame.literals = literal_names(node.body.body if isinstance(node.body, cst.IndentedBlock) else (), self.frames[0].literals) | self.class_literals[-1]
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
        body = [s for s in original_node.body.body if not is_docstring(s)] if isinstance(original_node.body, cst.IndentedBlock) else []
        info.only_call, info.calls = len(body) == 1 and statement_call(body[0]) is not None, frame.covered(info.calls)
        if (info.commits or info.rollbacks) and not info.in_test:
            facts = lambda n: self.get_metadata(SessionFacts, n, None)  # noqa: E731
            info.refusal, held = rewrite_outcome(original_node, facts)
            info.savepoint_calls = tuple(sorted(map(self.pos, held)))
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

    def visit_For_body(self, node: cst.For) -> None:
        self.loops[-1] += 1
        self.frame.item_loops.append(per_item(node, self.frame.literals | self.frames[0].literals))
        self.block_counter += 1
        self.frame.loop_ids.append(self.block_counter)

    def leave_For_body(self, node: cst.For) -> None:
        self.loops[-1] -= 1
        self.frame.item_loops.pop()
        self.frame.loop_ids.pop()

    def visit_While_body(self, node: cst.While) -> None:
        self.loops[-1] += 1
        self.frame.item_loops.append(per_item(node))
        self.block_counter += 1
        self.frame.loop_ids.append(self.block_counter)

    def leave_While_body(self, node: cst.While) -> None:
        self.loops[-1] -= 1
        self.frame.item_loops.pop()
        self.frame.loop_ids.pop()

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
        if id(node) in self.accepted_ifs and commit_only(node.body, self, Action.ROLLBACK):
            return
        if not commit_only(node.body, self) or node.orelse is not None:
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
        if use is not None or dao_call(self, node) is not None:
            self.current.db_work = True
        if use is not None:
            self.current.writes = self.current.writes or use.action is Action.WRITE
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
                if self.loops[-1] == 0:
                    self.current.commit_paths.append((position, self.branches(node)))
            elif use.action is Action.COMMIT:
                # a commit of a session it made: its own unit of work (not a commit a caller
                # sees), but it covers the calls it hands that session to (`helper(s)`, then
                # `s.commit()`)
                self.frame.commits.append((self.pos(node), tuple(self.frame.open), f"made {use.session}", self.loops[-1] > 0))
            elif use.action is Action.CREATE:
                self.current.creations.append(self.pos(node))
            elif use.action is Action.ROLLBACK and use.origin not in OWN_ORIGINS:
                # a rollback of a session it obtained itself is its own business (DAO104)
                self.current.rollbacks.append(self.pos(node))
            if use.action is Action.ROLLBACK:  # (any: it may undo what a later commit was to cover)
                self.frame.rollbacks.append((self.pos(node), tuple(self.frame.loop_ids)))
        registered = registration(node)
        if registered is not None:
            target = dotted_name(registered[0])
            if target is not None:
                self.registrations.append((self._qualify(target) or target, registered[1]))
        # a call on a session runs SQLAlchemy's code, never a method of the project
        site = self._call_site(node) if use is None else None
        if site is not None:
            self.frame.calls.append((len(self.current.calls), tuple(self.frame.open), tuple(self.frame.loop_ids)))
            self.current.calls.append(site)
        self.values.note_references(node)

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
        site = self.values.site(node, func, position, keyword, covered)
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
            site.kind, site.target, site.method, site.position, site.commit_keyword, site.covered_here, (end.line, end.column),
            any(self.frame.item_loops) and not self._leaves_after(node),  # once per item (DAO106), not a retry
            self.blocks[-1] == 1, f"begin {self.frame.begins[-1]}" if self.frame.begins else "", (positional, keywords, starred),
            tuple(a.value.value for a in node.args if isinstance(a.value, cst.Name)), self.branches(node),
        )

    def summary(self) -> FileSummary:
        functions = dict(self.functions)
        functions[""] = self.module_level
        return FileSummary(
            path=self.context.path,
            module=self.context.module_name,
            imports=self.imports,
            classes=self.classes,
            functions=functions,
            uses_begin_nested=self.uses_begin_nested,
            sqlite_engines=dict(self.engines), engine_listeners=self.engine_listeners,
            decorator_called=self.decorator_called,
            is_package=self.context.relpath.endswith("__init__.py"),
            registrations=list(self.registrations),
            references=self.values.function_references(functions),
            decorator_forms=dict(self.decorator_forms),
            names=self.names,
            variables=dict(self.frames[0].types),
            decorator_lines=self.decorator_lines,
        )

def finish_summary(summarizer: Summarizer, text: str) -> FileSummary:
    """The summary of a finished traversal, with `# noqa` suppressions applied."""
    return with_suppressions(summarizer.summary(), text)


def _after(position: Position, name: str) -> Position:
    return (position[0], position[1] + len(name))
