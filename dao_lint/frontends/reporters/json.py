"""JSON: an array of objects with fixed keys, positions 1-based."""
from __future__ import annotations

import json as jsonlib
from typing import IO, Sequence

from ...foundations.codes import fix_kind
from ...foundations.types import FileResult

__all__ = ["render", "as_records"]


def as_records(results: Sequence[FileResult]) -> list:
    records = []
    for result in results:
        for d in result.diagnostics:
            records.append(
                {
                    "path": d.path,
                    "line": d.span.line,
                    "column": d.span.column + 1,
                    "end_line": d.span.end_line,
                    "end_column": d.span.end_column + 1,
                    "code": d.code,
                    "name": d.name,
                    "message": d.message,
                    "fixable": d.fixable,
                    # what makes the fix: "safe" (`dao-lint fix`), "unsafe" (`--unsafe-fixes`)
                    "fix": fix_kind(d.code, d.fixable, unsafe_fix=d.unsafe_fix) if d.fixable else None,
                }
            )
    return records


def render(results: Sequence[FileResult], stream: IO[str], *, statistics: bool = False, quiet: bool = False, color=None) -> None:
    jsonlib.dump(as_records(results), stream, indent=2, ensure_ascii=False)
    stream.write("\n")
