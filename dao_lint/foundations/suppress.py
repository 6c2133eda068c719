"""`# noqa` comments with flake8's semantics: the only code that reads comment text."""
from __future__ import annotations

import io
import re
import tokenize
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from .types import Diagnostic

__all__ = ["NOQA", "NoqaMap", "filter_suppressed", "split_suppressed", "noqa_comments", "unused_noqa", "add_noqa", "remove_noqa_codes"]

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
        return self.covering(line, code) is not None

    def covering(self, line: int, code: str) -> Optional[int]:
        """The line whose `# noqa` covers `code` on `line` (the line itself, or the first line
        of its statement), or None."""
        candidates = [line]
        first = self._first.get(line)
        if first is not None and first != line:
            candidates.append(first)
        for number in candidates:
            text = self._text(number)
            if _covers(text, code):
                # a multi-line string counts as one line: the comment is on one of them
                for physical in range(number, number + text.count("\n") + 1):
                    if NOQA.search(self.lines[physical - 1] if 0 < physical <= len(self.lines) else ""):
                        return physical
                return number
        return None

    def statement_start(self, line: int) -> int:
        return self._first.get(line, line)


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
    return split_suppressed(text, diagnostics)[0]


def split_suppressed(text: str, diagnostics: Sequence[Diagnostic]) -> Tuple[List[Diagnostic], Set[Tuple[int, str]]]:
    """(the diagnostics no `# noqa` covers, the (comment line, code) pairs that suppressed one)."""
    if not diagnostics or "noqa" not in text.lower():
        return list(diagnostics), set()
    noqa = NoqaMap(text)
    kept, used = [], set()
    for d in diagnostics:
        line = noqa.covering(d.line, d.code)
        if line is None:
            kept.append(d)
        else:
            used.add((line, d.code))
    return kept, used


_CODE_LIST = re.compile(r"[,\s]+")


def noqa_comments(text: str) -> List[Tuple[int, int, Tuple[str, ...]]]:
    """(line, column, listed codes) of every `# noqa: CODES` comment listing a DAO code."""
    if "noqa" not in text.lower():
        return []
    found = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    for kind, value, (line, column), _, _ in tokens:
        if kind != tokenize.COMMENT:
            continue
        match = NOQA.search(value)
        if match is None or match.group("codes") is None:
            continue
        codes = tuple(c.upper() for c in _CODE_LIST.split(match.group("codes").strip()) if c)
        if any(c.startswith("DAO") for c in codes):
            found.append((line, column + match.start(), codes))
    return found


def unused_noqa(comments: Iterable[Tuple[int, int, Tuple[str, ...]]], used: Set[Tuple[int, str]], enabled: Set[str]) -> List[Tuple[int, int, List[str]]]:
    """(line, column, unused codes) for the comments whose DAO codes suppressed nothing.

    A listed code (or prefix) counts as unused only when some code it names is enabled and
    none it names was suppressed there; a comment that lists DAO003 is left alone.
    """
    out = []
    for line, column, codes in comments:
        if "DAO003" in codes:
            continue
        suppressed = {code for number, code in used if number == line}
        unused = [
            listed for listed in codes
            if listed.startswith("DAO")
            and any(code.startswith(listed) for code in enabled)
            and not any(code.startswith(listed) for code in suppressed)
        ]
        if unused:
            out.append((line, column, unused))
    return out


def _comment_slots(text: str) -> Tuple[List[str], Dict[int, Tuple[int, str]], Dict[int, Optional[int]]]:
    """(lines, line -> (column, text) of its comment, blocked), where `blocked` maps each line
    whose end a comment cannot follow to the line that can take it instead: the end of the
    multi-line string it is in (flake8 reads such a string as one line), or None."""
    lines = text.splitlines(keepends=True)
    comments: Dict[int, Tuple[int, str]] = {}
    blocked: Dict[int, Optional[int]] = {}
    for kind, value, (start, column), (end, _), _ in tokenize.generate_tokens(io.StringIO(text).readline):
        if kind == tokenize.COMMENT:
            comments[start] = (column, value)
        elif kind == tokenize.STRING or kind in (getattr(tokenize, "FSTRING_MIDDLE", -1), getattr(tokenize, "FSTRING_START", -1)):
            for number in range(start, end):  # inside a multi-line string
                blocked[number] = end
    for number, line in enumerate(lines, 1):
        if line.rstrip("\r\n").endswith("\\"):
            blocked[number] = None  # a backslash continuation
    return lines, comments, blocked


def add_noqa(text: str, wanted: Dict[int, Set[str]]) -> Tuple[str, int, List[int]]:
    """Add `# noqa: CODES` for the codes wanted on each line, merging with a `# noqa: ...`
    already there. A line whose end is inside a string or a backslash continuation gets it on
    the first line of its statement. Returns (text, comments written, lines left as they were).
    """
    lines, comments, blocked = _comment_slots(text)
    starts = NoqaMap(text)
    by_line: Dict[int, Set[str]] = {}
    skipped = []
    for line, codes in wanted.items():
        target: Optional[int] = line
        for _ in range(len(lines)):
            if target not in blocked:
                break
            target = blocked[target]
        if target is None or target in blocked:
            target = starts.statement_start(line)
        if target in blocked or not 1 <= target <= len(lines):
            skipped.append(line)
            continue
        by_line.setdefault(target, set()).update(codes)
    written = 0
    for number, codes in sorted(by_line.items()):
        raw = lines[number - 1]
        body = raw.rstrip("\r\n")
        ending = raw[len(body):]
        comment = comments.get(number)
        match = NOQA.search(comment[1]) if comment else None
        if match is not None and match.group("codes") is None:
            continue  # a bare `# noqa` already silences everything here
        if match is not None:
            listed = [c for c in _CODE_LIST.split(match.group("codes").strip()) if c]
            merged = listed + sorted(c for c in codes if c not in listed)
            start = comment[0] + match.start()
            end = comment[0] + match.end()
            body = body[:start] + "# noqa: " + ", ".join(merged) + body[end:]
        else:
            body = body.rstrip() + "  # noqa: " + ", ".join(sorted(codes))
        lines[number - 1] = body + ending
        written += 1
    return "".join(lines), written, skipped


def remove_noqa_codes(text: str, unused: Dict[int, Set[str]]) -> str:
    """Drop the given codes from the `# noqa` comment on each line; a comment left with no
    code loses its `# noqa` part (and the comment goes if nothing else was in it)."""
    lines, comments, _ = _comment_slots(text)
    for number, codes in unused.items():
        comment = comments.get(number)
        match = NOQA.search(comment[1]) if comment else None
        if match is None or match.group("codes") is None:
            continue
        raw = lines[number - 1]
        body = raw.rstrip("\r\n")
        ending = raw[len(body):]
        listed = [c for c in _CODE_LIST.split(match.group("codes").strip()) if c]
        left = [c for c in listed if c.upper() not in codes]
        start, end = comment[0] + match.start(), comment[0] + match.end()
        if left:
            tail = body[end:]
            body = body[:start] + "# noqa: " + ", ".join(left) + (" " + tail if tail[:1].strip() else tail)
        else:
            head = body[:start].rstrip()
            # what followed the codes (a noqa comment's ` - legacy endpoint`) was the
            # reason: it stays, as a comment of its own (never as code)
            note = body[end:].strip().lstrip("-:;,\u2013\u2014 ").strip()
            if note:  # (`# note # noqa: X` keeps `# note`; a comment after it stays as it was)
                body = head + ("  " if note.startswith("#") else "  # ") + note
            else:
                body = head
        lines[number - 1] = body + ending
    return "".join(lines)
