"""Findings that need the whole project: commits hidden in helpers, listeners registered elsewhere.

A call to a function of the checked project that commits (directly or through further
calls) counts as a commit for DAO101, DAO106, DAO107 and DAO108, and the message names
it. Listeners count wherever they are registered (`event.listen(...)` in another module).
"""
from __future__ import annotations

from functools import cached_property
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from ..analysis.dao_methods import DAO_READS, named
from ..foundations.codes import NAMES, boundary_hint
from ..foundations.vocabulary import URI_SETTING, local_base
from .index import ProjectIndex
from .summary import CallSite, FileSummary, FunctionInfo, FunctionKey, Position, exclusive_paths, leaves_before
from ..foundations.types import Diagnostic, Span

__all__ = ["ProjectFacts", "committing_functions", "registered_listeners", "project_diagnostics", "MESSAGES"]

# Message templates, owned here because only the project phase produces them; the codes,
# names and rationale stay with the rule classes.
MESSAGES = {
    "DAO101": "DAO `{function}` commits through `{helper}()`; let the caller's unit of work commit",
    "DAO106": "`{helper}()` commits, and runs on every iteration; commit once, after the loop, in the unit of work",
    "DAO107": "`{function}` commits again here ({how}); one unit of work commits once",
    "DAO108": "listener `{function}` ({event}) {what}; write through the connection or session it is given and let the unit of work decide",
    "DAO105": "`{helper}()` commits (a commit helper) outside a unit-of-work boundary; let the enclosing command, request or job end the transaction{alternative}",
    # the same words as the file rule's (ActionMethodName), for methods whose bases are elsewhere
    "DAO701": "`{call}` runs once per item of the loop; write in bulk ({bulk})",
    "DAO301": "DAO method `{method}` is named for the action `{verb}`; name it for what it does to the data: {crud}",
    # the rule's words (SqliteSavepoint), for an app's database setting: the project needs the fix once
    "DAO112": "SQLite engine `{engine}` lacks the pysqlite SAVEPOINT fix, so `begin_nested()` commits on release; add `connect` and `begin` listeners",
}


def commit_helpers(index: ProjectIndex) -> Set[FunctionKey]:
    """Functions whose job is to commit, and those that only call one (`def commit(self):
    super().commit()`): each is `commit()` under another name."""
    helpers = {(p, q) for p, s in index.files.items() for q, i in s.functions.items() if q and i.commit_helper}
    changed = True
    while changed:
        changed = False
        for path, summary in index.files.items():
            for qualname, info in summary.functions.items():
                key = (path, qualname)
                # an override forwarding to its base (`super().commit()`), or a wrapper named for it
                outer = info.calls[0] if info.calls else None  # the statement's call (`super()` comes after)
                forwards = outer is not None and ((outer.kind == "super" and outer.method == info.name) or "commit" in info.name)
                if key in helpers or not info.only_call or not forwards:
                    continue
                targets = index.call_targets.get((path, outer.span), ())
                if targets and all(t in helpers for t in targets):
                    helpers.add(key)
                    changed = True
    return helpers


def _display(key: FunctionKey) -> str:
    return key[1] or "<module>"


def committing_functions(index: ProjectIndex, own: bool = False, cached: bool = True) -> Dict[FunctionKey, str]:
    """Functions that commit, directly or through calls; value: the first helper on the way.
    With `own`, the functions that commit a session they open themselves (each call is a
    transaction of its own, which is what DAO106 counts): only those, not their callers,
    whose findings would stand far from the session they name. Without `cached`, not
    through a memoized function (`@cache.memoize`: a get-or-create that commits on a cold
    cache only): what `check` reports of a call, while `fix` still counts it as a commit."""
    committing: Dict[FunctionKey, str] = {}
    for path, summary in index.files.items():
        for qualname, info in summary.functions.items():
            # its caller's session: not one it opened itself (`with create_session() as s:`
            # commits its own unit of work), and not a unit-of-work context manager's own
            theirs = any(not key.startswith("own ") for key in info.commit_sessions)
            if own:
                theirs = any(what == "commits" for _, what in info.transaction_calls)
            if qualname and theirs and not info.in_test and not (info.has_decorator and not info.boundary_pattern) and (cached or not info.memoized):
                committing[(path, qualname)] = qualname
    if not own:
        _through_calls(index, committing, lambda info: info.in_test or (info.memoized and not cached), lambda site: site.commit_keyword != "False")
    return committing


