"""What one file defines, calls and commits: the picklable summary the project index joins.

Plain data, no libcst: a warm run loads summaries from the cache without importing the
parser. `dao_lint.project` collects them; `dao_lint.planning` and `dao_lint.crossfile` use them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..foundations.vocabulary import EFFECT_CALLS, EFFECT_MODULES, EFFECT_PURE, EFFECT_READS, EFFECT_RECEIVERS, EFFECT_SENDS, EFFECT_VERBS

__all__ = [
    "CallSite", "FunctionInfo", "ClassInfo", "FileSummary", "FunctionKey", "Position", "exclusive_paths", "leaves_before",
    "with_suppressions", "effect_of", "effect_after",
]

FunctionKey = Tuple[str, str]  # (path, qualname); qualname "" is module level
Position = Tuple[int, int]  # (line, 0-based column)


@dataclass(frozen=True)
class CallSite:
    """A call as written: `kind` says how its target is named.

    kinds: "name" (`helper()`, target = qualified name), "attr" (`ChartDAO.create()`,
    target = qualified receiver, its head imported), "var" (the same with a local head: a
    parameter, a variable, a class of this module), "self" (`self.m()` / `cls.m()`), "super"
    (`super().m()`), "instance" (`Command(...).run()` or `setting.save()` with `setting =
    Setting()`, target = qualified class), "returned" (`factory().create()`, target = the
    inner call as "kind|target|method"), "unknown" (any other receiver).
    """

    kind: str
    target: str
    method: str
    position: Position
    commit_keyword: Optional[str]  # source of the `commit=` argument, if any
    covered_here: bool  # inside `with session.begin():`, or a session commit follows on every path
    end: Position = (0, 0)  # where the call ends: `f()` and `f().g()` start at the same place
    in_loop: bool = False  # in the body of a `for`/`while` of its function
    top_level: bool = False  # its statement sits directly in the function body
    #: what covers it here: "begin <session key>" (inside `with s.begin():`) or "commit <session
    #: key>" (a commit of the function follows it on every path that does not raise); "" none
    cover: str = ""
    #: how it passes arguments: positional count, keyword names, any `*args`/`**kwargs`
    arguments: Tuple[int, Tuple[str, ...], bool] = (0, (), False)
    #: the plain names it passes as arguments (`helper(session, x)`: session, x)
    passes: Tuple[str, ...] = ()
    #: the `if`/`try` branches it sits in ("3:0/5:1": branch 0 of the 3rd, 1 of the 5th;
    #: -1 a `finally`), to tell paths that cannot both run (see `exclusive_paths`)
    branches: str = ""

    @property
    def span(self) -> Tuple[Position, Position]:
        return (self.position, self.end)


@dataclass
class FunctionInfo:
    qualname: str
    name: str
    class_name: Optional[str]  # set for methods
    position: Position
    in_dao: bool
    is_async: bool
    boundary_pattern: bool  # matches `boundaries` (the decorator can be added)
    has_decorator: bool  # already carries the transaction decorator (or is a unit-of-work context manager)
    commit_parameter: bool
    commits: List[Position] = field(default_factory=list)  # commits on sessions it did not create
    rollbacks: List[Position] = field(default_factory=list)
    calls: List[CallSite] = field(default_factory=list)
    #: how the `commit` parameter is used: positions of `commit=commit` forwards, and
    #: whether it is used any other way than `if commit:` with a commit-only body
    commit_forwards: List[Position] = field(default_factory=list)
    commit_other_use: bool = False
    commit_parameter_line: int = 0
    in_test: bool = False
    migration_module: bool = False
    listener: Optional[str] = None  # the ORM event it listens to (decorator or event.listen here)
    creations: List[Position] = field(default_factory=list)  # sessions it creates
    #: every commit/rollback, on any session (a listener must not end even its own)
    transaction_calls: List[Tuple[Position, str]] = field(default_factory=list)
    #: direct commits that sit directly in the function body (for DAO107 across helpers)
    top_level_commits: List[Position] = field(default_factory=list)
    #: direct commits outside loops, with their branches (for DAO107 across helpers)
    commit_paths: List[Tuple[Position, str]] = field(default_factory=list)
    #: where `return` and `raise` statements end, with their branches (a path that leaves there)
    leaves: List[Tuple[Position, str]] = field(default_factory=list)
    #: codes whose findings here carry a `# noqa`: `fix` leaves them alone
    suppressed: Tuple[str, ...] = ()  # sorted: a summary pickles the same in every process
    #: "instance", "class", "static" (methods) or "function"
    binding: str = "function"
    #: parameters after self/cls: (positional, required positional, names, takes *args/**kwargs)
    signature: Tuple[int, int, Tuple[str, ...], bool] = (0, 0, (), True)
    #: session key of each commit in `commits` ("global db.session", "local session", "own s")
    commit_sessions: Tuple[str, ...] = ()
    #: some commit sits in an `if commit:` branch (the DAO103 flag guards it)
    flag_guarded: bool = False
    #: why the nested-session rewrite must leave this function as it is (None: it applies)
    refusal: Optional[str] = None
    #: where the calls are that the rewrite's SAVEPOINT blocks would hold
    savepoint_calls: Tuple[Position, ...] = ()
    #: the class its return annotation names (qualified), if any
    returns: Optional[str] = None
    #: a public DAO function named with an action verb (DAO301): (verb, CRUD words), and
    #: where its name is
    verb: Optional[Tuple[str, str]] = None
    name_position: Position = (0, 0)
    name_end: Position = (0, 0)  # (kept in the summary so that a finding there moves with its lines)
    #: it uses a session or a DAO itself (not through calls)
    db_work: bool = False
    #: its job is to commit (`def commit(): db.session.commit()`): each call is a commit
    commit_helper: bool = False
    #: its body (docstring aside) is one call statement (`def commit(self): super().commit()`)
    only_call: bool = False
    #: its results are cached (`@lru_cache`, `@cache.memoize(...)`): its body runs once per
    #: arguments, not on every call
    memoized: bool = False
    #: it writes through a session itself (`add`, `delete`, `merge`, a DML statement)
    writes: bool = False
    #: it carries the configured transaction decorator: each call commits when it returns
    decorated: bool = False


@dataclass
class ClassInfo:
    name: str
    bases: Tuple[str, ...]  # qualified where imported
    methods: Tuple[str, ...]  # sorted
    #: attributes whose class is known: `dao = ChartDAO`, `_dao: QueryDAO`, `self.repo =
    #: Repo()`, `self.dao = dao` (an annotated parameter) -> qualified class
    attributes: Dict[str, str] = field(default_factory=dict)


@dataclass
class FileSummary:
    path: str
    module: str
    imports: Dict[str, str]
    classes: Dict[str, ClassInfo]
    functions: Dict[str, FunctionInfo]
    uses_begin_nested: bool
    #: module-level SQLite engines: name -> (position, URL is a plain sqlite literal, has the
    #: pysqlite fix); also `SQLALCHEMY_DATABASE_URI` for an app whose setting is or defaults to
    #: sqlite (the project needs the fix once, `crossfile.unfixed_setting`)
    sqlite_engines: Dict[str, Tuple[Position, bool, bool]]
    decorator_called: Optional[bool]  # the transaction decorator is written `@d()` (True) or `@d`
    is_package: bool = False
    #: `connect` and `begin` listeners on SQLAlchemy's `Engine` class (or `db.engine`) here
    engine_listeners: bool = False
    #: `event.listen(target, "event", listener)` here: (qualified listener, event)
    registrations: List[Tuple[str, str]] = field(default_factory=list)
    #: functions used as values, not called (callbacks): (qualified dotted name, position)
    references: List[Tuple[str, Position]] = field(default_factory=list)
    #: module-level functions named like the transaction decorator: name -> "plain" | "factory"
    decorator_forms: Dict[str, str] = field(default_factory=dict)
    #: every name bound at module level (definitions, assignments, imports)
    names: Tuple[str, ...] = ()
    #: module-level variables holding an instance of a known class: name -> qualified class
    variables: Dict[str, str] = field(default_factory=dict)
    #: the lines of the transaction decorator's definition, when it is in this file: the
    #: unit of work itself, which `fix` never edits (its `# noqa` comments included)
    decorator_lines: Tuple[int, int] = (0, 0)


def _steps(path: str) -> List[Tuple[str, int]]:
    return [(step.split(":")[0], int(step.split(":")[1])) for step in path.split("/") if step]


def exclusive_paths(first: str, second: str) -> bool:
    """No single run reaches both: they sit in different branches of one `if`/`try`."""
    for (node_a, branch_a), (node_b, branch_b) in zip(_steps(first), _steps(second)):
        if node_a != node_b:
            return False
        if branch_a != branch_b and -1 not in (branch_a, branch_b):
            return True
    return False


def leaves_before(leaves: List[Tuple[Position, str]], first: Tuple[Position, str], second: Position) -> bool:
    """The path through `first` (position, branches) leaves the function before `second`:
    a `return`/`raise` after it, in its own block or an enclosing one, and before `second`."""
    position, path = first
    steps = _steps(path)
    for where, exit_path in leaves:
        exit_steps = _steps(exit_path)
        if position < where < second and exit_steps == steps[: len(exit_steps)]:
            return True
    return False


def effect_of(site: CallSite) -> Optional[str]:
    """The call as written (`mail.send()`) when it reaches outside the database (a mail, an
    HTTP request, a queued task, a file; see `vocabulary.EFFECT_CALLS`), else None."""
    target = site.target if site.kind in ("name", "attr", "var", "instance") else ""
    head = target.split(".")[0]
    written = f"{target.rsplit('.', 1)[-1]}.{site.method}()" if site.kind in ("attr", "var", "instance") else f"{site.method}()"
    if site.kind == "name" and site.target in ("open", "io.open") and (site.arguments[0] >= 2 or "mode" in site.arguments[1]):
        return "open()"  # a file opened with a mode (for writing, most likely: a read needs none)
    words = site.method.lstrip("_").split("_")
    verb = words[0] in EFFECT_VERBS and (len(words) > 1 or site.method not in EFFECT_SENDS)  # (a bare `send()`: below)
    pure = any(target == module or target.startswith(module + ".") for module in EFFECT_PURE)
    if site.method in EFFECT_CALLS or (head in EFFECT_MODULES and site.method not in EFFECT_READS and not pure) or verb:
        return written
    if site.method in EFFECT_SENDS and any(word in target.lower() for word in EFFECT_RECEIVERS):
        return written
    return None


def effect_after(
    calls: Sequence[CallSite], position: Position, path: str, before: Optional[Position] = None,
    leaves: Sequence[Tuple[Position, str]] = (), through: Optional[Callable[[CallSite], Optional[bool]]] = None,
) -> Optional[CallSite]:
    """The first call of `calls` that reaches outside the database after `position` (and
    before `before`), on a path through `position` (branches `path`) that has not left the
    function (`leaves`: its `return`/`raise` statements) on the way. `through`: whether a
    call reaches one through the project's functions (`send_welcome(user)`), None when it
    calls none of them; a call of the project's functions is judged by that alone."""
    for site in calls:
        if site.position <= position or (before is not None and site.position >= before):
            continue
        reached = through(site) if through is not None else None
        if not (effect_of(site) is not None if reached is None else reached) or exclusive_paths(path, site.branches):
            continue
        if not leaves_before(list(leaves), (position, path), site.position):
            return site
    return None


def with_suppressions(summary: FileSummary, text: str) -> FileSummary:
    """The summary with each function's `# noqa`-silenced codes noted (`fix` leaves those
    findings alone), from the file's text."""
    if "noqa" not in text.lower():
        return summary
    from ..foundations.suppress import NoqaMap

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
