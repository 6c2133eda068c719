"""The library interface: check source, files or paths; returns values, never prints.

May import: fix, running, checking, rules, model, analysis, foundations.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
import os
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from .foundations.config import Config, ConfigResolver
from .running.discovery import PathError, collect_files, display_path
from .running.indexing import check_all, check_source, index_project, lint_file, rehomed, shown_as
from .running.savepoint_use import forget_project_facts, project_uses_begin_nested
from .running.session_index import attach_sessions
from .foundations.types import Diagnostic, FileResult, Span
from .running.workers import map_in_processes

__all__ = ["lint_source", "lint_file", "lint_paths", "collect_files", "PathError", "display_path", "fix_paths"]


def lint_source(source: Union[str, bytes], path: str = "example.py", config: Optional[Config] = None) -> List[Diagnostic]:
    """Check in-memory source as if it lived at `path`; returns its diagnostics."""
    return list(check_source(source, path, config or Config()).diagnostics)


#: the name of a cross-file entry that is no finding: it marks the file's own finding of its
#: code on its line as one `fix` removes, its message saying with which fixes ("safe" or
#: "unsafe"; `project_extras`)
FIX_MARK = "planned-fix"


def merge_findings(result: FileResult, extra: Sequence[Diagnostic], source: str, config: Config, content: Optional[bytes] = None) -> FileResult:
    """A file's own result plus its cross-file findings (those under `# noqa` dropped), plus
    DAO003 for `# noqa` comments naming DAO codes that silence nothing. `source` is the
    file to read when `content` is not given."""
    from .foundations.suppress import noqa_comments, split_suppressed, unused_noqa

    enabled = config.enabled_codes(source)
    wants_unused = "DAO003" in enabled and result.parsed  # (a file never parsed silences nothing)
    planned = {(d.code, d.span.line): d.message for d in extra if d.name == FIX_MARK}
    extra = [d for d in extra if d.name != FIX_MARK]

    def marked(d: Diagnostic) -> Diagnostic:
        kind = planned.get((d.code, d.span.line))
        return d if kind is None else dataclasses.replace(d, fixable=True, unsafe_fix=kind == "unsafe")

    own = tuple(map(marked, result.diagnostics))
    if not extra and not wants_unused:
        return FileResult(result.path, own, result.parsed, result.internal_errors)
    text = None
    if content is None:
        try:
            with open(source, "rb") as handle:
                content = handle.read()
        except OSError:
            content = None
    if content is not None and (extra or b"noqa" in content.lower()):
        from .foundations.files import DecodeFailure, decode_source

        try:
            text, _ = decode_source(content)
        except DecodeFailure:
            text = None
    diagnostics = list(own)
    used = set(result.noqa_used)
    if config.transaction_decorator and result.summary is not None:
        # a boundary may commit (no DAO105 there), but a noqa comment for DAO105 on its
        # commit holds `fix --unsafe-fixes` back from taking it over with the decorator: it
        # is not unused
        for info in result.summary.functions.values():
            if info.boundary_pattern:
                used |= {(line, "DAO105") for line, _ in info.commits + info.rollbacks}
    if extra and text is not None:
        known = {(d.code, d.span.line, d.span.column) for d in diagnostics}
        kept, suppressed = split_suppressed(text, list(extra))
        used |= suppressed
        diagnostics += [marked(dataclasses.replace(d, path=result.path)) for d in kept if (d.code, d.span.line, d.span.column) not in known and not _answered(d, diagnostics)]
    if wants_unused and text is not None:

        first, last = result.summary.decorator_lines if result.summary is not None else (0, 0)
        for line, column, codes in unused_noqa(noqa_comments(text), used, set(enabled)):
            if first <= line <= last:
                continue  # the unit of work's own definition: its comments are left alone
            listed = ", ".join(codes)
            diagnostics.append(Diagnostic(
                result.path, Span(line, column, line, column), "DAO003", "unused-noqa",
                f"unused `# noqa: {listed}`: nothing here is reported under {'this code' if len(codes) == 1 else 'these codes'}", True,
            ))
    diagnostics = sorted(
        {(d.code, d.span): d for d in diagnostics}.values(),
        key=lambda d: (d.span.line, d.span.column, d.code),
    )
    return FileResult(result.path, tuple(diagnostics), result.parsed, result.internal_errors)


def _answered(finding: Diagnostic, found: Sequence[Diagnostic]) -> bool:
    """A cross-file finding inside a statement a file finding answers (`codes.ANSWERED_BY`)."""
    from .foundations.codes import ANSWERED_BY

    code = ANSWERED_BY.get(finding.code)
    where = (finding.span.line, finding.span.column)
    return code is not None and any(
        d.code == code and (d.span.line, d.span.column) <= where <= (d.span.end_line, d.span.end_column) for d in found
    )


def project_extras(results: List[FileResult], configs: dict, facts=None) -> dict:  # noqa: ANN001
    """Each summarised file's cross-file findings (commits in helpers, listeners registered
    elsewhere), before `# noqa` is applied: path -> diagnostics. `facts`: the project facts
    of these results' summaries, when the caller has them."""
    from .model.crossfile import ProjectFacts

    from .fix.planning import planned_findings

    summaries = [r.summary for r in results if r.summary is not None]
    if not summaries:
        return {}
    facts = facts if facts is not None else ProjectFacts(summaries)
    extras = {
        s.path: tuple(facts.diagnostics(s.path, set(configs[s.path].enabled_codes(s.path)))) for s in summaries
    }
    # which of the files' findings `fix` removes: the plans `fix` makes (one per project, with
    # its first file's configuration, as `fix` does), carried with the cross-file findings
    config = configs[summaries[0].path]
    planned = planned_findings(facts.index, config.enabled_codes(), config.transaction_decorator, config.rename)
    for path, marks in planned.items():
        if path in extras:
            extras[path] += tuple(Diagnostic(path, Span(l, c, l, c), code, FIX_MARK, kind) for (code, (l, c)), kind in sorted(marks.items()))
    return extras