def writing_functions(index: ProjectIndex) -> Set[FunctionKey]:
    """Functions that write through a session, themselves or through calls (not tests, not
    migrations, not through a memoized function)."""
    writing = {
        (path, qualname): qualname for path, summary in index.files.items() for qualname, info in summary.functions.items()
        if qualname and info.writes and not info.in_test and not info.migration_module and not info.memoized
    }
    _through_calls(index, writing, lambda info: info.in_test or info.memoized)
    return set(writing)


def _through_calls(
    index: ProjectIndex, found: Dict[FunctionKey, str], skip: Callable[[FunctionInfo], bool],
    passes: Callable[[CallSite], bool] = lambda site: True,
) -> None:
    """Add to `found` every function (but those `skip` says) that calls one in it, directly
    or not, through calls that `passes`; value: the callee its first look found (a fixed
    point in the index's order, so the answer is the same in every process)."""
    changed = True
    while changed:
        changed = False
        for path, summary in index.files.items():
            for qualname, info in summary.functions.items():
                key = (path, qualname)
                if not qualname or key in found or skip(info):
                    continue
                for site in info.calls:
                    target = next((t for t in index.call_targets.get((path, site.span), ()) if t in found and t != key), None) if passes(site) else None
                    if target is not None:
                        found[key] = _display(target)
                        changed = True
                        break


def _diagnostic(path: str, position: Position, end: Position, code: str, **fields: object) -> Diagnostic:
    end = end if end != (0, 0) else position
    span = Span(position[0], position[1], end[0], end[1])
    return Diagnostic(path, span, code, NAMES[code], MESSAGES[code].format(**fields))


def registered_listeners(index: ProjectIndex) -> Dict[FunctionKey, str]:
    """Functions registered as ORM listeners by `event.listen(...)` in any module."""
    return index.registered_listeners()


def unfixed_setting(index: ProjectIndex) -> Optional[Tuple[str, Position]]:
    """Where the project's SQLite database setting is that still needs SQLAlchemy's pysqlite
    fix (DAO112): the fix goes on every engine, once per project, so at the first such
    setting (the application's modules before its tests'), and nowhere when a module
    already registers the listeners on `Engine` or on the app's engine."""
    if any(s.engine_listeners for s in index.files.values()):
        return None
    found = [
        (any(i.in_test for i in s.functions.values()), path, s.sqlite_engines[URI_SETTING][0])
        for path, s in index.files.items() if URI_SETTING in s.sqlite_engines
    ]
    return min(found)[1:] if found else None


