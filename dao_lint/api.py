"""The library interface: check source, files or paths; returns values, never prints."""
from __future__ import annotations

import os
import subprocess
from concurrent.futures import ProcessPoolExecutor
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from .config import Config, ConfigResolver
from .engine import check_source
from .types import Diagnostic, FileResult

__all__ = ["lint_source", "lint_file", "lint_paths", "collect_files", "PathError", "display_path"]


class PathError(Exception):
    """A path given to check does not exist."""


def display_path(path: str) -> str:
    """`path` relative to the current directory when below it, else absolute; POSIX separators."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute)
    except ValueError:
        return absolute
    shown = absolute if rel.startswith("..") else rel
    return shown.replace(os.sep, "/")


def lint_source(source: Union[str, bytes], path: str = "example.py", config: Optional[Config] = None) -> List[Diagnostic]:
    """Check in-memory source as if it lived at `path`; returns its diagnostics."""
    return list(check_source(source, path, config or Config()).diagnostics)


def lint_file(path: str, config: Config) -> FileResult:
    """Read and check one file; a file that cannot be read is a DAO002 diagnostic."""
    shown = display_path(path)
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        from .engine import _tool

        if "DAO002" not in config.enabled_codes(path):
            return FileResult(shown)
        return FileResult(shown, (_tool(shown, "DAO002", f"cannot read file: {exc.strerror}"),))
    result = check_source(source, path, config, project_nested=lambda: project_uses_begin_nested(config))
    if shown == path:
        return result
    return FileResult(
        shown,
        tuple(d.__class__(shown, d.span, d.code, d.name, d.message, d.fixable, d.noqa_lines) for d in result.diagnostics),
        result.parsed,
        result.internal_errors,
    )


def _git_ignored(root: str, candidates: Sequence[str]) -> set:
    """The candidates that git ignores, when `root` is inside a work tree (else none)."""
    if not candidates:
        return set()
    try:
        top = subprocess.run(
            ["git", "-C", root, "rev-parse", "--show-toplevel"],
            capture_output=True, text=True, timeout=30, check=False,
        )
        if top.returncode != 0:
            return set()
        answer = subprocess.run(
            ["git", "-C", root, "check-ignore", "-z", "--stdin"],
            input="\0".join(os.path.abspath(c) for c in candidates) + "\0",
            capture_output=True, text=True, timeout=120, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    return {os.path.abspath(p) for p in answer.stdout.split("\0") if p}


def collect_files(paths: Iterable[str], resolver: ConfigResolver) -> List[Tuple[str, Config]]:
    """The Python files to check under `paths`, each with its configuration, in a stable order.

    Directories are walked for `*.py`, skipping excluded and git-ignored paths; a file named
    explicitly is always checked. Raises PathError for a path that does not exist.
    """
    found: dict = {}
    for path in paths:
        if not os.path.lexists(path):
            raise PathError(f"{path}: no such file or directory")
        if not os.path.isdir(path):
            found[os.path.normpath(path)] = resolver.for_path(path)
            continue
        walked = []
        for directory, dirnames, filenames in os.walk(path):
            config = resolver.for_path(os.path.join(directory, "x.py"))
            dirnames[:] = sorted(
                d for d in dirnames
                if not config.is_excluded(os.path.join(directory, d))
                and not os.path.islink(os.path.join(directory, d))
            )
            for filename in sorted(filenames):
                if not filename.endswith(".py"):
                    continue
                full = os.path.normpath(os.path.join(directory, filename))
                if not config.is_excluded(full):
                    walked.append((full, config))
        ignored = _git_ignored(path, [p for p, _ in walked])
        for full, config in walked:
            if os.path.abspath(full) not in ignored:
                found.setdefault(full, config)
    return sorted(found.items(), key=lambda item: display_path(item[0]))


def _check_one(item: Tuple[str, Config]) -> FileResult:
    return lint_file(*item)


def lint_paths(paths: Iterable[str], resolver: ConfigResolver, jobs: Optional[int] = None) -> List[FileResult]:
    """Check every file under `paths`; results are sorted by path whatever the scheduling."""
    files = collect_files(paths, resolver)
    jobs = jobs or os.cpu_count() or 1
    if jobs > 1 and len(files) >= 16:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(_check_one, files, chunksize=max(1, len(files) // (jobs * 8))))
    else:
        results = [_check_one(item) for item in files]
    return sorted(results, key=lambda r: r.path)


def fix_paths(paths: Iterable[str], resolver: ConfigResolver, *, unsafe: bool = False, write: bool = True, jobs: Optional[int] = None, progress=None):  # noqa: ANN001, ANN201
    """Fix every file under `paths` as one project; returns a FixReport (see dao_lint.fixer)."""
    from .fixer import fix_files

    files = collect_files(paths, resolver)
    report = fix_files(files, unsafe=unsafe, write=write, jobs=jobs or os.cpu_count() or 1, progress=progress)
    # what is left: check the files as they are now (or would be, with --diff)
    after = {f.path: f.after for f in report.files if f.after is not None and f.error is None}
    for path, config in files:
        if path in after:
            result = check_source(after[path], path, config, project_nested=lambda: project_uses_begin_nested(config))
        else:
            result = lint_file(path, config)
        shown = display_path(path)
        report.remaining.extend(d.__class__(shown, d.span, d.code, d.name, d.message) for d in result.diagnostics)
    return report


_NESTED_BY_ROOT: dict = {}


def project_uses_begin_nested(config: Config) -> bool:
    """Whether a Python file under the configuration's root calls `.begin_nested()`.

    Files are read as bytes and only those containing the word are parsed and analysed,
    so the answer costs one directory walk per root and process.
    """
    root = os.path.abspath(config.root)
    if root in _NESTED_BY_ROOT:
        return _NESTED_BY_ROOT[root]
    from .analysis import Action, FileContext, FileContextProvider, SessionFacts

    answer = False
    try:
        files = collect_files([root], ConfigResolver())
    except PathError:
        files = []
    for path, file_config in files:
        try:
            with open(path, "rb") as handle:
                source = handle.read()
        except OSError:
            continue
        if b"begin_nested" not in source:
            continue
        try:
            import libcst as cst
            from libcst.metadata import MetadataWrapper

            module = cst.parse_module(source)
            context = FileContext.for_path(path, file_config)
            facts = MetadataWrapper(module, cache={FileContextProvider: context}).resolve(SessionFacts)
        except Exception:  # noqa: BLE001 - an unparsable file answers nothing
            continue
        if any(getattr(fact, "action", None) is Action.BEGIN_NESTED for fact in facts.values()):
            answer = True
            break
    _NESTED_BY_ROOT[root] = answer
    return answer
