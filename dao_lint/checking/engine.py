"""Check one file: read once, parse once, one MetadataWrapper, all rules in one pass."""
from __future__ import annotations

import contextlib
import gc
import re
import traceback
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple, Type, Union

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .. import rules as _rules  # noqa: F401 - registers every rule
from ..analysis import FileContext, FileContextProvider
from ..analysis.engines import EngineFacts
from ..analysis.positions import AstPositionFacts
from ..analysis.session import SessionFacts
from ..analysis.persistence import PersistenceFacts
from ..analysis.dao import DaoFacts
from ..analysis.structure import StructureFacts
from ..analysis.walk import walk
from ..foundations.config import Config
from ..foundations.files import DecodeFailure, compile_quietly, decode_source
from ..rules.base import Report, Rule, RuleContext, registry
from ..model.sessions import own_sessions
from ..foundations.suppress import split_suppressed
from ..foundations.types import Diagnostic, FileResult, Span

__all__ = ["check_source", "decode_source", "DecodeFailure", "rules_for", "one_young_collection", "parse_module"]

_TOOL_NAMES = {"DAO000": "internal-error", "DAO001": "syntax-error", "DAO002": "unreadable-file"}


def _syntax_error(text: str, path: str, exc: Exception) -> Tuple[int, int, str]:
    """Where and why the file does not parse: CPython's position when it agrees that the file
    is invalid (libcst's tokenizer errors point at the wrong line), else libcst's."""
    try:
        compile_quietly(text, path)
    except SyntaxError as error:
        return error.lineno or 1, max((error.offset or 1) - 1, 0), error.msg
    except (ValueError, RecursionError, MemoryError) as error:
        return 1, 0, type(error).__name__
    if isinstance(exc, cst.ParserSyntaxError):
        return exc.raw_line, exc.raw_column, exc.message
    return 1, 0, f"cannot parse ({type(exc).__name__})"


def _tool(path: str, code: str, message: str, line: int = 1, column: int = 0) -> Diagnostic:
    return Diagnostic(path, Span(max(line, 1), max(column, 0), max(line, 1), max(column, 0)), code, _TOOL_NAMES[code], message)


# What a file must contain (case-sensitive) before a session rule can fire there: a
# session used with a dot, a session type or factory, a Model.query chain, an engine, a
# commit or rollback (also through helpers), SAVEPOINTs, listeners, test database set-up.
_SESSION_TOKENS = (
    "Session", "sessionmaker", "session_factory", "session_maker", "async_session", "create_session",
    "scoped_session", "session_persistence", ".query.", ".query(", "create_engine",
    "create_async_engine", "engine_from_config", ".commit(", ".rollback(", "begin_nested", "listen",
    "drop_all", "create_all", "get_db",
)
# an engine used: `engine.connect()`, `db.engine.execute(...)` (not `sqlalchemy.engine.url`
# in an import, nor "engine." ending a comment's sentence)
_ENGINE_CALL = re.compile(r"engine\.\w+\(")
# a model's query in any form: `Chart.query.get(1)`, `(Chart.query\n .filter(...))`, `f(Chart.query)`
_MODEL_QUERY = re.compile(r"\b(?:[A-Z]\w*|cls|\w*model)\.query\b")
_TOKENS: Dict[int, Tuple[Config, Tuple[str, ...]]] = {}


def _session_tokens(config: Config) -> Tuple[str, ...]:
    """Tokens that can make a session rule relevant: `<name>.` for every configured session
    name (`session.`, `db_session.`), the names the project's session model knows to give
    sessions (`open_db`, `SessionLocal`), plus the fixed set above."""
    known = _TOKENS.get(id(config))
    if known is not None and known[0] is config:
        return known[1]
    names = {n.rsplit(".", 1)[-1] + "." for n in config.session_names}
    model = config.project_sessions
    if model is not None:
        # as the names are used: `get_db(`, `SessionLocal(`, `ScopedSession.`, `: SessionDep`
        for name, (kind, value) in model.names.items():
            last = name.rsplit(".", 1)[-1]
            if kind == "calls" and value != ("not",):
                # (a dependency is named, not called: `Depends(get_db)`)
                names.add(last if value[0] == "gen" else last + "(")
            elif kind == "value" and value != ("not",):
                names.update((last + "(", last + "."))
            elif kind == "type" and value:
                names.add(last)
    tokens = tuple(sorted(names | set(_SESSION_TOKENS)))
    if len(_TOKENS) > 64:
        _TOKENS.clear()
    _TOKENS[id(config)] = (config, tokens)
    return tokens