def project_diagnostics(index: ProjectIndex, path: str, enabled: Set[str], committing=None, listeners=None, helpers=None, committing_own=None, writing=None) -> List[Diagnostic]:  # noqa: ANN001
    """The cross-file findings for one file (before `# noqa` is applied)."""
    committing = committing if committing is not None else committing_functions(index, cached=False)
    committing_own = committing_own if committing_own is not None else committing_functions(index, own=True, cached=False)
    listeners = listeners if listeners is not None else registered_listeners(index)
    helpers = helpers if helpers is not None else commit_helpers(index)
    writing = writing if writing is not None else writing_functions(index)
    summary = index.files.get(path)
    if summary is None:
        return []
    out: List[Diagnostic] = []
    setting = unfixed_setting(index) if "DAO112" in enabled and URI_SETTING in summary.sqlite_engines else None
    if setting is not None and setting[0] == path and any(s.uses_begin_nested for s in index.files.values()):
        out.append(_diagnostic(path, setting[1], (0, 0), "DAO112", engine=URI_SETTING))
    for qualname, info in summary.functions.items():
        if info.in_test:
            continue
        key = (path, qualname)
        calls: List[Tuple[CallSite, str]] = []
        if key in helpers:
            continue  # a commit helper calling another: the calls of the outer one are the commits
        for site in info.calls:
            if site.commit_keyword == "False":
                continue
            for target in index.call_targets.get((path, site.span), ()):
                if target not in committing or target == key:
                    continue
                callee = index.function(target)
                if info.in_dao and callee is not None and callee.in_dao and target not in helpers:
                    # one root cause, one finding: the DAO that commits reports it (DAO101,
                    # and DAO103 for a forwarded flag); its DAO callers do not repeat it
                    continue
                calls.append((site, _display(target)))
                break
        listener = info.listener or listeners.get(key)
        unit_of_work = info.in_dao or info.in_test or info.migration_module or info.has_decorator or info.boundary_pattern
        for site, helper in calls:
            target = next(iter(index.call_targets.get((path, site.span), ())), None)
            callee = index.function(target) if target is not None else None
            if "DAO105" in enabled and target in helpers and not unit_of_work and not listener and qualname:
                # `commit()` under another name, called where no unit of work is declared
                out.append(_diagnostic(path, site.position, site.end, "DAO105", helper=helper, alternative=boundary_hint(qualname)))
            if "DAO101" in enabled and info.in_dao and qualname:
                out.append(_diagnostic(path, site.position, site.end, "DAO101", function=qualname, helper=helper))
            if "DAO106" in enabled and site.in_loop and not info.migration_module:
                out.append(_diagnostic(path, site.position, site.end, "DAO106", helper=helper))
            if "DAO108" in enabled and listener:
                out.append(_diagnostic(path, site.position, site.end, "DAO108", function=qualname, event=listener, what=f"commits through `{helper}()`"))
        if "DAO106" in enabled and not info.migration_module:
            # a function that opens its own session and commits it, called once per item:
            # a transaction per item all the same
            for site in info.calls:
                if site.in_loop and site.commit_keyword != "False":
                    targets = index.call_targets.get((path, site.span), ())
                    if any(t in committing for t in targets):
                        continue  # (commits the caller's session: the findings above)
                    target = next((t for t in targets if t in committing_own and t != key), None)
                    callee = index.function(target) if target is not None else None
                    if callee is not None and info.in_dao and callee.in_dao:
                        continue  # one root cause: the DAO that opens and commits reports it
                    if target is not None:
                        out.append(_diagnostic(path, site.position, site.end, "DAO106", helper=_display(target)))
        if "DAO701" in enabled and not info.migration_module:
            # a function of the DAO layer that writes, called once per item, whatever its
            # name (`self._set_param(...)`, `param.check_and_add(session)`): the file rule
            # knows DAO calls by their names; the same finding there is merged with this one
            for site in info.calls:
                if site.in_loop:
                    targets = index.call_targets.get((path, site.span), ())
                    target = next((t for t in targets if t in writing and t != key), None)
                    callee = index.function(target) if target is not None else None
                    if callee is not None and callee.in_dao and not named(callee.name, DAO_READS):
                        # (a read that may create, `get_or_create`, per item is DAO702's)
                        out.append(_diagnostic(path, site.position, site.end, "DAO701", call=f"{_display(target)}()", bulk="one DAO method for all the items"))
        if "DAO107" in enabled and qualname and not info.migration_module and not listener:
            # (a listener's commits are DAO108's: none of them belongs there)
            ending = [(site, helper) for site, helper in calls if not site.in_loop and not _never_returns(index, path, site)]
            found = _second_commit(info, ending)
            if found is not None:
                (position, end), how = found
                out.append(_diagnostic(path, position, end, "DAO107", function=qualname, how=how))
        if "DAO301" in enabled and info.verb is not None and info.class_name is not None and _names_its_action(index, key, info):
            verb, crud = info.verb
            out.append(_diagnostic(path, info.name_position, info.name_end, "DAO301", method=qualname, verb=verb,
                                   crud=" or ".join(f"`{w.strip()}`" for w in crud.split("/"))))
        if "DAO108" in enabled and listener and not info.listener and key in listeners:
            # registered from another module: the file's own rule did not know it is a listener
            for position, what in info.transaction_calls + [(p, "opens its own session") for p in info.creations]:
                out.append(_diagnostic(path, position, position, "DAO108", function=qualname, event=listener, what=what))
    return out


def _never_returns(index: ProjectIndex, path: str, site: CallSite) -> bool:
    """The call's target always raises (annotated `NoReturn`): a path through it ends there."""
    for target in index.call_targets.get((path, site.span), ()):
        info = index.function(target)
        if info is not None and (info.returns or "").rsplit(".", 1)[-1] in ("NoReturn", "Never"):
            return True
    return False


