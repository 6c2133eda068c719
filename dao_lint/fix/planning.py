"""Decide what `dao-lint fix` may change project-wide, so that no write is lost.

A commit is removed only when every call path to its function is covered by a unit of
work that commits the same session (RULES.md, "What `dao-lint fix` guarantees"): the
caller commits after the call on every path (and keeps that commit), the call runs inside
`with session.begin():`, the caller carries the transaction decorator, or the fix adds the
decorator to a configured boundary on the path. "Every call path" counts the callers that
may exist: a public function nobody calls here is an entry point, a function used as a
value is a callback, and a call on a receiver of unknown type with the method's name may
reach it. None of those is covered.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, List, Optional, Set, Tuple

from ..model.crossfile import unfixed_setting
from .decoration import Decoration, decorator_form
from .fixplan import FixPlan, Kept, Removed
from .refusals import Effects, clear_savepoints, effects_first, keep_before_effects
from ..model.index import MAX_DEPTH, ProjectIndex, describe
from ..model.summary import CallSite, FunctionInfo, FunctionKey, Position, effect_after, effect_of
from ..foundations.vocabulary import URI_SETTING

__all__ = ["NO_CALLER", "ProjectIndex", "FixPlan", "Kept", "Removed", "Gap", "plan_fixes", "suggest_boundaries"]

#: why a function with no call site keeps its commit (a group of its own in the run's report)
NO_CALLER = "has no call site in the project, tests included: delete it if it is dead, or its callers outside must commit"


@dataclass(frozen=True)
class Gap:
    """Call paths on which no unit of work commits: the first as text, and the functions
    all of them start at."""

    text: str
    entries: Tuple[FunctionKey, ...] = ()
    #: found by cutting a call cycle or a chain too deep: from another start, the same
    #: function may be covered, so the answer is not remembered
    cut: bool = False

    def then(self, step: str) -> "Gap":
        return Gap(f"{self.text} -> {step}", self.entries, self.cut)

    def joined(self, other: "Gap") -> "Gap":
        return Gap(self.text, tuple(sorted(set(self.entries) | set(other.entries))), self.cut or other.cut)


def same_session(removed: str, cover: str) -> bool:
    """Whether a unit of work committing `cover` commits what a commit on `removed` did.

    A module-level session (`global db.session`) is committed only by a commit of that same
    session; a session handed in (`local session`) is the caller's, whatever it calls it.
    """
    kind, _, name = removed.partition(" ")
    if kind == "global":
        return cover == removed
    return kind == "local"


class Coverage:
    """Whether every call path to a function ends in a unit of work."""

    def __init__(
        self, index: ProjectIndex, can_decorate: bool, decoration: Callable[[FunctionKey], Optional[str]], effects: Effects,
    ) -> None:
        self.index = index
        self.effects = effects  # which functions reach outside the database
        self.can_decorate = can_decorate
        self.decoration = decoration
        self.memo: Dict[Tuple[FunctionKey, str], Optional[Gap]] = {}
        #: (function, session) -> the boundaries that must get the decorator for it to be covered
        self.boundaries: Dict[Tuple[FunctionKey, str], Set[FunctionKey]] = {}
        #: (function, session) -> the units of work that commit after it, as text (the audit's)
        self.covers: Dict[Tuple[FunctionKey, str], Set[str]] = {}

    def gap(self, key: FunctionKey, session: str, stack: Tuple[FunctionKey, ...] = ()) -> Optional[Gap]:
        """None when every caller that may exist commits `session` after calling `key`."""
        memo = (key, session)
        if memo in self.memo:
            return self.memo[memo]
        if key in stack or len(stack) > MAX_DEPTH:
            return Gap(f"{describe(key)} (a call cycle, or a call chain too deep to follow)", cut=True)
        result = self._callback(key)
        needs: Set[FunctionKey] = set()
        covers: Set[str] = set()
        if result is None:
            every = self.index.callers.get(key, []) + self.index.dispatch_callers.get(key, [])
            callers = [(caller, site) for caller, site in every if not self._in_test(caller)]
            # a call on a receiver of unknown type may be one of `key`: it needs the same
            # cover as any caller (where its caller commits after it, it is covered whatever
            # it calls)
            unresolved = [(caller, site) for caller, site in self.index.unresolved_callers(key) if not self._in_test(caller)]
            info = self.index.function(key)
            if info is not None and info.boundary_pattern and self.can_decorate and self.decoration(key) is None:
                # declared a unit of work itself (an entry point called from outside)
                needs.add(key)
                covers.add(f"{describe(key)} is a configured boundary: it gets the transaction decorator")
                callers = unresolved = []
            elif not callers and not unresolved and (every or any(self._test_file(path) for path, _ in self.index.references.get(key, ()))):
                # called from tests only: the test's own transaction is its unit of work (R9),
                # unless a call outside tests that nothing resolves may be one of it too
                # (`model.set_system_info(...)` on a module handed around in a dict)
                unseen = [(c, s) for c, s in self.index.unresolved.get(key[1].rsplit(".", 1)[-1], []) if not self._in_test(c)]
                if unseen:
                    caller, site = unseen[0]
                    result = Gap(f"`{site.method}(...)` at {caller[0]}:{site.position[0]} may call {describe(key)}, which only tests call otherwise (its target is not known)")
                else:
                    covers.add(f"{describe(key)} is called from tests only: their transaction is its unit of work")
            elif not callers and not unresolved:
                result = Gap(
                    f"{describe(key)} {NO_CALLER}",
                    # a DAO function (R4), a listener or a private helper is never a unit of
                    # work of its own; neither is a function already declared one
                    () if info is None or info.in_dao or self.index.listener(key) or info.name.startswith("_") or info.boundary_pattern else (key,),
                )
            for caller, site in callers:
                # every caller, not only the first uncovered one: the boundaries to suggest
                found = self._site(caller, site, session, stack + (key,), needs, covers)
                if found is not None:
                    found = found.then(describe(key))
                    result = found if result is None else result.joined(found)
            for caller, site in unresolved:
                # covered only where that caller itself commits after it or is a boundary
                # (its own callers are not followed: generic names match too many calls)
                if self._site(caller, site, session, stack + (key,), needs, covers, follow=False) is not None:
                    found = Gap(
                        f"`.{site.method}(...)` at {caller[0]}:{site.position[0]} may call {describe(key)} "
                        "(the type of its receiver is not known; a type annotation would tell)"
                    )
                    result = found if result is None else result.joined(found)
        if result is None:
            self.boundaries[memo] = needs
            self.covers[memo] = covers
            self.memo[memo] = None  # a covered answer never rests on a cut cycle
        elif not stack or not result.cut:
            self.memo[memo] = result
        return result

    def _in_test(self, caller: FunctionKey) -> bool:
        # a test relying on a DAO's commit fails visibly and is the test's to change (R9:
        # tests roll back); a test is not a unit of work whose writes must stay durable
        info = self.index.function(caller)
        return info is not None and info.in_test

    def _test_file(self, path: str) -> bool:
        """A test module: its uses of a function (`assertRaises(E, dao.create)`,
        `inspect.getsource(...)`) are test code's, under the test's transaction."""
        summary = self.index.files.get(path)
        return summary is not None and any(i.in_test for i in summary.functions.values())

    def _callback(self, key: FunctionKey) -> Optional[Gap]:
        """A use of the function as a value outside tests: who calls it is not known."""
        used = [(path, position) for path, position in self.index.references.get(key, ()) if not self._test_file(path)]
        if used:
            path, position = used[0]
            return Gap(f"{describe(key)} is used as a value at {path}:{position[0]} (a callback: its caller is not known)")
        return None

    def _site(
        self, caller_key: FunctionKey, site: CallSite, session: str, stack, needs: Set[FunctionKey], covers: Set[str], follow: bool = True,
    ) -> Optional[Gap]:
        caller = self.index.function(caller_key)
        line = f"{caller_key[0]}:{site.position[0]}"
        if site.commit_keyword == "False":
            covers.add(f"{line} passes commit=False")
            return None  # the call does not commit
        if caller is None or not caller.qualname:
            return Gap(f"{line} (module level, no unit of work)")
        kind, _, cover = site.cover.partition(" ")
        if kind and same_session(session, cover):
            # A later commit of the caller covers the call even if this run removes it: it
            # removes a commit only where a unit of work covers it, and that unit of work
            # commits after the caller returns, so after this call too. (No effect outside
            # the database runs between them: the summary gives no cover then.)
            what = "runs inside `with ...begin():`" if kind == "begin" else f"`{caller.qualname}` commits after it"
            covers.add(f"{line}: {what}")
            return None
        through = self.effects.through(caller_key[0])
        effect = effect_after(caller.calls, site.position, site.branches, leaves=caller.leaves, through=through)
        if effect is not None:
            # the unit of work would commit after the effect: the world hears first
            return Gap(
                f"{line}: `{effect_of(effect) or effect.method + '()'}` at line {effect.position[0]} reaches outside the database "
                "after the call, before any unit of work commits it"
            )
        if caller.has_decorator:
            covers.add(f"{describe(caller_key)} carries the transaction decorator (or is a unit-of-work context manager)")
            return None
        if caller.boundary_pattern and not self.can_decorate:
            # declared already: declaring it again would not help, a decorator would
            return Gap(f"{describe(caller_key)} is a boundary, but no transaction decorator is configured to commit it").then(line)
        if caller.boundary_pattern:
            why = self.decoration(caller_key)
            if why is None:
                needs.add(caller_key)
                covers.add(f"{describe(caller_key)} gets the transaction decorator (a configured boundary)")
                return None
            # already a boundary: declaring it again would not help, so it suggests nothing
            return Gap(f"{describe(caller_key)} is a boundary but cannot get the decorator: {why}").then(line)
        if not follow:
            return Gap(line)
        found = self.gap(caller_key, session, stack)
        if found is None:
            needs |= self.boundaries.get((caller_key, session), set())
            covers |= self.covers.get((caller_key, session), set())
            return None
        return found.then(line)


def plan_fixes(
    index: ProjectIndex,
    enabled: FrozenSet[str],
    unsafe: bool,
    decorator: Optional[str],
) -> FixPlan:
    """The project-wide edits `fix` will make, and the findings it keeps with reasons."""
    plan = FixPlan(decorator=decorator, unsafe=unsafe)
    plan.first_party = tuple(sorted({m.split(".")[0] for m in index.modules if m}))
    form, form_why = decorator_form(index, decorator)
    plan.decorator_called = form == "factory"
    wants_decorator = bool(unsafe and decorator and "DAO105" in enabled)
    can_decorate = wants_decorator and form is not None
    effects = Effects(index)
    decoration = effects_first(index, Decoration(index, decorator) if decorator else (lambda key: "no transaction-decorator"), effects)

    coverage = Coverage(index, can_decorate, decoration, effects)
    needs: Dict[FunctionKey, Set[FunctionKey]] = {}  # rewritten function -> boundaries it relies on
    boundaries: Set[FunctionKey] = set()

    protected = unit_of_work_code(index)
    for path, summary in sorted(index.files.items()):
        for qualname, info in sorted(summary.functions.items()):
            if not qualname or info.in_test or info.migration_module:
                continue
            key = (path, qualname)
            if key in protected:
                continue  # the transaction decorator and what it calls to commit: the unit of work itself
            if info.in_dao and info.has_decorator and not info.boundary_pattern:
                continue  # a unit of work by its shape (a session-scope context manager)
            if info.in_dao:
                code = "DAO101" if info.commits else "DAO102"
            elif info.boundary_pattern or info.has_decorator or not can_decorate:
                if can_decorate and info.boundary_pattern and (info.commits or info.rollbacks) and "DAO105" not in info.suppressed:
                    why = decoration(key)
                    if why is None:
                        boundaries.add(key)
                    else:
                        for position in info.commits + info.rollbacks:
                            plan.kept.append(Kept("DAO105", path, position, qualname, f"the boundary cannot get the decorator: {why}"))
                continue
            else:
                code = "DAO105"  # a helper that commits: it joins the unit of work that covers it
                if not info.commits:
                    continue
            if code not in enabled or not (info.commits or info.rollbacks):
                continue
            if code in info.suppressed or (code == "DAO101" and "DAO102" in info.suppressed):
                continue  # the user silenced it: leave the function as it is
            covered = _cover(index, coverage, key, info, code, plan, wants_decorator, form_why)
            if covered is not None:
                plan.nested.setdefault(path, set()).add(qualname)
                needs[key], units = covered
                plan.removed.append(Removed(code, path, qualname, tuple(sorted(units))))

    if unsafe and "DAO103" in enabled:
        _plan_flags(index, plan)
    # a commit behind the flag goes only with the flag (else a `commit` parameter stays
    # that no longer does anything)
    for path, names in plan.nested.items():
        for qualname in sorted(names):
            info = index.function((path, qualname))
            if info.flag_guarded and qualname not in plan.drop_flag.get(path, set()):
                names.discard(qualname)
                needs.pop((path, qualname), None)
                plan.removed = [r for r in plan.removed if (r.path, r.function) != (path, qualname)]
                why = "DAO103's unsafe fix removes both (--unsafe-fixes)" if not unsafe else "the flag stays (see DAO103 above)"
                for position in info.commits:
                    plan.kept.append(Kept("DAO101", path, position, qualname, f"its commit sits behind the `commit` flag: {why}"))
    keep_before_effects(index, plan, needs, effects)
    clear_savepoints(index, plan, needs, boundaries)
    needed = set().union(*needs.values())
    for path, qualname in boundaries - needed:
        # decorated for its own commits only: if the codemod keeps them all (a rollback,
        # a close or a raise after them would undo a flush), it adds no decorator either
        plan.own_only.setdefault(path, set()).add(qualname)
    for path, qualname in boundaries | needed:
        plan.decorate.setdefault(path, set()).add(qualname)

    if "DAO112" in enabled:
        uses_nested = bool(plan.nested) or any(s.uses_begin_nested for s in index.files.values())
        setting = unfixed_setting(index)  # (the listeners on every engine: once per project)
        if uses_nested:
            for path, summary in index.files.items():
                for name, (_, _, fixed) in summary.sqlite_engines.items():
                    if not fixed and (name != URI_SETTING or (setting is not None and setting[0] == path)):
                        plan.sqlite.setdefault(path, set()).add(name)
    return plan


def unit_of_work_code(index: ProjectIndex) -> Set[FunctionKey]:
    """The transaction decorator's definition (with its inner functions) and the project
    functions it calls, directly or not: never decorated, never rewritten."""
    found: Set[FunctionKey] = set()
    for path, summary in index.files.items():
        first, last = summary.decorator_lines
        if first:
            found |= {(path, q) for q, info in summary.functions.items() if q and first <= info.position[0] <= last}
    frontier = list(found)
    while frontier:
        key = frontier.pop()
        info = index.function(key)
        for site in info.calls if info is not None else ():
            for target in index.call_targets.get((key[0], site.span), ()):
                if target not in found:
                    found.add(target)
                    frontier.append(target)
    return found


def _cover(
    index: ProjectIndex, coverage: Coverage, key: FunctionKey, info: FunctionInfo, code: str,
    plan: FixPlan, wants_decorator: bool, form_why: str,
) -> Optional[Tuple[Set[FunctionKey], Set[str]]]:
    """(the boundaries the rewrite of `key` relies on, the covers as text), or None (and a
    Kept) when it must stay."""
    path, qualname = key
    positions = info.commits or info.rollbacks
    removable = [s for s in info.commit_sessions if not s.startswith("own ")]

    def keep(reason: str, entries: Tuple[FunctionKey, ...] = ()) -> None:
        for position in positions:
            plan.kept.append(Kept(code, path, position, qualname, reason, entries))

    if info.commits and not removable:
        session = info.commit_sessions[0].partition(" ")[2]
        keep(f"it commits a session it opens itself (`{session}`): no caller's unit of work can commit that one (DAO104)")
        return None
    if info.refusal:
        keep(f"the rewrite would change what it does: {info.refusal}")
        return None
    needs: Set[FunctionKey] = set()
    units: Set[str] = set()
    if not removable:  # rollbacks only: no write changes hands, a SAVEPOINT replaces them
        units.add("no commit is removed: its rollbacks become a SAVEPOINT")
    for session in sorted(set(removable)):
        gap = coverage.gap(key, session)
        if gap is not None:
            reason = f"not every caller has a unit of work: {gap.text}"
            if wants_decorator and form_why:
                reason += f"; and the decorator cannot be added: {form_why}"
            keep(reason, gap.entries)
            return None
        needs |= coverage.boundaries.get((key, session), set())
        units |= coverage.covers.get((key, session), set())
    return needs, units


def suggest_boundaries(kept: List[Kept]) -> List[Tuple[str, int]]:
    """The `boundaries` entries that would let `fix` go further, with how many kept findings
    each unblocks: the functions kept call paths start at, grouped by file name and class."""
    entries: Dict[FunctionKey, int] = {}
    for item in kept:
        for entry in item.entries:
            if entry[1]:
                entries[entry] = entries.get(entry, 0) + 1
    groups: Dict[Tuple[str, str], List[FunctionKey]] = {}
    for path, qualname in entries:
        owner = qualname.split(".")[0] if "." in qualname else ""
        suffix = _last_word(owner) if owner else ""
        groups.setdefault((path.rsplit("/", 1)[-1], suffix), []).append((path, qualname))
    out: List[Tuple[str, int]] = []
    for (name, suffix), members in sorted(groups.items()):
        count = sum(entries[m] for m in members)
        directories = {p.rsplit("/", 1)[0] for p, _ in members}
        if len(members) > 1 and len(directories) > 1:
            pattern = f"**/{name}::{'*' + suffix + '.*' if suffix else '*'}"
            out.append((pattern, count))
        else:
            for member in members:
                out.append((f"{member[0]}::{member[1]}", entries[member]))
    return sorted(out, key=lambda item: (-item[1], item[0]))


def _last_word(name: str) -> str:
    """`Api` for `ChartRestApi`, `Command` for `CreateChartCommand`."""
    for index in range(len(name) - 1, 0, -1):
        if name[index].isupper():
            return name[index:]
    return name


def _plan_flags(index: ProjectIndex, plan: FixPlan) -> None:
    """Which `commit` parameters (and `commit=` arguments) go: all of a method's or none."""
    candidates: Set[FunctionKey] = set()
    for path, summary in index.files.items():
        for qualname, info in summary.functions.items():
            if not (info.in_dao and info.commit_parameter) or info.commit_other_use:
                continue
            if "DAO103" in info.suppressed:
                continue
            if info.commits and qualname not in plan.nested.get(path, set()):
                continue  # its commits stay, so the flag that guards them stays too
            if index.unresolved_commit_calls.get(info.name):
                where = index.unresolved_commit_calls[info.name][0]
                plan.kept.append(
                    Kept("DAO103", path, info.position, qualname, f"a call at {where[0]}:{where[1][0]} passes commit= to a `{info.name}` that could not be resolved")
                )
                continue
            candidates.add((path, qualname))
    # a function that forwards `commit=commit` keeps its flag unless every target loses its own
    changed = True
    while changed:
        changed = False
        for key in sorted(candidates):
            info = index.function(key)
            for position in info.commit_forwards:
                targets = _targets_at(index, key[0], info, position)
                if not targets or any(t not in candidates for t in targets):
                    candidates.discard(key)
                    plan.kept.append(Kept("DAO103", key[0], info.position, key[1], "it forwards `commit=` to a function that keeps its flag"))
                    changed = True
                    break
    for path, qualname in candidates:
        plan.drop_flag.setdefault(path, set()).add(qualname)
    for path, summary in index.files.items():
        for info in summary.functions.values():
            for site in info.calls:
                if site.commit_keyword is None:
                    continue
                targets = index.call_targets.get((path, site.span), ())
                if targets and all(t in candidates for t in targets):
                    plan.drop_keywords.setdefault(path, set()).add(site.span)