def _dao_tokens(config: Config) -> Tuple[str, ...]:
    """Lowered tokens that can make a DAO rule relevant: the pieces of the DAO class globs,
    and the names of the project's DAO modules (`crud`, `database`: their functions are DAO
    calls wherever they are imported)."""
    parts = set()
    for pattern in (*config.dao_classes, *config.dao_base_classes):
        for piece in pattern.replace("?", "*").split("*"):
            if piece:
                parts.add(piece.lower())
    model = config.project_sessions
    for module in model.dao_modules if model is not None else ():
        # as the module is imported: `app.crud`, `from app import crud`
        parent, _, last = module.rpartition(".")
        parent = parent.rsplit(".", 1)[-1]
        parts.update((f"{parent}.{last}".lower(), f"{parent} import {last}".lower()))
    return tuple(sorted(parts))


def rules_for(text: str, context: FileContext, enabled: FrozenSet[str]) -> List[Type[Rule]]:
    """The enabled rules that can fire in this file (a cheap test on the lowered text)."""
    lowered = text.lower()
    config = context.config
    has_session = (
        any(token in text for token in _session_tokens(config))
        or ("engine." in text and _ENGINE_CALL.search(text) is not None)
        or (".query" in text and _MODEL_QUERY.search(text) is not None)
    )
    has_dao = context.is_dao_module or any(token in lowered for token in _dao_tokens(config))
    chosen = []
    for code in sorted(enabled):
        rule = registry.get(code)
        if rule is None:
            continue
        needed = {"dao": has_dao, "session": has_session, "text": True}.get(rule.requires, has_dao or has_session)
        if context.is_migration_module:
            needed = needed and {"dao": has_dao, "check": True}.get(rule.migration_modules, False)
        if needed and rule.relevant(context, text):
            chosen.append(rule)
    return chosen


_EVERY_CODE = frozenset(registry)


def _guard(rule: Rule, errors: Dict[str, str]) -> Callable[[Callable], Callable]:
    def wrap(function: Callable) -> Callable:
        def guarded(node: cst.CSTNode) -> None:
            if rule.code in errors:
                return None
            try:
                function(node)
            except Exception as exc:  # a crashing rule must not end the run
                errors[rule.code] = f"{type(exc).__name__}: {exc}"
            return None

        return guarded

    return wrap


# The analysis providers, in dependency order. They run as ordinary batched visitors in the
# same traversal as the rules (a provider's `visit_X` comes before the rules' for the same
# node), instead of a traversal of their own: libcst rebuilds the tree on every traversal.
_PROVIDERS = (AstPositionFacts, EngineFacts, StructureFacts, SessionFacts, PersistenceFacts, DaoFacts)


def _run_rules(module: cst.Module, context: FileContext, rule_classes: Sequence[Type[Rule]], project_nested, extra=()):  # noqa: ANN001
    rule_context = RuleContext(context.path, context.config, project_nested)
    instances = [cls(rule_context) for cls in rule_classes]
    needed = set()
    for visitor in (*instances, *extra):
        needed.update(visitor.METADATA_DEPENDENCIES)
    stores: Dict[type, object] = {FileContextProvider: {module: context}}
    providers = []
    for provider_class in _PROVIDERS:
        if provider_class in needed:
            provider = provider_class()
            provider.metadata = stores
            stores[provider_class] = provider._computed
            providers.append(provider)
    unknown = needed - set(stores)
    if unknown:
        raise RuntimeError(f"no provider for {sorted(p.__name__ for p in unknown)}")
    errors: Dict[str, str] = {}
    for instance in instances:
        instance.metadata = stores
        wrap = _guard(instance, errors)
        visitors = {name: wrap(fn) for name, fn in instance.get_visitors().items()}
        instance.get_visitors = lambda visitors=visitors: visitors  # type: ignore[method-assign]
    slow: Dict[str, object] = {}

    def positions():  # noqa: ANN202 - libcst's provider, only when a finding needs it
        if "map" not in slow:
            slow["map"] = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        return slow["map"]

    for visitor in extra:
        visitor.metadata = stores
        visitor.fallback_positions = positions
    walk(module, [*providers, *instances, *extra])
    fast = stores[AstPositionFacts]
    reports: List[Tuple[Report, object]] = []
    for instance in instances:
        if instance.code in errors:
            continue
        for report in instance.reports:
            found = fast.get(report.node)
            reports.append((report, found.range if found is not None else positions()[report.node]))
    for visitor in (*providers, *instances):
        _forget(visitor)
    return reports, errors


