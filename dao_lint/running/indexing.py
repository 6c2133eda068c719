"""Checking every file of a project for its own findings and the summaries the project
index needs, over processes and through the cache; `check` and `fix` both index this way.

A file gets a summary when some rule could look at it, and also, until nothing changes,
when it calls (by name) a function the index found to commit: a call of a committing
function is a commit wherever it is written, whatever else the file says.
"""
from __future__ import annotations

import dataclasses
import os
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..foundations.config import Config
from .discovery import display_path
from .savepoint_use import project_uses_begin_nested
from ..foundations.types import FileResult
from .workers import map_in_processes

__all__ = ["shown_as", "check_source", "lint_file", "rehomed", "check_all", "index_project", "calls_of"]

_ROUNDS = 4


def shown_as(result: FileResult, shown: str) -> FileResult:
    """The same result reported under another path (diagnostics included)."""
    if result.path == shown and all(d.path == shown for d in result.diagnostics):
        return result
    return dataclasses.replace(
        result, path=shown, diagnostics=tuple(dataclasses.replace(d, path=shown) for d in result.diagnostics)
    )


def check_source(*args, **kwargs) -> FileResult:  # noqa: ANN002, ANN003
    """`dao_lint.engine.check_source`, imported on first use: a run answered from the cache
    never imports the parser."""
    from ..checking.engine import check_source as check

    return check(*args, **kwargs)


def lint_file(path: str, config: Config, summarize: bool = False, cache=None, summarize_always: bool = False) -> FileResult:  # noqa: ANN001
    """Read and check one file; a file that cannot be read is a DAO002 diagnostic.

    With `summarize`, the result carries the file's summary for the project index where a
    rule could look at the file (with `summarize_always`, whatever its text). With a `cache`
    (dao_lint.cache.ResultCache), a file whose content, configuration and codes are
    unchanged is not parsed again.
    """
    shown = display_path(path)
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        from ..checking.engine import _tool

        if "DAO002" not in config.enabled_codes(path):
            return FileResult(shown)
        return FileResult(shown, (_tool(shown, "DAO002", f"cannot read file: {exc.strerror}"),))
    cached = cache.get(path, source, config) if cache is not None else None
    if cached is not None and (cached.summary is not None or not summarize or (not cached.parsed and not summarize_always)):
        result = rehomed(cached, path)
    else:
        result = check_source(
            source, path, config, project_nested=lambda: project_uses_begin_nested(config, cache), summarize=summarize,
            summarize_always=summarize_always,
        )
        if result.summary is not None:
            from .cache import SummaryShape

            result = dataclasses.replace(result, shape=SummaryShape.of(result.summary))
        if cache is not None and not result.internal_errors and (result.parsed or result.diagnostics):
            # (a file no rule can match is answered again faster than a cache entry is written)
            cache.put(path, source, config, result)
    return shown_as(result, shown)


def rehomed(cached: FileResult, path: str) -> FileResult:
    """A cached result for `path`: an entry filled from another directory names the file
    another way in its summary (and so in its shape, which is dropped)."""
    if cached.summary is None or cached.summary.path == path:
        return cached
    cached.summary.path = path
    return dataclasses.replace(cached, shape=None)


def _check_one(item: Tuple[str, Config, Optional[str]]) -> FileResult:
    from .cache import ResultCache

    path, config, cache_dir = item[:3]
    always = len(item) > 3 and item[3]
    return lint_file(path, config, summarize=True, cache=ResultCache(cache_dir) if cache_dir else None, summarize_always=always)


def check_all(items: List[tuple], jobs: Optional[int], progress=None) -> List[FileResult]:  # noqa: ANN001
    """Each file's own result with its summary, over processes: items are (path, config,
    cache directory or None[, summarise whatever the text])."""
    step = progress("checking", 0, len(items)) if progress is not None and len(items) >= 16 else None
    return map_in_processes(_check_one, items, jobs, step, weights=[_size(item[0]) for item in items])


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def calls_of(names) -> "re.Pattern[bytes]":  # noqa: ANN001
    """A pattern for a use of any of `names` in a file's text other than its definition:
    a call (`note(x)`, `.save()`), or the function handed on as a value (a callback), which
    `fix` must count as a caller."""
    alternatives = b"|".join(re.escape(n.encode()) for n in sorted(names))
    return re.compile(rb"(?<!def )(?<!def  )\b(?:" + alternatives + rb")\b")


def index_project(
    files: Sequence[Tuple[str, Config]], results: Dict[str, FileResult], jobs: Optional[int],
    cache_dir: Optional[Callable[[Config], str]] = None,
):  # noqa: ANN201 - (results, dao_lint.crossfile.ProjectFacts)
    """Complete `results` (path -> the file's own result, for every file of `files`) with
    the summaries of files no rule looks at that call a committing function; returns the
    results and the project facts of the completed index."""
    from ..model.crossfile import ProjectFacts

    results = dict(results)
    asked: set = set()
    for _ in range(_ROUNDS):
        facts = ProjectFacts([r.summary for r in results.values() if r.summary is not None])
        names = sorted(facts.committing_names() - asked)
        if not names:
            return results, facts
        asked.update(names)
        pattern = calls_of(names)
        pending = []
        for path, config in files:
            found = results.get(path)
            if found is None or found.summary is not None or found.parsed or found.diagnostics:
                continue  # summarised, or a file that does not parse or read
            try:
                with open(path, "rb") as handle:
                    if pattern.search(handle.read()) is None:
                        continue
            except OSError:
                continue
            pending.append((path, config, cache_dir(config) if cache_dir else None, True))
        if not pending:
            return results, facts
        for item, result in zip(pending, check_all(pending, jobs)):
            results[item[0]] = result
    return results, ProjectFacts([r.summary for r in results.values() if r.summary is not None])
