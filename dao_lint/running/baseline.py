"""Baselines: the findings a project has today, so that only new ones fail the build.

An entry is matched by path, code, the enclosing function and the flagged code's text with
whitespace collapsed, never by line number: inserting lines above a finding, or reformatting
other functions, keeps it matched. The same text flagged twice in one function is counted.
The file is sorted JSON, one finding per entry, to be reviewed like code; it only shrinks
unless a new one is recorded on purpose (`dao-lint baseline`).
"""
from __future__ import annotations

import ast
import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..foundations.files import DecodeFailure, compile_quietly, decode_source, write_atomic
from ..foundations.types import Diagnostic, FileResult

__all__ = ["Baseline", "BaselineError", "Entry", "entries_for", "apply_baseline", "new_findings"]

FORMAT = 1
_SNIPPET = 160  # characters of flagged text kept in an entry


class BaselineError(Exception):
    """The baseline file cannot be read or is not a dao-lint baseline."""


@dataclass(frozen=True, order=True)
class Entry:
    path: str  # POSIX, relative to the baseline file's directory
    code: str
    function: str  # qualified name of the enclosing function or class ("" at module level)
    text: str  # the flagged code, whitespace collapsed


def _scopes(source: str) -> List[Tuple[int, int, str]]:
    """(first line, last line, qualified name) of every def and class, outermost first."""
    try:
        tree = compile_quietly(source, tree_only=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    found: List[Tuple[int, int, str]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                found.append((first, child.end_lineno or child.lineno, name))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def _text(lines: Sequence[str], d: Diagnostic) -> str:
    span = d.span
    if not 1 <= span.line <= len(lines):
        return ""
    if span.end_line == span.line and span.end_column > span.column:
        piece = lines[span.line - 1][span.column : span.end_column]
    else:
        last = min(max(span.end_line, span.line), len(lines), span.line + 4)
        piece = " ".join(lines[span.line - 1 : last])[span.column :]
    return " ".join(piece.split())[:_SNIPPET]


def entries_for(path: str, relative: str, diagnostics: Sequence[Diagnostic], source: Optional[str] = None) -> List[Entry]:
    """The baseline entries of one file's diagnostics, in the same order (of `source` when
    given, an editor's buffer; else of the file on disk)."""
    if source is None:
        try:
            with open(path, "rb") as handle:
                source, _ = decode_source(handle.read())
        except (OSError, DecodeFailure):
            source = ""
    lines = source.splitlines()
    scopes = _scopes(source) if diagnostics else []
    out = []
    for d in diagnostics:
        inner = [name for first, last, name in scopes if first <= d.span.line <= last]
        out.append(Entry(relative, d.code, inner[-1] if inner else "", _text(lines, d)))
    return out


class Baseline:
    """Counted entries, read from and written to a JSON file."""

    def __init__(self, path: str, counts: Optional[Counter] = None) -> None:
        self.path = path
        self.counts: Counter = counts if counts is not None else Counter()

    @property
    def directory(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))

    @classmethod
    def load(cls, path: str) -> "Baseline":
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except OSError as exc:
            raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror}") from None
        except ValueError as exc:
            raise BaselineError(f"{path}: not a dao-lint baseline (invalid JSON: {exc})") from None
        if not isinstance(data, dict) or data.get("version") != FORMAT or not isinstance(data.get("findings"), list):
            raise BaselineError(f"{path}: not a dao-lint baseline (expected {{\"version\": {FORMAT}, \"findings\": [...]}})")
        counts: Counter = Counter()
        for item in data["findings"]:
            try:
                entry = Entry(str(item["path"]), str(item["code"]), str(item["function"]), str(item["text"]))
                count = int(item.get("count", 1))
            except (KeyError, TypeError, ValueError):
                raise BaselineError(f"{path}: malformed entry {item!r}") from None
            counts[entry] += max(count, 0)
        return cls(path, counts)

    def relative(self, path: str) -> str:
        return os.path.relpath(os.path.abspath(path), self.directory).replace(os.sep, "/")

    def entries(self, results: Iterable[FileResult]) -> Dict[Diagnostic, Entry]:
        """Each diagnostic's entry (the results' paths are read, relative to here)."""
        found: Dict[Diagnostic, Entry] = {}
        for result in results:
            if result.diagnostics:
                source = result.path
                for d, entry in zip(result.diagnostics, entries_for(source, self.relative(source), result.diagnostics)):
                    found[d] = entry
        return found

    def split(self, entries: Dict[Diagnostic, Entry]) -> Tuple[set, Counter]:
        """(the diagnostics the baseline covers, the entries that no longer occur)."""
        left = Counter(self.counts)
        covered = set()
        for d in sorted(entries, key=lambda d: (d.path, d.span, d.code)):
            entry = entries[d]
            if left[entry] > 0:
                left[entry] -= 1
                covered.add(d)
        return covered, +left

    def write(self) -> None:
        findings = [
            {"path": e.path, "code": e.code, "function": e.function, "text": e.text, "count": n}
            for e, n in sorted(self.counts.items())
            if n > 0
        ]
        data = {"version": FORMAT, "tool": "dao-lint", "findings": findings}
        write_atomic(self.path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def apply_baseline(results, baseline_file, write_file):  # noqa: ANN001, ANN202
    """(results to show, all results, the baselined diagnostics or None, notes for stderr)."""
    from collections import Counter

    from ..foundations.types import FileResult

    notes = []
    if write_file:
        written = Baseline(write_file)
        current = Counter(written.entries(results).values())
        if os.path.exists(write_file):
            before = Baseline.load(write_file).counts
            checked = {written.relative(r.path) for r in results}
            # the ratchet: entries only go away, and only for the files checked now
            written.counts = (Counter({e: n for e, n in before.items() if e.path in checked}) & current) + Counter(
                {e: n for e, n in before.items() if e.path not in checked}
            )
            removed = sum(before.values()) - sum(written.counts.values())
            notes.append(
                f"{write_file}: {removed} finding(s) removed, {sum(written.counts.values())} kept"
                " (new findings are not added: `dao-lint baseline` records them on purpose)"
            )
        else:
            written.counts = current
            notes.append(f"{write_file}: recorded {sum(current.values())} finding(s)")
        written.write()
        baseline_file = write_file
    if not baseline_file:
        return results, results, None, notes
    baseline = Baseline.load(baseline_file)
    covered, gone = baseline.split(baseline.entries(results))
    checked = {baseline.relative(r.path) for r in results}
    gone = Counter({e: n for e, n in gone.items() if e.path in checked})  # other files were not looked at
    shown = [
        FileResult(r.path, tuple(d for d in r.diagnostics if d not in covered), r.parsed, r.internal_errors)
        for r in results
    ]
    notes.append(f"{baseline_file}: {len(covered)} known finding(s) not shown")
    if gone:
        notes.append(
            f"{baseline_file}: {sum(gone.values())} baselined finding(s) no longer occur;"
            f" `dao-lint check --write-baseline {baseline_file}` shrinks the baseline"
        )
    return shown, results, covered, notes


def new_findings(remaining, resolver, paths, baseline_file):  # noqa: ANN001, ANN202
    """The findings left that the baseline (`--baseline`, else the `baseline` key) does not know."""
    from ..foundations.types import FileResult

    if baseline_file is None:
        config = resolver.for_path((paths or (".",))[0])
        baseline_file = os.path.join(config.root, config.baseline) if config.baseline else None
    if not baseline_file or not remaining:
        return list(remaining)
    baseline = Baseline.load(baseline_file)
    by_path: dict = {}
    for d in remaining:
        by_path.setdefault(d.path, []).append(d)
    covered, _ = baseline.split(baseline.entries(FileResult(p, tuple(ds)) for p, ds in by_path.items()))
    return [d for d in remaining if d not in covered]
