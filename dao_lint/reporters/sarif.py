"""SARIF 2.1.0, as GitHub code scanning accepts it."""
from __future__ import annotations

import json
from typing import IO, Optional, Sequence, Set

from ..docs import rule_url
from .. import rules as _rules  # noqa: F401 - registers the rule classes
from ..rule import TOOL_CODES, all_codes, registry
from ..version import __version__
from ..types import Diagnostic, FileResult

__all__ = ["render", "as_sarif"]

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


def as_sarif(results: Sequence[FileResult], baselined: Optional[Set[Diagnostic]] = None) -> dict:
    """The SARIF log; with `baselined` (a baseline is in use) every result carries its
    `baselineState`: "unchanged" for a finding the baseline knows, "new" otherwise."""

    rules = _rule_entries()
    index = {entry["id"]: number for number, entry in enumerate(rules)}
    sarif_results = []
    for result in results:
        for d in result.diagnostics:
            entry = {
                "ruleId": d.code,
                "ruleIndex": index[d.code],
                "level": "error",
                "message": {"text": d.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": d.path, "uriBaseId": "%SRCROOT%"},
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
                "columnKind": "unicodeCodePoints",
                "results": sarif_results,
            }
        ],
    }


def render(results: Sequence[FileResult], stream: IO[str], *, statistics: bool = False, quiet: bool = False, color=None, baselined=None) -> None:  # noqa: ANN001
    json.dump(as_sarif(results, baselined), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
