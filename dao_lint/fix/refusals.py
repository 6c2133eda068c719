"""Where a planned rewrite must not happen because of what runs around it, project-wide:
a call inside the SAVEPOINT block that still commits the session, or an effect outside the
database (a mail, an HTTP request, a task) after the commit the rewrite would remove."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Set, Tuple

from .fixplan import FixPlan, Kept
from ..model.index import MAX_DEPTH, ProjectIndex, describe
from ..model.summary import CallSite, FunctionInfo, FunctionKey, effect_after, effect_of

__all__ = ["clear_savepoints", "keep_before_effects", "effects_first", "Effects"]


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
        if not rewritten:
            return
        ending = _Ending(index, rewritten, set(boundaries).union(*needs.values()))
        blocked = {}
        for key in sorted(rewritten):
            info = index.function(key)
            held = set(info.savepoint_calls)  # (what the rewrite puts in its blocks, from the summary)
            for site in info.calls:
                if site.commit_keyword == "False" or site.position not in held:
                    continue
                # (a call on a receiver of unknown type counts with every method it may reach)
                targets = index.call_targets.get((key[0], site.span), ()) or index.possible_targets(key, site)
                target = next((t for t in targets if t != key and ending.of(t)), None)
                if target is not None:
                    blocked[key] = (target, ending.of(target), site)
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


class _Reach:
    """A property of a function that its callers get through calls (commits, effects),
    asked lazily, one function at a time, with the answers remembered. A subclass says what
    a function is by itself (`_own`) and which calls carry it (`_passes`)."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self.memo: Dict[FunctionKey, str] = {}
        self.cut = False  # a call cycle (or the depth limit) was cut below the function asked

    def _own(self, key: FunctionKey, info: Optional[FunctionInfo]) -> Tuple[str, bool]:
        """(what the function does by itself, "" if nothing; whether to look through its calls)."""
        raise NotImplementedError

    def _passes(self, site: CallSite) -> bool:
        return True

    def of(self, key: FunctionKey, stack: Tuple[FunctionKey, ...] = ()) -> str:
        """What the function, or one it calls, does ("" when none)."""
        if key in self.memo:
            return self.memo[key]
        if key in stack or len(stack) > MAX_DEPTH:
            self.cut = True
            return ""
        outer, self.cut = self.cut, False
        info = self.index.function(key)
        found, search = self._own(key, info)
        for site in info.calls if info is not None and search and not found else ():
            if self._passes(site):
                found = next((f for t in self.index.call_targets.get((key[0], site.span), ()) if t != key for f in [self.of(t, stack + (key,))] if f), "")
                if found:
                    break
        if found or not self.cut:
            self.memo[key] = found  # (a "no" that rests on a cut cycle is not kept: it may be partial)
        self.cut = self.cut or outer
        return found


class _Ending(_Reach):
    """Which functions will still commit or roll back their caller's session once the
    `rewritten` ones no longer do and the `decorated` boundaries carry the decorator,
    themselves or through calls (asked only of the calls the SAVEPOINT blocks hold); the
    answer names the function that does."""

    def __init__(self, index: ProjectIndex, rewritten: Set[FunctionKey], decorated: Set[FunctionKey]) -> None:
        super().__init__(index)
        self.rewritten = rewritten
        self.decorated = decorated

    def _own(self, key: FunctionKey, info: Optional[FunctionInfo]) -> Tuple[str, bool]:
        if info is None or not key[1] or key in self.rewritten or info.in_test:
            return "", False
        if key in self.decorated or info.decorated or (info.has_decorator and info.boundary_pattern):
            return key[1], False  # the decorator commits when it returns
        if info.has_decorator:
            return "", False  # a unit-of-work context manager commits a session of its own
        if any(not s.startswith("own ") for s in info.commit_sessions) or info.rollbacks:
            return key[1], False
        return "", True

    def _passes(self, site: CallSite) -> bool:
        return site.commit_keyword != "False"


class Effects(_Reach):
    """Which of the project's functions reach outside the database, themselves or through
    calls (`send_invite(user)` calling `mail.send(...)`); the answer is the effect as written."""

    def _own(self, key: FunctionKey, info: Optional[FunctionInfo]) -> Tuple[str, bool]:
        if info is None or not key[1] or info.in_test:
            return "", False
        # a call of the project's own functions is judged by their bodies (below), not by
        # their names: `send_result()` that builds a response sends nothing
        targets = self.index.call_targets
        return next((e for site in info.calls if not targets.get((key[0], site.span)) for e in [effect_of(site)] if e), None) or "", True

    def through(self, path: str) -> Callable[[CallSite], Optional[bool]]:
        """Whether a call in `path` reaches an effect through the project's functions (None
        when it calls none of them: then its name tells)."""

        def reaches(site: CallSite) -> Optional[bool]:
            targets = self.index.call_targets.get((path, site.span), ())
            return any(self.of(t) for t in targets) if targets else None

        return reaches


def _effect_after_commit(key: FunctionKey, info: FunctionInfo, effects: Effects) -> Optional[str]:
    """Why the function's own commit must stay: an effect outside the database follows it."""
    paths = dict(info.commit_paths)
    through = effects.through(key[0])
    for position in info.commits:
        effect = effect_after(info.calls, position, paths.get(position, ""), leaves=info.leaves, through=through)
        if effect is not None:
            shown = effect_of(effect) or f"{effect.method}()"
            return (
                f"its commit at line {position[0]} comes before `{shown}` at line {effect.position[0]}, "
                "which reaches outside the database: without it, that would happen before the data is durable"
            )
    return None


def keep_before_effects(
    index: ProjectIndex, plan: FixPlan, needs: Dict[FunctionKey, Set[FunctionKey]], effects: Effects,
) -> None:
    """A function to rewrite whose commit an effect outside the database follows (a mail, an
    HTTP request, a task queued) keeps it, with the reason."""
    for path, names in plan.nested.items():
        for qualname in sorted(names):
            key = (path, qualname)
            info = index.function(key)
            why = _effect_after_commit(key, info, effects)
            if why is None:
                continue
            names.discard(qualname)
            needs.pop(key, None)
            code = next((r.code for r in plan.removed if (r.path, r.function) == key), "DAO101")
            plan.removed = [r for r in plan.removed if (r.path, r.function) != key]
            for position in info.commits:
                plan.kept.append(Kept(code, path, position, qualname, why))


def effects_first(
    index: ProjectIndex, decoration: Callable[[FunctionKey], Optional[str]], effects: Effects,
) -> Callable[[FunctionKey], Optional[str]]:
    """`decoration` (why a boundary cannot get the decorator, or None), and also not a
    boundary whose own commit an effect outside the database follows: the decorator would
    take that commit away."""

    def why(key: FunctionKey) -> Optional[str]:
        info = index.function(key)
        found = _effect_after_commit(key, info, effects) if info is not None else None
        return found or decoration(key)

    return why
