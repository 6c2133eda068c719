"""GitHub Actions workflow commands: one `::error` annotation per diagnostic."""
from __future__ import annotations

from typing import IO, Sequence

from ...foundations.types import FileResult

__all__ = ["render", "escape_data", "escape_property"]


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def render(results: Sequence[FileResult], stream: IO[str], *, statistics: bool = False, quiet: bool = False, color=None) -> None:
    for result in results:
        for d in result.diagnostics:
            span = d.span
            stream.write(
                f"::error file={escape_property(d.path)},line={span.line},col={span.column + 1},"
                f"endLine={span.end_line},endColumn={span.end_column + 1},"
                f"title={escape_property(d.code)}::{escape_data(f'{d.code} {d.message}')}\n"
            )