def index_files(files: List[Tuple[str, Config]], jobs: Optional[int], progress=None):  # noqa: ANN001, ANN201
    """(each file's own result, in the order of `files`; the project facts): the project
    indexed as `check` and `fix` both do (dao_lint.indexing), without a cache."""
    results = check_all([(p, c, None) for p, c in files], jobs, progress)
    completed, facts = index_project(files, {p: r for (p, _), r in zip(files, results)}, jobs)
    return [completed[p] for p, _ in files], facts


def add_project_findings(results: List[FileResult], configs: dict, facts=None) -> List[FileResult]:  # noqa: ANN001
    """Merge the cross-file findings (commits in helpers, listeners registered elsewhere)."""
    extras = project_extras(results, configs, facts)
    out = []
    for r in results:
        source = r.summary.path if r.summary is not None else r.path
        config = configs.get(source) or configs.get(os.path.normpath(source))
        out.append(merge_findings(r, extras.get(source, ()), source, config) if config is not None else r)
    return out


def cache_directory(config: Config, override: Optional[str] = None) -> str:
    """Where results are cached: `--cache-dir`, else `.dao_lint_cache` at the configuration root."""
    from .running.cache import DEFAULT_DIRECTORY

    return override or os.path.join(config.root, DEFAULT_DIRECTORY)


def lint_paths(
    paths: Iterable[str],
    resolver: ConfigResolver,
    jobs: Optional[int] = None,
    cache: bool = False,
    cache_dir: Optional[str] = None,
    progress=None,  # noqa: ANN001 - (label, done, total) -> advance(n), as for `fix`
) -> List[FileResult]:
    """Check every file under `paths`; results are sorted by path whatever the scheduling.

    Findings are a property of the file and the project, never of the command line: the
    cross-file facts come from every file under each named file's configuration root (from
    the cache when warm), whichever paths were named; only the named files are reported.
    """
    forget_project_facts()
    named = collect_files(paths, resolver)
    files, shown = project_files(named, resolver)
    if not cache:
        files = attach_sessions(files, jobs)
        results, facts = index_files(files, jobs, progress)
        merged = {r.summary.path if r.summary is not None else p: r for r, (p, _) in zip(add_project_findings(results, dict(files), facts), files)}
    else:
        merged, _ = lint_project_cached(files, jobs, cache_dir, progress=progress)
    return sorted((merged[p] for p in shown), key=lambda r: r.path)


