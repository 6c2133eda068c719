"""Checking one file at a time, as an editor does through the flake8 plugin: answers from
a run over the whole configuration root (cached), so that a file's findings are the same
as in `dao-lint check` of the project."""
from __future__ import annotations

import dataclasses
import os
from typing import List, Optional

from ..api import lint_project_cached, cache_directory, lint_file, merge_findings
from ..running.indexing import index_project
from ..running.session_index import attach_sessions
from ..foundations.config import Config, ConfigResolver
from ..running.discovery import PathError, collect_files
from ..foundations.types import Diagnostic, FileResult

__all__ = ["project_findings", "project_result", "buffer_result", "without_baselined"]


_PROJECTS: dict = {}


def project_findings(path: str, config: Config) -> List[Diagnostic]:
    """Cross-file findings for one file, with the project being its configuration root.

    Used where files are checked one at a time (the flake8 plugin): the root is indexed
    once per process, then every file asks it.
    """
    from ..model.crossfile import ProjectFacts

    root = os.path.abspath(config.root)
    if root not in _FACTS:
        _FACTS[root] = ProjectFacts(_project_summaries(config))
    return _FACTS[root].diagnostics(os.path.normpath(os.path.abspath(path)), set(config.enabled_codes(path)))


_FACTS: dict = {}
_MODELS: dict = {}  # configuration root -> its session model


def _project_summaries(config: Config) -> list:
    """The summaries of every file under the configuration root (once per process)."""
    root = os.path.abspath(config.root)
    if root not in _PROJECTS:
        try:
            files = collect_files([root], ConfigResolver())
        except PathError:
            files = []
        from ..running.cache import ResultCache, locked

        store = ResultCache(cache_directory(config))
        # flake8's workers all need the index: the first builds it (filling the cache) while
        # the others wait, then read the cache instead of parsing the project again
        with locked(store.directory):
            files = attach_sessions(files, None, cache_directory)
            if files:
                _MODELS[root] = files[0][1].project_sessions
            own = {p: lint_file(p, c, summarize=True, cache=store) for p, c in files}
            own, _ = index_project(files, own, None, cache_directory)  # (the same index as `check`'s)
            _PROJECTS[root] = [r.summary for r in own.values() if r.summary is not None]
    return _PROJECTS[root]


def buffer_result(path: str, config: Config, text: str) -> FileResult:
    """An editor's buffer checked as that file of the project: its own findings, the
    cross-file ones computed with the buffer's summary in place of the saved file's (so at
    the buffer's lines, and including what the buffer's own calls cause), `# noqa` applied
    and DAO003 for the comments that silence nothing."""
    from ..model.crossfile import ProjectFacts
    from ..checking.engine import check_source
    from ..running.savepoint_use import project_uses_begin_nested

    summaries = _project_summaries(config)
    model = _MODELS.get(os.path.abspath(config.root))
    if model is not None:  # the buffer is a file of the project: the project's sessions
        config = dataclasses.replace(config, project_sessions=model)
    own = check_source(text, path, config, project_nested=lambda: project_uses_begin_nested(config), summarize=True, summarize_always=True)
    extras: tuple = ()
    if own.summary is not None:
        here = os.path.normpath(os.path.abspath(path))
        own.summary.path = here
        others = [s for s in summaries if os.path.normpath(s.path) != here]
        extras = tuple(ProjectFacts([*others, own.summary]).diagnostics(here, set(config.enabled_codes(path))))
    return merge_findings(own, extras, path, config, text.encode("utf-8"))


def without_baselined(path: str, config: Config, text: str, diagnostics: List[Diagnostic]) -> List[Diagnostic]:
    """The findings the configured baseline does not know (an editor shows what is new)."""
    from ..running.baseline import Baseline, BaselineError, entries_for

    if not config.baseline or not diagnostics:
        return diagnostics
    try:
        baseline = Baseline.load(os.path.join(config.root, config.baseline))
    except BaselineError:
        return diagnostics
    entries = entries_for(path, baseline.relative(path), diagnostics, source=text)
    covered, _ = baseline.split(dict(zip(diagnostics, entries)))
    return [d for d in diagnostics if d not in covered]


_RESULTS: dict = {}


def project_result(path: str, config: Config, text: str) -> Optional[FileResult]:
    """The result of checking the whole configuration root, for one of its files, when
    `text` is that file's content on disk; None otherwise (not in the project, or edited).

    Used where files are checked one at a time (the flake8 plugin): the project is checked
    once per process, through the cache, under a lock, so that of several flake8 workers
    the first does the work and the others read what it recorded.
    """
    import hashlib
    import multiprocessing

    from ..running.cache import locked
    from ..foundations.files import DecodeFailure, decode_source

    root = os.path.abspath(config.root)
    if root not in _RESULTS:
        try:
            files = collect_files([root], ConfigResolver())
        except PathError:
            files = []
        with locked(cache_directory(config)):
            answer = lint_project_cached(files, None, None, recorded_only=True) if files else ({}, {})
            if answer is None and multiprocessing.current_process().daemon:
                # a flake8 worker is a daemon process, which may not start worker processes:
                # a `dao-lint check` of the root fills the cache with all cores instead (the
                # same files, configuration and directory, so the same run record)
                import subprocess
                import sys

                subprocess.run(
                    [sys.executable, "-m", "dao_lint", "check", root, "-q", "--exit-zero"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                )
            results, digests = answer if answer is not None else lint_project_cached(files, None, None)
        _RESULTS[root] = {os.path.abspath(p): (digests[p], results[p]) for p in results}
    known = _RESULTS[root].get(os.path.abspath(path))
    if known is None or known[0] is None:
        return None
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        on_disk, _ = decode_source(source)
    except (OSError, DecodeFailure):
        return None
    if hashlib.sha256(source).hexdigest() != known[0] or on_disk.replace("\r\n", "\n").replace("\r", "\n") != text.replace("\r\n", "\n").replace("\r", "\n"):
        return None
    return known[1]
