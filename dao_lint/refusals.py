"""Where a planned rewrite must not happen because of what runs around it, project-wide:
a call inside the SAVEPOINT block that still commits the session, or an effect outside the
database (a mail, an HTTP request, a task) after the commit the rewrite would remove."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Set

from .fixplan import FixPlan, Kept
from .index import ProjectIndex, describe
from .summary import FunctionInfo, FunctionKey, effect_after, effect_of

__all__ = ["clear_savepoints", "keep_before_effects", "effects_first"]


def clear_savepoints(
    index: ProjectIndex, plan: FixPlan, needs: Dict[FunctionKey, Set[FunctionKey]], boundaries: Set[FunctionKey],
) -> None:
    """No `begin_nested()` block may hold a call that still commits or rolls back the
    caller's session after this run (its commit would end the block's transaction, and the
    next statement fails on a closed transaction): a function to rewrite whose blocks would
    hold a call of one is left as it was, naming the callee to fix first.
    Callees rewritten in the same run are fine; a boundary that has or gets the decorator
    commits on every call. Leaving one function may leave its callers' rewrites with such a
    call: repeated until nothing changes."""
    while True:
        rewritten = {(path, q) for path, names in plan.nested.items() for q in names}
        decorated = set(boundaries).union(*needs.values())
        still = _ending_transactions(index, rewritten, decorated)
        blocked = {}
        for key in sorted(rewritten):
            info = index.function(key)
            held = set(info.savepoint_calls)  # (what the rewrite puts in its blocks, from the summary)
            for site in info.calls:
                if site.commit_keyword == "False" or site.position not in held:
                    continue
                target = next((t for t in index.call_targets.get((key[0], site.span), ()) if t in still and t != key), None)
                if target is not None:
                    blocked[key] = (target, still[target], site)
                    break
        if not blocked:
            return
        for key, (target, through, site) in blocked.items():
            path, qualname = key
            plan.nested[path].discard(qualname)
            needs.pop(key, None)
            code = next((r.code for r in plan.removed if (r.path, r.function) == key), "DAO101")
            plan.removed = [r for r in plan.removed if (r.path, r.function) != key]
            info = index.function(key)
            via = f" (through `{through}`)" if through != target[1] else ""
            reason = (
                f"it calls `{target[1]}` at line {site.position[0]}, which still commits or rolls back the session{via}: "
                f"a `begin_nested()` block around that call would end with its commit; fix {describe(target)} first"
            )
            for position in info.commits or info.rollbacks:
                plan.kept.append(Kept(code, path, position, qualname, reason))


def _ending_transactions(index: ProjectIndex, rewritten: Set[FunctionKey], decorated: Set[FunctionKey]) -> Dict[FunctionKey, str]:
    """The functions that will still commit or roll back their caller's session once the
    `rewritten` ones no longer do and the `decorated` boundaries carry the decorator,
    themselves or through calls; value: the function that does."""
    found: Dict[FunctionKey, str] = {}
    for path, summary in index.files.items():
        for qualname, info in summary.functions.items():
            key = (path, qualname)
            if not qualname or key in rewritten or info.in_test:
                continue
            if key in decorated or (info.has_decorator and info.boundary_pattern):
                found[key] = qualname  # the decorator commits when it returns
                continue
            if info.has_decorator:
                continue  # a unit-of-work context manager commits a session of its own
            if any(not s.startswith("own ") for s in info.commit_sessions) or info.rollbacks:
                found[key] = qualname
    changed = True
    while changed:
        changed = False
        for path, summary in index.files.items():
            for qualname, info in summary.functions.items():
                key = (path, qualname)
                if not qualname or key in found or info.in_test:
                    continue
                for site in info.calls:
                    if site.commit_keyword == "False":
                        continue
                    target = next((t for t in index.call_targets.get((path, site.span), ()) if t in found and t != key), None)
                    if target is not None:
                        found[key] = found[target]
                        changed = True
                        break
    return found


def _effect_after_commit(info: FunctionInfo) -> Optional[str]:
    """Why the function's own commit must stay: an effect outside the database follows it."""
    paths = dict(info.commit_paths)
    for position in info.commits:
        effect = effect_after(info.calls, position, paths.get(position, ""), leaves=info.leaves)
        if effect is not None:
            return (
                f"its commit at line {position[0]} comes before `{effect_of(effect)}` at line {effect.position[0]}, "
                "which reaches outside the database: without it, that would happen before the data is durable"
            )
    return None


def keep_before_effects(index: ProjectIndex, plan: FixPlan, needs: Dict[FunctionKey, Set[FunctionKey]]) -> None:
    """A function to rewrite whose commit an effect outside the database follows (a mail, an
    HTTP request, a task queued) keeps it, with the reason."""
    for path, names in plan.nested.items():
        for qualname in sorted(names):
            key = (path, qualname)
            info = index.function(key)
            why = _effect_after_commit(info)
            if why is None:
                continue
            names.discard(qualname)
            needs.pop(key, None)
            code = next((r.code for r in plan.removed if (r.path, r.function) == key), "DAO101")
            plan.removed = [r for r in plan.removed if (r.path, r.function) != key]
            for position in info.commits:
                plan.kept.append(Kept(code, path, position, qualname, why))


def effects_first(index: ProjectIndex, decoration: Callable[[FunctionKey], Optional[str]]) -> Callable[[FunctionKey], Optional[str]]:
    """`decoration` (why a boundary cannot get the decorator, or None), and also not a
    boundary whose own commit an effect outside the database follows: the decorator would
    take that commit away."""

    def why(key: FunctionKey) -> Optional[str]:
        info = index.function(key)
        found = _effect_after_commit(info) if info is not None else None
        return found or decoration(key)

    return why