def project_files(named: List[Tuple[str, Config]], resolver: ConfigResolver) -> Tuple[List[Tuple[str, Config]], List[str]]:
    """(every file of the projects the named files belong to, the named ones among them as
    they appear in that list). A project is what its configuration root holds; a root below
    the current directory is walked by a relative path, as `check .` there would."""
    if not named:
        return [], []
    roots = []
    for path, config in named:
        root = os.path.abspath(config.root)
        if os.path.commonpath([root, os.path.abspath(path)]) != root:
            continue  # a file outside its configuration's tree (no configuration, elsewhere): itself only
        shown = os.path.relpath(root)
        walk = shown if not shown.startswith("..") else root
        if walk not in roots:
            roots.append(walk)
    files = list(collect_files(roots, resolver)) if roots else []
    where = {os.path.abspath(p): p for p, _ in files}
    shown_paths = []
    for path, config in named:
        found = where.get(os.path.abspath(path))
        if found is None:  # named explicitly though excluded (or outside its root): checked all the same
            files.append((path, config))
            where[os.path.abspath(path)] = found = path
        shown_paths.append(found)
    return files, shown_paths


def lint_files(files: List[Tuple[str, Config]], jobs: Optional[int] = None) -> List[FileResult]:
    """Check these files, each with its configuration, as one project (no cache)."""
    files = attach_sessions(files, jobs)
    results, facts = index_files(files, jobs)
    return sorted(add_project_findings(results, dict(files), facts), key=lambda r: r.path)


