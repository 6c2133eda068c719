"""Decide what `dao-lint fix` may change project-wide, so that no write is lost.

A commit inside a DAO is removed only when every call path to its method is covered by a
unit of work (RULES.md, "What `dao-lint fix` guarantees"): the caller commits after the
call, the call runs inside `with session.begin():`, the caller carries the transaction
decorator, or the fix adds the decorator to a configured boundary on the path.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from .summary import CallSite, ClassInfo, FileSummary, FunctionInfo, FunctionKey, Position

__all__ = ["ProjectIndex", "FixPlan", "Kept", "plan_fixes"]

MAX_DEPTH = 8


class ProjectIndex:
    """Joins file summaries and resolves calls across modules."""

    def __init__(self, summaries: Iterable[FileSummary]) -> None:
        self.files: Dict[str, FileSummary] = {s.path: s for s in summaries}
        self.modules: Dict[str, FileSummary] = {s.module: s for s in self.files.values() if s.module}
        self.callers: Dict[FunctionKey, List[Tuple[FunctionKey, CallSite]]] = {}
        #: method name -> call sites passing `commit=` whose target could not be resolved
        self.unresolved_commit_calls: Dict[str, List[Tuple[str, Position]]] = {}
        self.call_targets: Dict[Tuple[str, Tuple[Position, Position]], Tuple[FunctionKey, ...]] = {}
        for summary in self.files.values():
            for info in summary.functions.values():
                for site in info.calls:
                    targets = self.resolve_call(summary, info, site)
                    self.call_targets[(summary.path, site.span)] = targets
                    for target in targets:
                        self.callers.setdefault(target, []).append(((summary.path, info.qualname), site))
                    if not targets and site.commit_keyword is not None:
                        self.unresolved_commit_calls.setdefault(site.method, []).append((summary.path, site.position))

    # -- names ---------------------------------------------------------------------------
    def _module(self, name: str) -> Optional[FileSummary]:
        if name in self.modules:
            return self.modules[name]
        if not hasattr(self, "_suffixes"):
            # the configuration root may sit above the import root (src/ layouts):
            # index every dotted suffix once; a suffix shared by two modules is ambiguous
            self._suffixes: Dict[str, Optional[FileSummary]] = {}
            for module, summary in self.modules.items():
                parts = module.split(".")
                for cut in range(1, len(parts)):
                    suffix = ".".join(parts[cut:])
                    self._suffixes[suffix] = None if suffix in self._suffixes else summary
        return self._suffixes.get(name)

    def _absolute(self, summary: FileSummary, qualified: str) -> str:
        if not qualified.startswith("."):
            return qualified
        dots = len(qualified) - len(qualified.lstrip("."))
        parts = summary.module.split(".") if summary.module else []
        if not summary.is_package:
            parts = parts[:-1]
        if dots > 1:
            parts = parts[: len(parts) - (dots - 1)]
        rest = qualified[dots:]
        return ".".join([*parts, rest] if rest else parts)

    def resolve_symbol(self, summary: FileSummary, qualified: str, depth: int = 0):  # noqa: ANN201
        """("class", path, name) or ("function", path, qualname) for a qualified name, else None."""
        if depth > MAX_DEPTH:
            return None
        qualified = self._absolute(summary, qualified)
        parts = qualified.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = self._module(".".join(parts[:cut]))
            if module is None:
                continue
            return self._in_module(module, parts[cut:], depth)
        # a name defined in this very module
        return self._in_module(summary, parts, depth)

    def _in_module(self, module: FileSummary, symbol: List[str], depth: int):  # noqa: ANN202
        head = symbol[0]
        if head in module.classes:
            if len(symbol) == 1:
                return ("class", module.path, head)
            return None
        if len(symbol) == 1 and head in module.functions and module.functions[head].class_name is None:
            return ("function", module.path, head)
        if head in module.imports:  # re-exported
            target = module.imports[head] + ("." + ".".join(symbol[1:]) if len(symbol) > 1 else "")
            return self.resolve_symbol(module, target, depth + 1)
        return None

    def class_info(self, path: str, name: str) -> Optional[ClassInfo]:
        summary = self.files.get(path)
        return summary.classes.get(name) if summary else None

    def find_method(self, path: str, class_name: str, method: str, depth: int = 0, skip_self: bool = False) -> Optional[FunctionKey]:
        """The definition `cls.method` reaches, following base classes (first match, depth-first)."""
        if depth > MAX_DEPTH:
            return None
        info = self.class_info(path, class_name)
        if info is None:
            return None
        if not skip_self and method in info.methods:
            return (path, f"{class_name}.{method}")
        summary = self.files[path]
        for base in info.bases:
            found = self.resolve_symbol(summary, base)
            if found is None and base in summary.classes:
                found = ("class", path, base)
            if found and found[0] == "class":
                key = self.find_method(found[1], found[2], method, depth + 1)
                if key is not None:
                    return key
        return None

    def resolve_call(self, summary: FileSummary, caller: FunctionInfo, site: CallSite) -> Tuple[FunctionKey, ...]:
        if site.kind == "name":
            if "." not in site.target and site.target in summary.functions:
                target = summary.functions[site.target]
                return ((summary.path, site.target),) if target.class_name is None else ()
            found = self.resolve_symbol(summary, site.target)
            return ((found[1], found[2]),) if found and found[0] == "function" else ()
        if site.kind in ("self", "super"):
            class_name = caller.qualname.split(".")[0] if "." in caller.qualname else None
            if class_name is None or class_name not in summary.classes:
                return ()
            key = self.find_method(summary.path, class_name, site.method, skip_self=site.kind == "super")
            return (key,) if key else ()
        if site.kind in ("attr", "instance"):
            found = self.resolve_symbol(summary, site.target)
            if found is None and site.target in summary.classes:
                found = ("class", summary.path, site.target)
            if found is None:
                return ()
            if found[0] == "class":
                key = self.find_method(found[1], found[2], site.method)
                return (key,) if key else ()
        return ()

    def function(self, key: FunctionKey) -> Optional[FunctionInfo]:
        summary = self.files.get(key[0])
        return summary.functions.get(key[1]) if summary else None


@dataclass(frozen=True)
class Kept:
    """A finding the fix left in place, and why."""

    code: str
    path: str
    position: Position
    function: str
    reason: str


@dataclass
class FixPlan:
    nested: Dict[str, Set[str]] = field(default_factory=dict)
    drop_flag: Dict[str, Set[str]] = field(default_factory=dict)
    drop_keywords: Dict[str, Set[Tuple[Position, Position]]] = field(default_factory=dict)
    decorate: Dict[str, Set[str]] = field(default_factory=dict)
    #: non-DAO helpers whose own commit/rollback go, because a unit of work covers them
    strip: Dict[str, Set[str]] = field(default_factory=dict)
    sqlite: Dict[str, Set[str]] = field(default_factory=dict)
    sqlite_literal: Dict[str, Set[str]] = field(default_factory=dict)  # engines with a plain sqlite URL
    #: DAO301 renames: path -> {qualname of the method: new name}, and call spans -> new name
    rename_defs: Dict[str, Dict[str, str]] = field(default_factory=dict)
    rename_calls: Dict[str, Dict[Tuple[Position, Position], str]] = field(default_factory=dict)
    kept: List[Kept] = field(default_factory=list)
    decorator: Optional[str] = None
    decorator_called: bool = False
    unsafe: bool = False

    def paths(self) -> Set[str]:
        found: Set[str] = set()
        for table in (self.nested, self.drop_flag, self.drop_keywords, self.decorate, self.strip, self.sqlite, self.rename_defs, self.rename_calls):
            found |= {p for p, items in table.items() if items}
        return found


def _describe(key: FunctionKey) -> str:
    return f"{key[0]}::{key[1] or '<module>'}"


class Coverage:
    """Whether every call path to a function ends in a unit of work."""

    def __init__(self, index: ProjectIndex, can_decorate: bool) -> None:
        self.index = index
        self.can_decorate = can_decorate
        self.memo: Dict[FunctionKey, Optional[str]] = {}
        self.boundaries: Dict[FunctionKey, Set[FunctionKey]] = {}  # function -> boundaries it relies on

    def uncovered(self, key: FunctionKey, stack: Tuple[FunctionKey, ...] = ()) -> Optional[str]:
        """None when covered, else the first call path that is not (as text)."""
        if key in self.memo:
            return self.memo[key]
        if key in stack or len(stack) > MAX_DEPTH:
            return f"{_describe(key)} (call cycle or call chain too deep)"
        callers = self.index.callers.get(key, [])
        needs: Set[FunctionKey] = set()
        info = self.index.function(key)
        if not callers and info is not None and info.in_dao:
            # A DAO method is never an entry point: with no call site in the checked
            # paths, no call path exists there that could lose a write.
            result: Optional[str] = None
        elif not callers:
            result = f"{_describe(key)} has no call site in the checked paths (an entry point: declare it a boundary)"
        else:
            result = None
            for caller_key, site in callers:
                reason = self._site(caller_key, site, stack + (key,), needs)
                if reason is not None:
                    result = f"{reason} -> {_describe(key)}"
                    break
        if result is None:
            self.boundaries[key] = needs
        if not stack:
            self.memo[key] = result
        return result

    def _site(self, caller_key: FunctionKey, site: CallSite, stack, needs: Set[FunctionKey]) -> Optional[str]:
        if site.commit_keyword == "False" or site.covered_here:
            return None
        caller = self.index.function(caller_key)
        line = f"{caller_key[0]}:{site.position[0]}"
        if caller is None or not caller.qualname:
            return f"{line} (module level, no unit of work)"
        if caller.has_decorator:
            return None
        if caller.boundary_pattern and self.can_decorate:
            needs.add(caller_key)
            return None
        reason = self.uncovered(caller_key, stack)
        if reason is None:
            needs |= self.boundaries.get(caller_key, set())
            return None
        return f"{reason} -> {line}"


def plan_fixes(
    index: ProjectIndex,
    enabled: FrozenSet[str],
    unsafe: bool,
    decorator: Optional[str],
    renames: Tuple[Tuple[str, str], ...] = (),
) -> FixPlan:
    """The project-wide edits `fix` will make, and the findings it keeps with reasons."""
    plan = FixPlan(decorator=decorator)
    plan.decorator_called = any(s.decorator_called for s in index.files.values()) or bool(
        decorator and decorator.endswith("()")
    )
    can_decorate = bool(unsafe and decorator and "DAO105" in enabled)
    coverage = Coverage(index, can_decorate)
    needed_boundaries: Set[FunctionKey] = set()

    for path, summary in sorted(index.files.items()):
        for qualname, info in sorted(summary.functions.items()):
            if not info.in_dao or not qualname:
                continue
            key = (path, qualname)
            if "DAO101" in info.suppressed or "DAO102" in info.suppressed:
                continue  # the user silenced it: leave the function as it is
            if info.commits:
                if "DAO101" not in enabled:
                    continue
                reason = coverage.uncovered(key)
                if reason is None:
                    plan.nested.setdefault(path, set()).add(qualname)
                    needed_boundaries |= coverage.boundaries.get(key, set())
                else:
                    for position in info.commits:
                        plan.kept.append(Kept("DAO101", path, position, qualname, f"not every caller has a unit of work: {reason}"))
            elif info.rollbacks and "DAO102" in enabled:
                plan.nested.setdefault(path, set()).add(qualname)

    if unsafe and "DAO103" in enabled:
        _plan_flags(index, plan)

    if can_decorate:
        for path, summary in sorted(index.files.items()):
            for qualname, info in sorted(summary.functions.items()):
                if not qualname or info.in_dao or info.in_test or info.boundary_module:
                    continue
                if info.boundary_pattern and (info.commits or info.rollbacks):
                    needed_boundaries.add((path, qualname))
                elif info.commits and not info.has_decorator and "DAO105" not in info.suppressed:
                    # a helper that commits (DAO105): its commit goes when a unit of work covers it
                    key = (path, qualname)
                    reason = coverage.uncovered(key)
                    if reason is None:
                        plan.strip.setdefault(path, set()).add(qualname)
                        needed_boundaries |= coverage.boundaries.get(key, set())
                    else:
                        for position in info.commits:
                            plan.kept.append(Kept("DAO105", path, position, qualname, f"not every caller has a unit of work: {reason}"))
        for path, qualname in needed_boundaries:
            plan.decorate.setdefault(path, set()).add(qualname)

    if unsafe and renames and "DAO301" in enabled:
        _plan_renames(index, plan, renames)

    if "DAO112" in enabled:
        uses_nested = bool(plan.nested) or any(s.uses_begin_nested for s in index.files.values())
        if uses_nested:
            for path, summary in index.files.items():
                for name, (_, _, fixed) in summary.sqlite_engines.items():
                    if not fixed:
                        plan.sqlite.setdefault(path, set()).add(name)
    return plan


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


def _subclasses(index: ProjectIndex, path: str, name: str) -> List[Tuple[str, str]]:
    """Classes of the project deriving (directly or not) from (path, name)."""
    found: List[Tuple[str, str]] = []
    frontier = [(path, name)]
    seen = set(frontier)
    while frontier:
        target = frontier.pop()
        for summary in index.files.values():
            for class_name, info in summary.classes.items():
                for base in info.bases:
                    resolved = index.resolve_symbol(summary, base)
                    if resolved is None and base in summary.classes:
                        resolved = ("class", summary.path, base)
                    if resolved and resolved[0] == "class" and (resolved[1], resolved[2]) == target:
                        key = (summary.path, class_name)
                        if key not in seen:
                            seen.add(key)
                            found.append(key)
                            frontier.append(key)
    return found


def _plan_renames(index: ProjectIndex, plan: FixPlan, renames: Tuple[Tuple[str, str], ...]) -> None:
    """Rename configured DAO methods and every call site that resolves to them."""
    for old, new in renames:
        class_name, method = old.split(".")
        definitions = [
            (path, summary) for path, summary in sorted(index.files.items())
            if class_name in summary.classes and method in summary.classes[class_name].methods
        ]
        if not definitions:
            plan.kept.append(Kept("DAO301", "", (0, 0), old, "no such method in the checked paths"))
            continue
        for path, summary in definitions:
            info = summary.functions.get(f"{class_name}.{method}")
            position = info.position if info else (0, 0)
            if new in summary.classes[class_name].methods:
                plan.kept.append(Kept("DAO301", path, position, old, f"`{class_name}` already has a `{new}`"))
                continue
            overriding = [
                f"{p}::{c}" for p, c in _subclasses(index, path, class_name)
                if method in index.files[p].classes[c].methods or new in index.files[p].classes[c].methods
            ]
            if overriding:
                plan.kept.append(Kept("DAO301", path, position, old, f"subclasses define `{method}` or `{new}` too: {', '.join(overriding)}"))
                continue
            key = (path, f"{class_name}.{method}")
            plan.rename_defs.setdefault(path, {})[key[1]] = new
            for caller_key, site in index.callers.get(key, []):
                plan.rename_calls.setdefault(caller_key[0], {})[site.span] = new
