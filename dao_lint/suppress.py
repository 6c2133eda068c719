"""`# noqa` comments with flake8's semantics: the only code that reads comment text."""
from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, Iterable, List, Optional, Sequence

from .types import Diagnostic

__all__ = ["NOQA", "NoqaMap", "filter_suppressed"]

# Same pattern as flake8, so that `dao-lint check` and flake8 agree on every line.
NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)


class NoqaMap:
    """Maps a line to the text searched for `# noqa`: its whole logical line, as flake8 does."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self._ranges: Dict[int, str] = {}
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            tokens = []
        low, high = len(self.lines) + 2, -1
        for kind, _, (start, _), (end, _), _ in tokens:
            if kind in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            low, high = min(low, start), max(high, end)
            if kind in (tokenize.NL, tokenize.NEWLINE):
                joined = "".join(self.lines[low - 1 : high])
                for number in range(low, high + 1):
                    self._ranges[number] = joined
                low, high = len(self.lines) + 2, -1

    def text_for(self, line: int) -> str:
        if line in self._ranges:
            return self._ranges[line]
        if 1 <= line <= len(self.lines):
            return self.lines[line - 1]
        return ""

    def suppresses(self, line: int, code: str) -> bool:
        match = NOQA.search(self.text_for(line))
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
