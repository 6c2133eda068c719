"""Glob patterns for configuration values (`**/daos/**`, `*.py`) matched against POSIX paths."""
from __future__ import annotations

import fnmatch
import functools
import re

__all__ = ["compile_glob", "path_matches", "name_matches", "GlobError"]


class GlobError(ValueError):
    """A pattern that cannot be used."""


@functools.lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> "re.Pattern[str]":
    """Translate a path glob: `**` spans directories, `*` and `?` stay inside one part.

    A pattern without a slash matches any single path component or the basename,
    as in `.gitignore`.
    """
    if not pattern or pattern.strip() != pattern:
        raise GlobError(f"invalid glob {pattern!r}")
    if pattern.count("[") != pattern.count("]"):
        raise GlobError(f"invalid glob {pattern!r}: unbalanced brackets")
    anchored = "/" in pattern.rstrip("/")
    body = pattern.strip("/") if anchored else pattern.rstrip("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("/**", i) and i + 3 == len(body):
            out.append("(?:/.*)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        elif body[i] == "[":
            end = body.index("]", i)
            out.append("[" + body[i + 1 : end].replace("!", "^", 1) + "]")
            i = end + 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    core = "".join(out)
    # a directory pattern also matches everything below it
    if anchored:
        regex = f"^{core}(?:/.*)?$"
    else:
        regex = f"(?:^|.*/){core}(?:/.*)?$"
    try:
        return re.compile(regex)
    except re.error as exc:
        raise GlobError(f"invalid glob {pattern!r}: {exc}") from None


def path_matches(patterns, relpath: str) -> bool:
    """True when the POSIX relative path matches any of the path globs."""
    return any(compile_glob(p).match(relpath) for p in patterns)


def name_matches(patterns, name: str) -> bool:
    """True when a dotted or plain name matches any fnmatch-style glob (`*` crosses dots)."""
    return _name_matches(tuple(patterns), name)


@functools.lru_cache(maxsize=65536)
def _name_matches(patterns, name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)