def _second_commit(info, calls) -> Optional[Tuple[Tuple[Position, Position], str]]:  # noqa: ANN001
    """Where a function commits a second time on one path, through a call (two direct
    commits are the file rule's finding): (the span to report, what to say of the two)."""
    items = sorted(
        [(position, branches, None) for position, branches in info.commit_paths]
        + [(site.position, site.branches, (site, helper)) for site, helper in calls]
    )
    for later, (position, branches, item) in enumerate(items):
        for earlier in items[:later]:
            if exclusive_paths(earlier[1], branches) or leaves_before(info.leaves, (earlier[0], earlier[1]), position):
                continue
            if item is None and earlier[2] is None:
                return None  # two direct commits on one path: the file rule reports them
            first = f"after the commit on line {earlier[0][0]}" if earlier[2] is None else f"after committing through `{earlier[2][1]}()`"
            if item is not None:
                site, helper = item
                return (site.position, site.end), f"through `{helper}()`, {first}"
            return (position, position), first
    return None




def _names_its_action(index: ProjectIndex, key: FunctionKey, info) -> bool:  # noqa: ANN001
    """DAO301 for a method whose class has a base in another file (the file rule judges the
    rest): not an override of a base's method (reported at the base, or not ours when the
    base is another library's), and doing database work itself or through its calls."""
    path, class_name = key[0], info.class_name
    summary = index.files[path]
    owner = summary.classes.get(class_name)
    if owner is None:
        return False
    elsewhere = False  # some base is not of this file: the file rule left the class to us
    for base in owner.bases:
        if local_base(base):
            continue
        found = index.resolve_symbol(summary, base)
        if found is None and base in summary.classes:
            found = ("class", path, base)
        if found is None and _project_variable(index, summary, base):
            elsewhere = True  # `Base = declarative_base()` in another module: no methods of its own
            continue
        if found is None or found[0] != "class":
            return False  # another library's base: the name may be its
        if found[1] != path:
            elsewhere = True
        if index.find_method(found[1], found[2], info.name) is not None:
            return False  # an override: reported at the base
    return elsewhere and _does_work(index, key, set())


def _project_variable(index: ProjectIndex, summary: FileSummary, base: str) -> bool:
    """`base` names a module-level variable of the project (not a class)."""
    qualified = index.absolute(summary, base)
    module, _, name = qualified.rpartition(".")
    found = index.module_of(module) if module else summary
    return found is not None and name in found.names and name not in found.classes


def _does_work(index: ProjectIndex, key: FunctionKey, seen: Set[FunctionKey], depth: int = 0) -> bool:
    info = index.function(key)
    if info is None or depth > 6:
        return False
    if info.db_work:
        return True
    seen.add(key)
    for site in info.calls:
        for target in index.call_targets.get((key[0], site.span), ()):
            if target not in seen and _does_work(index, target, seen, depth + 1):
                return True
    return False


class ProjectFacts:
    """The project index and what is derived from it once: committing functions, listeners."""

    def __init__(self, summaries: Sequence[FileSummary]) -> None:
        self.index = ProjectIndex([s for s in summaries if s is not None])
        self.committing = committing_functions(self.index)
        self.committing_own = committing_functions(self.index, own=True)

    # (the rest only once findings are asked for: `index_project` builds facts in rounds
    # and asks each only for `committing_names`)
    @cached_property
    def listeners(self) -> Dict[FunctionKey, str]:
        return registered_listeners(self.index)

    @cached_property
    def helpers(self) -> Set[FunctionKey]:
        return commit_helpers(self.index)

    @cached_property
    def _memoized(self) -> bool:
        return any(i.memoized for s in self.index.files.values() for i in s.functions.values())

    @cached_property
    def reported(self) -> Dict[FunctionKey, str]:
        """What a call's findings count: not commits behind a memoized function."""
        return committing_functions(self.index, cached=False) if self._memoized else self.committing

    @cached_property
    def reported_own(self) -> Dict[FunctionKey, str]:
        return committing_functions(self.index, own=True, cached=False) if self._memoized else self.committing_own

    @cached_property
    def writing(self) -> Set[FunctionKey]:
        return writing_functions(self.index)

    def committing_names(self) -> Set[str]:
        """The names of the functions that commit (their callers' or their own sessions),
        but a migration's (a script that runs alone: nothing calls its `upgrade()`)."""
        names = set()
        for key in (*self.committing, *self.committing_own):
            info = self.index.function(key)
            if info is not None and not info.migration_module:
                names.add(key[1].rsplit(".", 1)[-1])
        return {n for n in names if n and not n.startswith("__")}

    def diagnostics(self, path: str, enabled: Set[str]) -> List[Diagnostic]:
        """The cross-file findings for one file (before `# noqa` is applied)."""
        return project_diagnostics(self.index, path, enabled, self.reported, self.listeners, self.helpers, self.reported_own, self.writing)
