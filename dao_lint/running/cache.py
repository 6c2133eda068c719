"""Per-file results on disk, keyed by content, dao-lint version, configuration and codes.

A cache entry holds a file's diagnostics and its project summary, so a warm run parses
nothing and the cross-file phase still sees every file. Entries are written atomically;
anything unreadable is a miss. The directory carries a `.gitignore` so it is never committed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import pickle
import re
import shutil
from typing import Optional, Sequence, Tuple

from ..foundations.config import Config
from ..foundations.files import write_atomic
from ..foundations.types import Diagnostic, FileResult, Span
from ..version import __version__

__all__ = ["ResultCache", "DEFAULT_DIRECTORY", "clean"]

DEFAULT_DIRECTORY = ".dao_lint_cache"
_FORMAT = 1


_CODE: list = []


def code_fingerprint() -> str:
    """dao-lint's own source files (names, sizes, times): a changed rule is a changed key even
    without a version bump, which matters for editable installs and for our own tests."""
    if not _CODE:
        package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # dao_lint/, from running/
        entries = []
        for directory, _, files in os.walk(package):
            for name in sorted(files):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(directory, name))
                    entries.append(f"{os.path.relpath(os.path.join(directory, name), package)}:{stat.st_size}:{stat.st_mtime_ns}")
        _CODE.append(hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest())
    return _CODE[0]


_KEYS: dict = {}  # id(config) -> (config, key): configurations are shared and immutable


def _config_key(config: Config) -> str:

    known = _KEYS.get(id(config))
    if known is not None and known[0] is config:
        return known[1]
    identity = (_FORMAT, __version__, code_fingerprint(), config, sorted(config.enabled_codes()))
    key = hashlib.sha256(repr(identity).encode()).hexdigest()
    if len(_KEYS) > 256:  # a long-lived process checking many projects
        _KEYS.clear()
    _KEYS[id(config)] = (config, key)
    return key


_MADE: set = set()  # directories this process knows exist


def prepare_directory(directory: str, top: str) -> None:
    """Make `directory` (inside the cache directory `top`, which gets a .gitignore)."""
    if directory in _MADE:
        return
    os.makedirs(directory, exist_ok=True)
    ignore = os.path.join(top, ".gitignore")
    if not os.path.exists(ignore):
        write_atomic(ignore, b"# created by dao-lint\n*\n")
    _MADE.add(directory)


class ResultCache:
    """`get`/`put` FileResults for (path, content) under one configuration."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def _entry(self, path: str, content: bytes, config: Config) -> str:
        key = _config_key(config)
        digest = hashlib.sha256(key.encode() + b"\0" + os.path.abspath(path).encode() + b"\0" + content).hexdigest()
        return os.path.join(self.directory, digest[:2], digest + ".pickle")

    def get(self, path: str, content: bytes, config: Config) -> Optional[FileResult]:
        try:
            with open(self._entry(path, content, config), "rb") as handle:
                result = pickle.load(handle)
        except Exception:  # missing, truncated, from another version: all the same, a miss
            return None
        if not isinstance(result, FileResult) or not still_valid(result.nested, config, self):
            return None
        return result

    def put(self, path: str, content: bytes, config: Config, result: FileResult) -> None:
        entry = self._entry(path, content, config)
        try:
            prepare_directory(os.path.dirname(entry), self.directory)
            write_atomic(entry, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), durable=False)
        except OSError:
            _MADE.clear()  # removed under us (`dao-lint clean`)? make it again next time  # a read-only tree still gets its results, just not cached


def still_valid(nested: object, config: Config, cache: Optional["ResultCache"] = None) -> bool:
    """Whether the project fact a result depended on (`nested`: whether some file uses
    `begin_nested()`, for DAO112; None when it did not ask) still holds: it can change
    without the file itself changing."""
    if nested is None:
        return True
    from .savepoint_use import project_uses_begin_nested

    return project_uses_begin_nested(config, cache) == nested


@contextlib.contextmanager
def locked(directory: str, on_wait=None, name: str = ".lock"):  # noqa: ANN001, ANN201
    """Hold an exclusive lock on a file in `directory` (best effort: no lock where
    unsupported); `on_wait()` is called once if another process holds it."""
    handle = None
    try:
        os.makedirs(directory, exist_ok=True)
        handle = open(os.path.join(directory, name), "a+b")
        import fcntl

        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    except (OSError, ImportError):
        pass
    try:
        yield
    finally:
        if handle is not None:
            handle.close()  # closing releases the lock


def clean(directory: str) -> bool:
    """Remove a cache directory; True when there was one."""
    _MADE.clear()
    if os.path.isdir(directory):
        shutil.rmtree(directory, ignore_errors=True)
        return True
    return False


_POSITION = re.compile(r"\((\d+), (\d+)\)|(commit_parameter_line=)(\d+)")


