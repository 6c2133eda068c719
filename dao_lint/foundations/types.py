"""Plain value types shared by the engine, the rules, the API and the reporters."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Tuple

__all__ = ["Span", "Diagnostic", "FileResult", "ToolCode"]


@dataclass(frozen=True, order=True)
class Span:
    """A region of a file: 1-based lines, 0-based columns, end exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding: where, which code, and the rendered message (without the code)."""

    path: str
    span: Span
    code: str
    name: str
    message: str
    fixable: bool = False
    #: its fix comes only with `--unsafe-fixes` (a commit removed because the fix also adds
    #: the transaction decorator to a boundary, say)
    unsafe_fix: bool = False

    def __post_init__(self) -> None:
        # one line, always: a message quoting code that spans lines (a triple-quoted key)
        # must not break `path:line:col: CODE message`
        if "\n" in self.message or "\r" in self.message:
            object.__setattr__(self, "message", " ".join(self.message.split()))

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column


@dataclass(frozen=True)
class FileResult:
    """What checking one file produced."""

    path: str
    diagnostics: Tuple[Diagnostic, ...] = ()
    parsed: bool = False
    internal_errors: int = 0
    #: the file's project summary (dao_lint.project.FileSummary) when asked for
    summary: object = field(default=None, compare=False)
    #: the project-wide "uses begin_nested()" answer the result depends on (DAO112), if it asked
    nested: object = field(default=None, compare=False)
    #: (comment line, code) of each `# noqa` that silenced one of its findings (for DAO003)
    noqa_used: tuple = field(default=(), compare=False)
    #: the summary's digests and positions (dao_lint.cache.SummaryShape), made in the worker
    #: that made the summary, for the summary as it is (its path included)
    shape: object = field(default=None, compare=False)


@dataclass(frozen=True)
class ToolCode:
    """A code the tool itself reports (DAO0xx): not a rule, but listed like one."""

    code: str
    name: str
    summary: str
