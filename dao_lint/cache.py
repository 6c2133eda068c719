"""Per-file results on disk, keyed by content, dao-lint version, configuration and codes.

A cache entry holds a file's diagnostics and its project summary, so a warm run parses
nothing and the cross-file phase still sees every file. Entries are written atomically;
anything unreadable is a miss. The directory carries a `.gitignore` so it is never committed.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
from typing import Optional

from .config import Config
from .files import write_atomic
from .types import FileResult

__all__ = ["ResultCache", "DEFAULT_DIRECTORY", "clean"]

DEFAULT_DIRECTORY = ".dao_lint_cache"
_FORMAT = 1


_CODE: list = []


def _code_fingerprint() -> str:
    """dao-lint's own source files (names, sizes, times): a changed rule is a changed key even
    without a version bump, which matters for editable installs and for our own tests."""
    if not _CODE:
        package = os.path.dirname(os.path.abspath(__file__))
        entries = []
        for directory, _, files in os.walk(package):
            for name in sorted(files):
                if name.endswith(".py"):
                    stat = os.stat(os.path.join(directory, name))
                    entries.append(f"{os.path.relpath(os.path.join(directory, name), package)}:{stat.st_size}:{stat.st_mtime_ns}")
        _CODE.append(hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest())
    return _CODE[0]


def _config_key(config: Config) -> str:
    from . import __version__

    identity = (_FORMAT, __version__, _code_fingerprint(), config, sorted(config.enabled_codes()))
    return hashlib.sha256(repr(identity).encode()).hexdigest()


class ResultCache:
    """`get`/`put` FileResults for (path, content) under one configuration."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._keys: dict = {}

    def _entry(self, path: str, content: bytes, config: Config) -> str:
        key = self._keys.get(id(config))
        if key is None:
            key = self._keys[id(config)] = _config_key(config)
        digest = hashlib.sha256(key.encode() + b"\0" + os.path.abspath(path).encode() + b"\0" + content).hexdigest()
        return os.path.join(self.directory, digest[:2], digest + ".pickle")

    def get(self, path: str, content: bytes, config: Config) -> Optional[FileResult]:
        try:
            with open(self._entry(path, content, config), "rb") as handle:
                result = pickle.load(handle)
        except Exception:  # missing, truncated, from another version: all the same, a miss
            return None
        if not isinstance(result, FileResult) or not still_valid(result, config, self):
            return None
        return result

    def put(self, path: str, content: bytes, config: Config, result: FileResult) -> None:
        entry = self._entry(path, content, config)
        try:
            os.makedirs(os.path.dirname(entry), exist_ok=True)
            ignore = os.path.join(self.directory, ".gitignore")
            if not os.path.exists(ignore):
                write_atomic(ignore, b"# created by dao-lint\n*\n")
            write_atomic(entry, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # a read-only tree still gets its results, just not cached


def still_valid(result: FileResult, config: Config, cache: Optional["ResultCache"] = None) -> bool:
    """Whether the project fact a result depended on (some file uses `begin_nested()`, for
    DAO112) still holds: it can change without the file itself changing."""
    if result.nested is None:
        return True
    from .api import project_uses_begin_nested

    return project_uses_begin_nested(config, cache) == result.nested


@contextlib.contextmanager
def locked(directory: str):  # noqa: ANN201
    """Hold an exclusive lock on the cache directory (best effort: no lock where unsupported)."""
    handle = None
    try:
        os.makedirs(directory, exist_ok=True)
        handle = open(os.path.join(directory, ".lock"), "a+b")
        import fcntl

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
    if os.path.isdir(directory):
        shutil.rmtree(directory, ignore_errors=True)
        return True
    return False


class RunRecord:
    """The outcome of the last run over the same files, in one file: per file the content
    digest, its own result (with summary), its cross-file findings before `# noqa` and the
    merged result. A run whose files all have the same digests is answered from it without
    loading the per-file entries or rebuilding the project index; a run with a few changed
    files reuses the rest, and the cross-file findings too when no summary changed."""

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
        self.digests = digests
        self.entries: dict = {}
        try:
            with open(self.path, "rb") as handle:
                entries = pickle.load(handle)
            if isinstance(entries, dict):
                self.entries = entries
        except Exception:  # noqa: BLE001 - none yet, or damaged: no record
            self.entries = {}

    def unchanged(self, path: str, config: Config) -> Optional[tuple]:
        """(result, extras, merged) recorded for `path` when its content is the same."""
        entry = self.entries.get(path)
        if entry is not None and entry[0] == self.digests.get(path) and still_valid(entry[1], config, ResultCache(self.directory)):
            return entry[1:]
        return None

    def save(self, entries: dict) -> None:
        """Write the record (path -> (digest, result, extras, merged)); keep the newest others."""
        try:
            os.makedirs(self.directory, exist_ok=True)
            ignore = os.path.join(self.directory, ".gitignore")
            if not os.path.exists(ignore):
                write_atomic(ignore, b"# created by dao-lint\n*\n")
            write_atomic(self.path, pickle.dumps(entries, protocol=pickle.HIGHEST_PROTOCOL))
            others = sorted(
                (entry.stat().st_mtime, entry.path)
                for entry in os.scandir(self.directory)
                if entry.name.startswith("run-") and entry.path != self.path
            )
            for _, stale in others[: max(0, len(others) - self.KEEP)]:
                os.unlink(stale)
        except OSError:
            pass  # read-only: the next run just does the work again