def _forget(visitor: object) -> None:
    """Drop what a visitor holds once its work is read. Visitors sit in reference cycles
    (classes and closures defined in their methods refer back to them) and hold the tree
    through their metadata: dropped here, the tree is freed as soon as it is no longer used,
    instead of waiting for the cyclic garbage collector to walk every node."""
    vars(visitor).clear()


def parse_module(text: Union[str, bytes]) -> cst.Module:
    """libcst's `parse_module` without the check each node runs on itself when it is made.
    That check is for trees built by hand (a node whose parts do not fit together); a tree
    made by the parser from real text always passes it, and it is a fifth of the parse.
    Nodes made afterwards (by a codemod) are checked as usual."""
    base = cst.CSTNode
    checked = base.__dict__["__post_init__"]
    base.__post_init__ = _unchecked  # type: ignore[method-assign]
    try:
        return cst.parse_module(text)
    finally:
        base.__post_init__ = checked  # type: ignore[method-assign]


def _unchecked(self: cst.CSTNode) -> None:
    pass


@contextlib.contextmanager
def one_young_collection():
    """Run the block without the cyclic garbage collector, then collect only what the block
    allocated. A parse allocates millions of nodes; with the default thresholds that sets
    off full collections that walk every live object again and again (a fifth of a cold
    run). Objects the block allocated and still hold stay in the youngest generation until
    the end, so one collection of that generation frees the block's cycles."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect(0)


def check_source(*args, **kwargs) -> FileResult:  # noqa: ANN002, ANN003
    """Check one file's content (see `_check_source`), collecting its garbage once."""
    with one_young_collection():
        return _check_source(*args, **kwargs)


