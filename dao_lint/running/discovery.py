"""Finding the files to check: walk the named paths for Python files, skipping excluded,
git-ignored and linked ones, each with its configuration; and how paths are shown."""
from __future__ import annotations

import os
import subprocess
from typing import Iterable, List, Sequence, Tuple

from ..foundations.config import Config, ConfigResolver

__all__ = ["PathError", "display_path", "collect_files"]


class PathError(Exception):
    """A path given to check does not exist."""


def display_path(path: str) -> str:
    """`path` relative to the current directory when below it, else absolute; POSIX separators."""
    if not os.path.isabs(path) and not path.startswith("..") and os.path.normpath(path) == path:
        return path.replace(os.sep, "/")  # already relative to here
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute)
    except ValueError:
        return absolute
    shown = absolute if rel.startswith("..") else rel
    return shown.replace(os.sep, "/")


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

    Directories are walked for `*.py`, skipping excluded and git-ignored paths and symbolic
    links (a link may leave the tree or loop); a file named explicitly is always checked.
    Raises PathError for a path that does not exist.
    """
    found: dict = {}
    for path in paths:
        if not os.path.lexists(path):
            raise PathError(f"{path}: no such file or directory")
        if not os.path.isdir(path):
            found[os.path.normpath(path)] = resolver.for_path(path)
            continue
        walked = []
        _walk(path, resolver, walked)
        ignored = _git_ignored(path, [p for p, _ in walked])
        for full, config in walked:
            if not ignored or os.path.abspath(full) not in ignored:
                found.setdefault(full, config)
    return sorted(found.items(), key=lambda item: display_path(item[0]))


def _walk(directory: str, resolver: ConfigResolver, out: List[Tuple[str, Config]]) -> None:
    """Append the `*.py` files under `directory` (sorted, depth first, as os.walk with sorted
    names would list them), skipping excluded paths and symbolic links (a link may leave the
    tree or loop). One `scandir` per directory: whether an entry is a link or a directory
    comes with it."""
    config = resolver.for_path(os.path.join(directory, "x.py"))
    base = config.relpath(directory)
    prefix = "" if base == "." else base + "/"
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return  # unreadable: as os.walk, nothing below it
    subdirectories = []
    for entry in entries:
        try:
            if entry.is_symlink():
                continue
            is_directory = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_directory:
            if not config.is_excluded_relpath(prefix + entry.name):
                subdirectories.append(entry.path)
        elif entry.name.endswith(".py") and not config.is_excluded_relpath(prefix + entry.name):
            out.append((os.path.normpath(entry.path), config))
    for subdirectory in subdirectories:
        _walk(subdirectory, resolver, out)