def lint_project_cached(files: List[Tuple[str, Config]], jobs: Optional[int], cache_dir: Optional[str], recorded_only: bool = False, progress=None) -> Optional[Tuple[dict, dict]]:  # noqa: ANN001
    """Check these files (a whole project, each file with its configuration) with the cache:
    the run record first, then per-file entries, then work; as `lint_paths` does for what
    it collected, and the editor integration for the buffer's project.

    Returns (path -> result, path -> digest of the content checked); with `recorded_only`,
    None unless the run record answers for every file.
    """
    import hashlib

    from .running.cache import ResultCache, RunEntry, RunRecord

    contents = {}
    for path, _ in files:
        try:
            with open(path, "rb") as handle:
                contents[path] = handle.read()
        except OSError:
            contents[path] = None
    digests = {p: hashlib.sha256(c).hexdigest() if c is not None else None for p, c in contents.items()}
    files = attach_sessions(files, jobs, lambda config: cache_directory(config, cache_dir), contents)
    configs = dict(files)
    record = RunRecord(cache_directory(files[0][1], cache_dir), files, digests) if files else None
    kept = {}  # path -> RunEntry still valid
    if record is not None:
        for path, config in files:
            entry = record.entry(path, config) if contents[path] is not None else None
            if entry is not None:
                kept[path] = entry
    if len(kept) == len(files):
        return {p: e.merged for p, e in kept.items()}, digests
    if recorded_only:
        return None  # (the caller has a better way to do the work)
    stores: dict = {}

    def own_results(paths: List[str]) -> dict:
        """Each file's own result: from the record's detail, the per-file cache, or a check."""
        found, missing = {}, []
        for path in paths:
            config = configs[path]
            result = record.own(path) if record is not None and path in kept else None
            if result is None and contents[path] is not None:
                where = cache_directory(config, cache_dir)
                store = stores.setdefault(where, ResultCache(where))
                cached = store.get(path, contents[path], config)
                if cached is not None and (cached.summary is not None or not cached.parsed):
                    result = shown_as(rehomed(cached, path), display_path(path))
            if result is not None:
                found[path] = result
            else:
                missing.append((path, config, cache_directory(config, cache_dir)))
        for result, (path, _, _) in zip(check_all(missing, jobs, progress), missing):
            found[path] = result
        return found

    changed = [p for p, _ in files if p not in kept]
    own = own_results(changed)
    shapes = {p: shape_of(own[p]) for p in changed}
    previous = record.entries if record is not None else {}
    names = record.names if record is not None else None
    same_files = set(previous) == set(configs) and all(isinstance(previous[p], RunEntry) for p in changed)
    # a changed file no rule looks at, that calls a function the index knows to commit,
    # needs a summary now: the index is built again
    calls_committing = names is None or any(_unsummarised_call(own[p], contents[p], names) for p in changed)
    detail = None
    if same_files and not calls_committing and all(previous[p].summary == shapes[p].key for p in changed):
        # no summary changed: every file's cross-file findings are what they were
        extras = {p: previous[p].extras for p in configs}
    elif same_files and not calls_committing and all(previous[p].structure == shapes[p].structure is not None and previous[p].slots is not None for p in changed):
        # only positions moved (lines inserted or removed): the other files' cross-file
        # findings do not depend on them, and a changed file's move with its summary
        extras = {p: previous[p].extras for p in configs}
        for p in changed:
            extras[p] = shapes[p].moved(previous[p].extras, previous[p].slots)
    else:
        own.update(own_results([p for p in configs if p in kept]))
        own, facts = index_project(files, own, jobs, lambda config: cache_directory(config, cache_dir))
        own = {p: shown_as(r, display_path(p)) for p, r in own.items()}
        for p in changed:
            shapes[p] = shape_of(own[p])
        detail = own
        names = frozenset(facts.committing_names())
        raw = project_extras(list(own.values()), configs, facts)
        extras = {p: raw.get(p, ()) for p in configs}
    entries = {}
    for path, _ in files:
        entry = kept.get(path)
        if entry is not None and entry.extras == extras[path]:
            entries[path] = entry
            continue
        result = own[path]
        merged = merge_findings(result, extras[path] if result.summary is not None else (), path, configs[path], contents[path])
        if contents[path] is not None and not result.internal_errors:
            shape = shapes.get(path) or shape_of(result)
            slots = shape.slots(extras[path]) if result.summary is not None else ()
            entries[path] = RunEntry(digests[path], merged, result.nested, shape.key, extras[path], shape.structure, slots)
        else:
            entries[path] = RunEntry("", merged, None, None, ())  # reported, never reused
    if record is not None:
        record.save({p: e for p, e in entries.items() if e.digest}, detail, names)
    return {p: e.merged for p, e in entries.items()}, digests


def _unsummarised_call(result: FileResult, content: Optional[bytes], names) -> bool:  # noqa: ANN001
    """A file without a summary (no rule looks at it) that names a committing function."""
    if result.summary is not None or result.parsed or result.diagnostics or content is None or not names:
        return False
    from .running.indexing import calls_of

    return calls_of(names).search(content) is not None


def shape_of(result: FileResult):  # noqa: ANN201 - a dao_lint.cache.SummaryShape
    """The result's summary shape: made by the worker that checked the file, else here."""
    from .running.cache import SummaryShape

    return result.shape if result.shape is not None else SummaryShape.of(result.summary)


def fix_paths(paths: Iterable[str], resolver: ConfigResolver, *, unsafe: bool = False, write: bool = True, jobs: Optional[int] = None, progress=None, cache: bool = True, cache_dir: Optional[str] = None, on_wait=None):  # noqa: ANN001, ANN201
    """Fix every file under `paths` as one project; returns a FixReport (see dao_lint.fixer).

    Two `fix` runs on one project do not interleave: the second waits for the first (and
    calls `on_wait()` once when it has to), then sees the files as the first left them.
    """
    from .running.cache import locked

    paths = list(paths)
    if not write:
        return _fix_paths(paths, resolver, unsafe, write, jobs, progress, cache, cache_dir)
    import hashlib
    import tempfile

    # the lock lives outside the tree (nothing to clean up, works with --no-cache)
    root = os.path.abspath(resolver.for_path(paths[0] if paths else ".").root)
    name = f"dao-lint-fix-{hashlib.sha256(root.encode()).hexdigest()[:16]}.lock"
    with locked(tempfile.gettempdir(), on_wait, name=name):
        return _fix_paths(paths, resolver, unsafe, write, jobs, progress, cache, cache_dir)