def _targets_at(index: ProjectIndex, path: str, info: FunctionInfo, argument: Position) -> Tuple[FunctionKey, ...]:
    """The targets of the call whose `commit=commit` argument starts at `argument`."""
    best = None
    for site in info.calls:
        if site.commit_keyword == "commit" and site.position <= argument:
            if best is None or site.position > best.position:
                best = site
    if best is None:
        return ()
    return index.call_targets.get((path, best.span), ())


def planned_findings(
    index: ProjectIndex, enabled: FrozenSet[str], decorator: Optional[str], renames: Tuple[Tuple[str, str], ...] = (),
) -> Dict[str, Dict[Tuple[str, Position], str]]:
    """path -> {(code, position): "safe" or "unsafe"} for each finding `fix` removes: "safe"
    where `fix` does, "unsafe" where only `fix --unsafe-fixes` does. The same plans `fix`
    makes, so that what `check` promises and what `fix` then does are one computation.
    Positions are the summary's (a commit's, the `commit` parameter's line)."""
    from .renames import plan_renames

    found: Dict[str, Dict[Tuple[str, Position], str]] = {}
    for kind in ("safe", "unsafe"):
        plan = plan_fixes(index, enabled, kind == "unsafe", decorator)
        if kind == "unsafe" and renames and "DAO301" in enabled:
            plan_renames(index, plan, renames)

        def mark(path: str, code: str, position: Position) -> None:
            found.setdefault(path, {}).setdefault((code, position), kind)

        for path, names in plan.nested.items():
            for qualname in names:
                info = index.function((path, qualname))
                for position in info.commits:
                    mark(path, "DAO101" if info.in_dao else "DAO105", position)
                for position in info.rollbacks:
                    mark(path, "DAO102" if info.in_dao else "DAO105", position)
        for path, names in plan.decorate.items():
            for qualname in names:
                for position in index.function((path, qualname)).commits:
                    mark(path, "DAO105", position)
        for path, names in plan.drop_flag.items():
            for qualname in names:
                mark(path, "DAO103", (index.function((path, qualname)).commit_parameter_line, -1))
        for path, engines in plan.sqlite.items():
            for name in engines:
                mark(path, "DAO112", index.files[path].sqlite_engines[name][0])
        for path, methods in plan.rename_defs.items():
            for qualname in methods:
                mark(path, "DAO301", index.function((path, qualname)).name_position)
    return found
