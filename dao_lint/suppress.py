"""`# noqa` comments with flake8's semantics: the only code that reads comment text."""
from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, List, Sequence

from .types import Diagnostic

__all__ = ["NOQA", "NoqaMap", "filter_suppressed"]

# Same pattern as flake8, so that `dao-lint check` and flake8 agree on every line.
NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)


class NoqaMap:
    """Which `# noqa` comments cover a line.

    A line is covered by a comment on the line itself (where a multi-line string counts as one
    line, as in flake8) or on the first line of the statement it belongs to, so that a
    finding inside a multi-line call or signature is silenced from the statement's first line.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self._physical: Dict[int, str] = {}
        self._first: Dict[int, int] = {}
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            tokens = []
        low, high = len(self.lines) + 2, -1
        statement_start = None
        for kind, _, (start, _), (end, _), _ in tokens:
            if kind in (tokenize.ENDMARKER, tokenize.DEDENT, tokenize.INDENT):
                continue
            low, high = min(low, start), max(high, end)
            if statement_start is None and kind not in (tokenize.NL, tokenize.COMMENT):
                statement_start = start
            if kind in (tokenize.NL, tokenize.NEWLINE):
                joined = "".join(self.lines[low - 1 : high])
                for number in range(low, high + 1):
                    self._physical[number] = joined
                low, high = len(self.lines) + 2, -1
            if kind == tokenize.NEWLINE and statement_start is not None:
                for number in range(statement_start, end + 1):
                    self._first.setdefault(number, statement_start)
                statement_start = None

    def _text(self, line: int) -> str:
        if line in self._physical:
            return self._physical[line]
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1]
        return ""

    def suppresses(self, line: int, code: str) -> bool:
        candidates = [line]
        first = self._first.get(line)
        if first is not None and first != line:
            candidates.append(first)
        return any(_covers(self._text(number), code) for number in candidates)


def _covers(text: str, code: str) -> bool:
    match = NOQA.search(text)
    if match is None:
        return False
    codes = match.group("codes")
    if codes is None:
        return True
    listed = {c for c in re.split(r"[,\s]+", codes.strip()) if c}
    return code in listed or code.startswith(tuple(listed))


def filter_suppressed(text: str, diagnostics: Sequence[Diagnostic]) -> List[Diagnostic]:
    """Drop the diagnostics that a `# noqa` comment covers."""
    if not diagnostics or "noqa" not in text.lower():
        return list(diagnostics)
    noqa = NoqaMap(text)
    return [d for d in diagnostics if not noqa.suppresses(d.line, d.code)]