@dataclasses.dataclass(frozen=True)
class SummaryShape:
    """A summary's digest (of its repr: summaries hold dataclasses, strings, numbers, lists,
    tuples and insertion-ordered dicts, no sets, so equal summaries have equal reprs in every
    process; a pickle would not, it depends on which strings are shared), the digest of its structure (the same summary with every
    position blanked) and its positions in order: an edit that only moves lines keeps the
    structure, and the n-th position of the old summary is the n-th of the new one."""

    key: Optional[str]
    structure: Optional[str]
    positions: Tuple[Tuple[int, int], ...]

    @classmethod
    def of(cls, summary: object) -> "SummaryShape":
        if summary is None:
            return cls(None, None, ())
        text = repr(summary)
        positions = tuple(
            (int(m.group(1)), int(m.group(2))) if m.group(1) is not None else (int(m.group(4)), -1)
            for m in _POSITION.finditer(text)
        )
        blank = _POSITION.sub("_", text)
        return cls(hashlib.sha256(text.encode()).hexdigest(), hashlib.sha256(blank.encode()).hexdigest(), positions)

    def slots(self, diagnostics: Sequence[Diagnostic]) -> Optional[tuple]:
        """For each diagnostic, the indexes of its start and end among the positions (None
        when one is not a position of the summary: then it cannot be carried over)."""
        index = {}
        for number, position in enumerate(self.positions):
            index.setdefault(position, number)
        out = []
        for d in diagnostics:
            start, end = index.get((d.span.line, d.span.column)), index.get((d.span.end_line, d.span.end_column))
            if start is None or end is None:
                return None
            out.append((start, end))
        return tuple(out)

    def moved(self, diagnostics: Sequence[Diagnostic], slots: tuple) -> tuple:
        """The diagnostics at the positions their slots name in this summary."""
        out = []
        for d, (start, end) in zip(diagnostics, slots):
            (line, column), (end_line, end_column) = self.positions[start], self.positions[end]
            out.append(dataclasses.replace(d, span=Span(line, column, end_line, end_column)))
        return tuple(out)


@dataclasses.dataclass(frozen=True)
class RunEntry:
    """What the last run recorded for one file."""

    digest: str  # of the content
    merged: FileResult  # what was reported: own findings plus cross-file ones
    nested: object  # the begin_nested() answer the result depended on, if any (DAO112)
    summary: Optional[str]  # the digest of the file's summary (SummaryShape.key)
    extras: tuple  # its cross-file findings before `# noqa`
    structure: Optional[str] = None  # the summary's structure digest (SummaryShape)
    slots: Optional[tuple] = None  # where the extras sit among the summary's positions


_NAMES_KEY = ""  # (no file is called that) the record's committing names


class RunRecord:
    """The outcome of the last run over the same files.

    `run-<key>.pickle` holds a RunEntry per file: a run whose files all have the same
    digests is answered from it alone; when a few files changed and their summaries did
    not, the others' results and every file's cross-file findings are reused as they are.
    `run-<key>.detail.pickle` holds each file's own result with its summary, for the
    runs where a summary changed and the project index must be built again.
    """

    KEEP = 8  # records of other file sets (other paths, other working directories) kept

    def __init__(self, directory: str, files, digests) -> None:  # noqa: ANN001
        self.directory = directory
        identity = (
            _FORMAT,
            os.getcwd(),  # results carry paths as displayed from here
            [(os.path.abspath(path), _config_key(config)) for path, config in files],
        )
        name = hashlib.sha256(repr(identity).encode()).hexdigest()[:32]
        self.path = os.path.join(directory, f"run-{name}.pickle")
        self.detail_path = os.path.join(directory, f"run-{name}.detail.pickle")
        self.digests = digests
        # the record may have been written by a run that named the same files another way
        # (`check .` lists `app/x.py`, the flake8 plugin `/abs/app/x.py`): its paths are
        # read as this run's own
        self._ours = {os.path.abspath(path): path for path, _ in files}
        stored = self._load(self.path)
        #: the names of the functions the last index found to commit (None: not known)
        self.names = stored.pop(_NAMES_KEY, None)
        self.entries: dict = self._as_ours(stored)
        self._detail: Optional[dict] = None

    def _as_ours(self, stored: dict) -> dict:
        return {self._ours.get(os.path.abspath(path), path): value for path, value in stored.items()}

    @staticmethod
    def _load(path: str) -> dict:
        try:
            with open(path, "rb") as handle:
                entries = pickle.load(handle)
            return entries if isinstance(entries, dict) else {}
        except Exception:  # noqa: BLE001 - none yet, or damaged: no record
            return {}

    def entry(self, path: str, config: Config) -> Optional[RunEntry]:
        """The entry for `path` when its content (and the project fact it used) is the same."""
        entry = self.entries.get(path)
        if not isinstance(entry, RunEntry) or entry.digest != self.digests.get(path):
            return None
        if not still_valid(entry.nested, config, ResultCache(self.directory)):
            return None
        return entry

    def own(self, path: str) -> Optional[FileResult]:
        """The file's own result (with summary) from the detail, when its content is the same."""
        if self._detail is None:
            self._detail = self._as_ours(self._load(self.detail_path))
        found = self._detail.get(path)
        return found[1] if found is not None and found[0] == self.digests.get(path) else None

    def save(self, entries: dict, own: Optional[dict] = None, names=None) -> None:  # noqa: ANN001
        """Write the entries (path -> RunEntry), the committing functions' names and, when
        given, the detail (path -> own result)."""
        if names is not None:
            entries = {**entries, _NAMES_KEY: frozenset(names)}
        try:
            prepare_directory(self.directory, self.directory)
            if own is not None:
                detail = {p: (self.digests[p], result) for p, result in own.items() if p in entries}
                write_atomic(self.detail_path, pickle.dumps(detail, protocol=pickle.HIGHEST_PROTOCOL), durable=False)
            write_atomic(self.path, pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL), durable=False)
            others = sorted(
                (entry.stat().st_mtime, entry.path)
                for entry in os.scandir(self.directory)
                if entry.name.startswith("run-") and not entry.name.endswith(".detail.pickle") and entry.path != self.path
            )
            for _, stale in others[: max(0, len(others) - self.KEEP)]:
                os.unlink(stale)
                with contextlib.suppress(OSError):
                    os.unlink(stale[: -len(".pickle")] + ".detail.pickle")
        except OSError:
            _MADE.clear()  # read-only, or removed under us: the next run does the work again