def _check_source(
    source: Union[str, bytes],
    path: str,
    config: Config,
    *,
    apply_noqa: bool = True,
    project_nested: Optional[Callable[[], bool]] = None,
    summarize: bool = False,
    summarize_always: bool = False,
) -> FileResult:
    """Check one file's content. Never raises for bad input: problems become DAO0xx diagnostics.

    `project_nested` answers whether the project uses `begin_nested()` anywhere (DAO112);
    without it, only this file counts.
    """
    enabled = config.enabled_codes(path)
    diagnostics: List[Diagnostic] = []
    asked: List[bool] = []  # the project fact this result depends on, for the cache
    if project_nested is not None:
        ask = project_nested

        def project_nested() -> bool:
            asked.append(ask())
            return asked[-1]

    size = len(source)
    if size > config.max_file_size * 1024:
        if "DAO002" in enabled:
            message = f"file is {size / 1048576:.1f} MB, over max-file-size ({config.max_file_size} KiB); not checked"
            diagnostics.append(_tool(path, "DAO002", message))
        return FileResult(path, tuple(diagnostics))
    if isinstance(source, bytes):
        try:
            text, _ = decode_source(source)
        except DecodeFailure as failure:
            if "DAO002" in enabled:
                diagnostics.append(_tool(path, "DAO002", str(failure), failure.line, failure.column))
            return FileResult(path, tuple(diagnostics))
    else:
        text = source
    context = FileContext.for_path(path, config, text)
    rule_classes = rules_for(text, context, enabled)
    decorator = (config.transaction_decorator or "").rstrip("()").rsplit(".", 1)[-1]
    if decorator and decorator in text:
        summarize_always = summarize  # (the index learns the decorator's form where it is used)
    if summarize and not summarize_always and not rule_classes and not rules_for(text, context, _EVERY_CODE):
        # nothing session- or DAO-like here: nothing the index needs (unless the file calls
        # a committing function: dao_lint.indexing asks for those with `summarize_always`).
        # Asked of every code, not the selected ones: the index, and so every cross-file
        # finding, must not depend on `--select`
        summarize = False
    if not rule_classes and not summarize and "DAO001" not in enabled:
        return FileResult(path)
    if not rule_classes and not summarize:
        # Nothing can fire here: a syntax check with CPython's parser is much cheaper than libcst.
        try:
            compile_quietly(text, path, tree_only=True)
            return FileResult(path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
    try:
        module = parse_module(text)
    except Exception as exc:  # ParserSyntaxError, or libcst's parser giving up on odd input
        if "DAO001" in enabled:
            line, column, message = _syntax_error(text, path, exc)
            diagnostics.append(_tool(path, "DAO001", f"syntax error: {message}; not checked", line, column))
        return FileResult(path, tuple(diagnostics))
    if not rule_classes and not summarize:
        return FileResult(path, parsed=True)
    if config.project_sessions is None:
        # checked alone (an example, an in-memory source): the file is its own project
        config = own_sessions(config, text, path)
        context = FileContext.for_path(path, config, text)
    summarizer = None
    if summarize:
        from ..model.summarizer import Summarizer

        summarizer = Summarizer(context)
    try:
        reports, errors = _run_rules(module, context, rule_classes, project_nested, (summarizer,) if summarizer else ())
    except Exception as exc:  # an analysis provider crashed: the whole file is unchecked
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        message = f"internal error in the analysis of this file ({detail}); please report it"
        return FileResult(path, (_tool(path, "DAO000", message),), parsed=True, internal_errors=1)
    for report, position in reports:
        span = Span(position.start.line, position.start.column, position.end.line, position.end.column)
        diagnostics.append(Diagnostic(path, span, report.code, report.name, report.message, report.fix is not None))
    for code, detail in sorted(errors.items()):
        message = f"internal error in rule {code} ({registry[code].name}): {detail}; please report it"
        diagnostics.append(_tool(path, "DAO000", message))
    used: tuple = ()
    if apply_noqa:
        diagnostics, suppressed = split_suppressed(text, diagnostics)
        used = tuple(sorted(suppressed))
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column, d.code))
    summary = None
    if summarizer is not None:
        from ..model.summarizer import finish_summary

        summary = finish_summary(summarizer, text)
        _forget(summarizer)
    return FileResult(
        path, tuple(diagnostics), parsed=True, internal_errors=len(errors), summary=summary,
        nested=asked[0] if asked else None, noqa_used=used,
    )


def rule_fixes(module: cst.Module, path: str, config: Config, codes: FrozenSet[str]) -> List[Report]:
    """The fixes that rules in `codes` offer for `module` (findings under `# noqa` excluded)."""
    from ..foundations.suppress import NoqaMap

    if config.project_sessions is None:
        config = own_sessions(config, module.code, path)
    context = FileContext.for_path(path, config, module.code)
    enabled = config.enabled_codes(path) & codes
    rule_classes = [registry[c] for c in sorted(enabled) if c in registry and registry[c].fix_title]
    if not rule_classes:
        return []
    reports, errors = _run_rules(module, context, rule_classes, None)
    if errors:
        raise RuntimeError("; ".join(f"{code}: {detail}" for code, detail in sorted(errors.items())))
    text = module.code
    noqa = NoqaMap(text) if "noqa" in text.lower() else None
    found = []
    for report, position in reports:
        if report.fix is None:
            continue
        if noqa is not None and noqa.suppresses(position.start.line, report.code):
            continue
        found.append(report)
    return found


class _ApplyFixes(cst.CSTTransformer):
    def __init__(self, replacements: Dict[cst.CSTNode, object]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):  # noqa: ANN201
        if original_node in self.replacements:
            return self.replacements[original_node]
        return updated_node


def apply_rule_fixes(module: cst.Module, reports: Sequence[Report]) -> cst.Module:
    """Replace each report's target node with its fix (the first fix wins for a node)."""
    replacements: Dict[cst.CSTNode, object] = {}
    for report in reports:
        target = report.fix_target if report.fix_target is not None else report.node
        replacements.setdefault(target, report.fix)
    if not replacements:
        return module
    return module.visit(_ApplyFixes(replacements))
