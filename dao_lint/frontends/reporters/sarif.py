"""SARIF 2.1.0, as GitHub code scanning accepts it."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import IO, List, Optional, Sequence, Set

from ...running.baseline import entries_for
from ...foundations.config import ConfigResolver
from ...checking.docs import rule_url
from ... import rules as _rules  # noqa: F401 - registers the rule classes
from ...rules.base import TOOL_CODES, all_codes, registry
from ...version import __version__
from ...foundations.types import Diagnostic, FileResult

__all__ = ["render", "as_sarif", "repository_root"]

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _rule_entries() -> list:
    entries = []
    tools = {t.code: t for t in TOOL_CODES}
    for code in all_codes():
        if code in tools:
            tool = tools[code]
            name, short, full = tool.name, tool.summary, tool.summary
        else:
            rule = registry[code]
            name, short = rule.name, rule.summary()
            full = " ".join((rule.__doc__ or "").split())
        entries.append(
            {
                "id": code,
                "name": name,
                "shortDescription": {"text": short},
                "fullDescription": {"text": full},
                "helpUri": rule_url(code),
                "defaultConfiguration": {"level": "error"},
            }
        )
    return entries


def repository_root() -> str:
    """Where SARIF URIs start: the git work tree holding the current directory, else the
    configuration root (code scanning maps URIs to files of the repository)."""
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=30, check=False)
        if top.returncode == 0 and top.stdout.strip():
            return os.path.abspath(top.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return os.path.abspath(ConfigResolver().for_path(".").root)


def _fingerprints(result: FileResult, relative: str) -> List[str]:
    """A stable identity per finding, the baseline's: path, code, enclosing function and the
    flagged text (not the line, which moves), with an ordinal for identical ones."""
    seen: Counter = Counter()
    out = []
    for entry in entries_for(result.path, relative, result.diagnostics):
        key = (entry.path, entry.code, entry.function, entry.text)
        seen[key] += 1
        digest = hashlib.sha256("\0".join((*key, str(seen[key]))).encode("utf-8")).hexdigest()
        out.append(digest[:32])
    return out


def as_sarif(results: Sequence[FileResult], baselined: Optional[Set[Diagnostic]] = None, root: Optional[str] = None) -> dict:
    """The SARIF log; with `baselined` (a baseline is in use) every result carries its
    `baselineState`: "unchanged" for a finding the baseline knows, "new" otherwise. URIs
    are relative to `root` (default: the repository root)."""

    rules = _rule_entries()
    index = {entry["id"]: number for number, entry in enumerate(rules)}
    root = root or repository_root()
    sarif_results = []
    for result in results:
        if not result.diagnostics:
            continue
        uri = os.path.relpath(os.path.abspath(result.path), root).replace(os.sep, "/")
        for d, fingerprint in zip(result.diagnostics, _fingerprints(result, uri)):
            entry = {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": "error",
                "message": {"text": d.message},
                "partialFingerprints": {"daoLintFinding/v1": fingerprint},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                            "region": {
                                "startLine": d.span.line,
                                "startColumn": d.span.column + 1,
                                "endLine": d.span.end_line,
                                "endColumn": d.span.end_column + 1,
                            },
                        }
                    }
                ],
            }
            if baselined is not None:
                entry["baselineState"] = "unchanged" if d in baselined else "new"
            sarif_results.append(entry)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "dao-lint",
                        "version": __version__,
                        "informationUri": rule_url(None),
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path(root).as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": sarif_results,
            }
        ],
    }


def render(results: Sequence[FileResult], stream: IO[str], *, statistics: bool = False, quiet: bool = False, color=None, baselined=None) -> None:  # noqa: ANN001
    json.dump(as_sarif(results, baselined), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
