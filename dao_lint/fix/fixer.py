"""`dao-lint fix`: index the project, plan the edits, rewrite files safely, report what is left.

Safety of every write: the result must parse and compile, the rewrites must reach a fixed
point, a file that changed on disk since it was read is not overwritten, and files are
replaced atomically with their encoding, BOM, newline style and permissions kept (libcst
round-trips the bytes it parsed).
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import libcst as cst

from ..analysis import FileContext
from ..codemods.call_sites import edit_call_sites
from ..codemods.commit_flag import drop_commit_parameters
from ..codemods.nested_session import rewrite_nested
from ..codemods.sqlite_savepoint import add_sqlite_listeners
from ..codemods.transaction_boundary import decorate_boundaries
from ..foundations.config import Config
from ..checking.engine import apply_rule_fixes, one_young_collection, parse_module, rule_fixes
from ..foundations.files import compile_quietly, decode_source, write_atomic
from ..running.indexing import check_all, index_project
from ..running.workers import map_in_processes
from .fixplan import FixPlan, Kept, Removed
from .planning import plan_fixes
from .renames import plan_renames
from ..model.summary import FileSummary
from ..foundations.types import Diagnostic, FileResult

__all__ = ["FileFix", "FixReport", "fix_files", "MAX_ROUNDS"]

MAX_ROUNDS = 4


@dataclass(frozen=True)
class FileFix:
    """What fixing one file did (or why it did not)."""

    path: str
    before: bytes
    after: Optional[bytes]  # None: unchanged
    fixed: Tuple[Tuple[str, int], ...] = ()  # code -> findings resolved
    error: Optional[str] = None


@dataclass
class FixReport:
    files: List[FileFix] = field(default_factory=list)
    kept: List[Kept] = field(default_factory=list)
    removed: List[Removed] = field(default_factory=list)  # what the plan removes, and its covers
    remaining: List[Diagnostic] = field(default_factory=list)
    skipped: List[Tuple[str, str]] = field(default_factory=list)  # (path, why)
    #: files changed though not named: the cross-file fixes of the named files need them
    also: List[str] = field(default_factory=list)
    baselined: int = 0  # findings left that the baseline knows
    #: findings left (with --unsafe-fixes) whose fix needs a `transaction-decorator`, in files
    #: whose configuration names none (codes.NEEDS_DECORATOR): code -> count
    undecorated: Counter = field(default_factory=Counter)
    #: the project as indexed before the fix: (path -> own result, project facts)
    indexed: Optional[tuple] = None
    #: code -> findings the run fixed (promised by `check`, gone after): set by `dao_lint.api`
    findings_fixed: Optional[Counter] = None

    @property
    def changed(self) -> List[FileFix]:
        return [f for f in self.files if f.after is not None and f.error is None]

    def fixed_counts(self) -> Counter:
        """Findings fixed, per code (per-file edit counts when the run did not say)."""
        if self.findings_fixed is not None:
            return Counter(self.findings_fixed)
        counts: Counter = Counter()
        for item in self.changed:
            for code, number in item.fixed:
                counts[code] += number
        return counts


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rule_fix_codes(config: Config, unsafe: bool) -> FrozenSet[str]:
    """Enabled codes whose rules carry their own fixes (safe ones, and unsafe ones if asked)."""
    from ..rules.base import registry

    allowed = ("safe", "unsafe") if unsafe else ("safe",)
    return frozenset(c for c in config.enabled_codes() if c in registry and registry[c].fix_safety in allowed)


def _indexed(path: str, config: Config, result: FileResult, unsafe: bool) -> Tuple[Optional[FileSummary], Optional[str], str, bool]:
    """(summary, why the file is skipped, digest of its content, has rule-carried fixes) of
    one file as the project index saw it."""
    try:
        with open(path, "rb") as handle:
            digest = _digest(handle.read())
    except OSError as exc:
        return None, f"cannot read: {exc.strerror}", "", False
    if result.summary is None:
        problems = [d for d in result.diagnostics if d.code in ("DAO001", "DAO002")]
        if problems:
            why = "does not parse; not touched" if problems[0].code == "DAO001" else problems[0].message
            return None, why, digest, False
        return None, None, digest, False  # nothing session- or DAO-like: nothing to fix
    result.summary.path = path
    codes = rule_fix_codes(config, unsafe)
    has_fixes = any(d.fixable and d.code in codes for d in result.diagnostics)
    return result.summary, None, digest, has_fixes


def _transform(source: bytes, path: str, config: Config, plan: FixPlan, own_fixes: bool = True) -> Tuple[bytes, Counter]:
    """Apply the plan's edits for one file, and with `own_fixes` the rules' one-file fixes:
    (new bytes, edits per code).

    Raises ValueError when the rewrites do not reach a fixed point.
    """
    module = parse_module(source)
    context = FileContext.for_path(path, config, decode_source(source)[0])
    edits: Counter = Counter()
    # edits located by position first, while positions still match the indexed source
    # (the call sites follow their definition's fix: counted there, as one finding)
    module, renamed = edit_call_sites(
        module,
        context,
        plan.drop_keywords.get(path, set()),
        plan.rename_calls.get(path, {}),
        plan.rename_defs.get(path, {}),
    )
    edits["DAO301"] += renamed
    previous = None
    for _ in range(MAX_ROUNDS):
        module, commits, rollbacks = rewrite_nested(module, context, plan.nested.get(path, set()))
        edits["DAO101"] += commits
        edits["DAO102"] += rollbacks
        module, flags = drop_commit_parameters(module, context, plan.drop_flag.get(path, set()))
        edits["DAO103"] += len(flags)
        if plan.decorator:
            module, decorated = decorate_boundaries(
                module,
                context,
                plan.decorate.get(path, set()),
                plan.decorator,
                plan.decorator_called,
                plan.first_party,
                plan.own_only.get(path, set()),
            )
            edits["DAO105"] += len(decorated)
        engines = plan.sqlite.get(path, set())
        if engines:
            module, added = add_sqlite_listeners(module, context, engines, plan.sqlite_literal.get(path, set()))
            edits["DAO112"] += len(added)
        reports = rule_fixes(module, path, config, rule_fix_codes(config, plan.unsafe)) if own_fixes else []
        if reports:
            module = apply_rule_fixes(module, reports)
            for report in reports:
                edits[report.code] += 1
        code = module.bytes
        if code == previous:
            return code, +edits
        previous = code
        module = parse_module(code)
    raise ValueError(f"the rewrites did not converge after {MAX_ROUNDS} rounds")


def _fix_one(item: Tuple[str, Config, FixPlan, str, bool]) -> FileFix:
    with one_young_collection():
        return _fix_file(*item)


def _fix_file(path: str, config: Config, plan: FixPlan, digest: str, own_fixes: bool) -> FileFix:
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        return FileFix(path, b"", None, error=f"cannot read: {exc.strerror}")
    if _digest(source) != digest:
        return FileFix(path, source, None, error="changed on disk while fixing; not touched")
    try:
        result, edits = _transform(source, path, config, plan, own_fixes)
    except Exception as exc:  # noqa: BLE001 - one file's failure never ends the run
        return FileFix(path, source, None, error=f"fix failed ({type(exc).__name__}: {exc}); not touched")
    if result == source:
        return FileFix(path, source, None)
    try:
        cst.parse_module(result)
        text, _ = decode_source(result)
        compile_quietly(text, path)
    except Exception as exc:  # noqa: BLE001
        return FileFix(path, source, None, error=f"the fixed file would not parse ({exc}); not touched")
    return FileFix(path, source, result, tuple(sorted(edits.items())))


def fix_files(
    files: Sequence[Tuple[str, Config]],
    *,
    unsafe: bool = False,
    write: bool = True,
    jobs: int = 1,
    progress: Optional[Callable[[str, int, int], Callable[[int], None]]] = None,
    cache_dir: Optional[Callable[[Config], str]] = None,
    named: Optional[Set[str]] = None,
) -> FixReport:
    """Fix `files` (each with its configuration) as one project. Never raises for bad input.

    With `named`, only those files get fixes; another file changes only when a cross-file
    fix of a named file needs it (the plan's call sites and boundaries), and is listed in
    `report.also`."""
    report = FixReport()
    configs = dict(files)
    step = progress("indexing", 0, len(files)) if progress else None
    summaries: List[FileSummary] = []
    digests: Dict[str, str] = {}
    with_fixes = set()
    # indexed as `check` indexes (dao_lint.indexing): the same summaries, so the same
    # commit helpers, findings and cache entries
    items = [(p, c, cache_dir(c) if cache_dir else None) for p, c in files]
    checked = dict(zip((p for p, _ in files), check_all(items, jobs, (lambda *_: step) if step else None)))
    checked, facts = index_project(files, checked, jobs, cache_dir)
    for path, config in files:
        summary, problem, digest, has_fixes = _indexed(path, config, checked[path], unsafe)
        digests[path] = digest
        if summary is None:
            if problem is not None:
                report.skipped.append((path, problem))
        else:
            summaries.append(summary)
            if has_fixes:
                with_fixes.add(path)
    report.indexed = (checked, facts)
    index = facts.index
    # one plan per configuration would be more exact; projects have one configuration
    config = files[0][1] if files else Config()
    enabled = config.enabled_codes()
    plan = plan_fixes(index, enabled, unsafe, config.transaction_decorator)
    if unsafe and config.rename and "DAO301" in enabled:
        plan_renames(index, plan, config.rename)
    plan.sqlite_literal = {
        path: {name for name, (_, literal, _) in summary.sqlite_engines.items() if literal}
        for path, summary in index.files.items()
    }
    report.kept = plan.kept
    report.removed = plan.removed
    planned = plan.paths()
    if named is not None:
        with_fixes &= named
        if not planned & named:
            planned = set()  # no cross-file fix starts in a named file
    targets = sorted(planned | with_fixes)
    step = progress("fixing", 0, len(targets)) if progress else None
    work = [(path, configs[path], plan, digests[path], named is None or path in named) for path in targets]
    report.files = map_in_processes(_fix_one, work, jobs, step)
    if named is not None:
        report.also = [item.path for item in report.changed if item.path not in named]
    if write:
        for number, item in enumerate(report.files):
            if item.after is None or item.error is not None:
                continue
            try:
                with open(item.path, "rb") as handle:
                    current = handle.read()
                if current != item.before:
                    report.files[number] = FileFix(item.path, item.before, None, error="changed on disk while fixing; not touched")
                    continue
                write_atomic(item.path, item.after)
            except OSError as exc:
                report.files[number] = FileFix(item.path, item.before, None, error=f"cannot write: {exc.strerror}")
    return report


def fix_unused_noqa(report: FixReport, configs: Dict[str, Config], write: bool) -> None:
    """DAO003's safe fix, after the others (their edits decide which comments are unused):
    drop the unused codes from each `# noqa` comment, or the comment. Edits `report`."""
    from ..running.discovery import display_path
    from ..foundations.suppress import remove_noqa_codes

    by_shown = {display_path(path): path for path in configs}
    unused: Dict[str, Dict[int, Set[str]]] = {}
    for d in report.remaining:
        path = by_shown.get(d.path)
        if d.code == "DAO003" and path is not None and "DAO003" in configs[path].enabled_codes(path):
            codes = d.message.split("`# noqa: ", 1)[1].split("`", 1)[0]
            unused.setdefault(path, {}).setdefault(d.line, set()).update(c.strip() for c in codes.split(","))
    if not unused:
        return
    entries = {item.path: number for number, item in enumerate(report.files)}
    done = set()  # the files whose comments were fixed: their DAO003 findings are no longer left
    for path, lines in sorted(unused.items()):
        number = entries.get(path)
        item = report.files[number] if number is not None else None
        if item is not None and item.error is not None:
            continue
        try:
            with open(path, "rb") as handle:
                on_disk = handle.read()
        except OSError as exc:
            report.skipped.append((path, f"cannot read: {exc.strerror}"))
            continue
        current = item.after if item is not None and item.after is not None else on_disk
        if item is not None and item.after is not None and write and on_disk != item.after:
            continue  # changed under us since the first write
        text, encoding = decode_source(current)
        fixed_text = remove_noqa_codes(text, lines)
        bom = "\ufeff" if current.startswith(b"\xef\xbb\xbf") else ""
        fixed = (bom + fixed_text).encode(encoding)
        if fixed == current:
            continue
        try:
            compile_quietly(fixed_text, path)
        except (SyntaxError, ValueError):
            continue
        if write:
            try:
                write_atomic(path, fixed)
            except OSError as exc:
                report.skipped.append((path, f"cannot write: {exc.strerror}"))
                continue
        before = item.before if item is not None else on_disk
        counts = Counter(dict(item.fixed)) if item is not None else Counter()
        counts["DAO003"] += sum(1 for d in report.remaining if d.code == "DAO003" and by_shown.get(d.path) == path)
        fix = FileFix(path, before, fixed, tuple(sorted(counts.items())))
        if number is None:
            report.files.append(fix)
        else:
            report.files[number] = fix
        done.add(path)
    report.remaining[:] = [d for d in report.remaining if not (d.code == "DAO003" and by_shown.get(d.path) in done)]