def _fix_paths(paths, resolver, unsafe, write, jobs, progress, cache, cache_dir):  # noqa: ANN001, ANN202
    from .running.cache import ResultCache
    from .foundations.codes import NEEDS_DECORATOR
    from .fix.fixer import fix_files

    forget_project_facts()
    named_files = collect_files(paths, resolver)
    files, shown = project_files(named_files, resolver)
    named = set(shown)
    where = (lambda config: cache_directory(config, cache_dir)) if cache else None
    files = attach_sessions(files, jobs, where)
    report = fix_files(files, unsafe=unsafe, write=write, jobs=jobs or os.cpu_count() or 1, progress=progress, cache_dir=where, named=named)
    # what is left: check the files as they are now (or would be, with --diff)
    after = {f.path: f.after for f in report.files if f.after is not None and f.error is None}
    changed = [(path, config, after[path]) for path, config in files if path in after]
    checked = dict(zip((p for p, _, _ in changed), map_in_processes(_check_fixed, changed, jobs)))
    own = {}
    for path, config in files:
        if path in checked:
            own[path] = shown_as(checked[path], display_path(path))
        else:
            own[path] = lint_file(path, config, summarize=True, cache=ResultCache(where(config)) if where else None)
    configs = dict(files)
    own, facts = index_project(files, own, jobs, where)
    extras = project_extras(list(own.values()), configs, facts)  # the whole check, cross-file findings too
    for path, config in files:
        if path not in named:
            continue  # what is left is reported for the named files only
        result = own[path]
        source = result.summary.path if result.summary is not None else path
        merged = merge_findings(result, extras.get(source, ()), path, config, after.get(path))
        report.remaining.extend(merged.diagnostics)
        if unsafe and config.transaction_decorator is None:
            report.undecorated.update(d.code for d in merged.diagnostics if d.code in NEEDS_DECORATOR)
    from .fix.fixer import fix_unused_noqa

    fix_unused_noqa(report, {p: c for p, c in files if p in named}, write)
    report.findings_fixed = _findings_fixed(report, files, named, unsafe)
    return report


def _findings_fixed(report, files: List[Tuple[str, Config]], named: set, unsafe: bool) -> Counter:  # noqa: ANN001
    """code -> the findings of the named files that `fix` promised (`check` marks them, with
    the same plans) and that are gone now: what the run reports as fixed, never an edit
    count (a boundary decorated is no finding of its own)."""
    from .foundations.codes import fix_kind

    results, facts = report.indexed
    configs = dict(files)
    before = {f.path: f.before for f in report.files}
    extras = project_extras(list(results.values()), configs, facts)
    promised: Counter = Counter()
    found: Counter = Counter()
    allowed = ("safe", "unsafe") if unsafe else ("safe",)
    for path, config in files:
        if path not in named or path not in results:
            continue
        result = results[path]
        source = result.summary.path if result.summary is not None else path
        for d in merge_findings(result, extras.get(source, ()), path, config, before.get(path)).diagnostics:
            found[d.code] += 1
            if fix_kind(d.code, d.fixable, unsafe_fix=d.unsafe_fix) in allowed:
                promised[d.code] += 1
    left = Counter(d.code for d in report.remaining)
    return Counter({code: min(count, found[code] - left[code]) for code, count in promised.items() if found[code] > left[code]})


def _check_fixed(item: Tuple[str, Config, bytes]) -> FileResult:
    """A fixed file's own result, from its new content (with a summary whatever the text:
    the index must not go back to the file on disk, unchanged under `--diff`)."""
    path, config, content = item
    return check_source(content, path, config, project_nested=lambda: project_uses_begin_nested(config), summarize=True, summarize_always=True)
