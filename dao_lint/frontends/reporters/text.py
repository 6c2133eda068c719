"""Human output: `path:line:col: CODE message`; grouped, coloured, with source on a terminal."""
from __future__ import annotations

from collections import Counter
from typing import IO, Dict, List, Optional, Sequence

from ...foundations.types import Diagnostic, FileResult

__all__ = ["render", "render_markdown", "plain_line"]


def plain_line(d: Diagnostic) -> str:
    return f"{d.path}:{d.line}:{d.column + 1}: {d.code} {d.message}"


def _summary(results: Sequence[FileResult], undecorated: frozenset = frozenset()) -> str:
    from ...foundations.codes import fix_kind

    total = sum(len(r.diagnostics) for r in results)
    files = sum(1 for r in results if r.diagnostics)
    if total == 0:
        return f"All checks passed ({len(results)} file{'s' if len(results) != 1 else ''} checked)."
    found = f"Found {total} problem{'s' if total != 1 else ''} in {files} file{'s' if files != 1 else ''}"
    safety = Counter(fix_kind(d.code, d.fixable, r.path not in undecorated, d.unsafe_fix) for r in results for d in r.diagnostics)
    fixes = []
    if safety["safe"]:
        fixes.append(f"{safety['safe']} may be fixed by `dao-lint fix`")
    if safety["unsafe"] and safety["safe"]:
        fixes.append(f"{safety['unsafe']} more with `--unsafe-fixes`")
    elif safety["unsafe"]:
        fixes.append(f"{safety['unsafe']} may be fixed by `dao-lint fix --unsafe-fixes`")
    return found + (f" ({', '.join(fixes)})." if fixes else ".")


def _statistics(results: Sequence[FileResult]) -> List[tuple]:
    counts: Counter = Counter()
    names: Dict[str, str] = {}
    for result in results:
        for d in result.diagnostics:
            counts[d.code] += 1
            names[d.code] = d.name
    return [(code, counts[code], names[code]) for code in sorted(counts)]


def _excerpt(path: str, line: int, cache: Dict[str, Optional[List[str]]]) -> Optional[str]:
    if path not in cache:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                cache[path] = handle.read().splitlines()
        except OSError:
            cache[path] = None
    lines = cache[path]
    if not lines or line > len(lines):
        return None
    return lines[line - 1]


def _terminal(stream: IO[str]) -> bool:
    """Whether rich could treat the stream as a terminal (it also honours FORCE_COLOR and TTY
    settings, asked only then): plain output never imports rich."""
    import os

    if os.environ.get("FORCE_COLOR") or os.environ.get("TTY_COMPATIBLE") == "1":
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def render(
    results: Sequence[FileResult],
    stream: IO[str],
    *,
    statistics: bool = False,
    quiet: bool = False,
    color: Optional[bool] = None,
    undecorated: frozenset = frozenset(),
) -> None:
    """`undecorated`: the paths whose configuration names no `transaction-decorator` (see
    codes.NEEDS_DECORATOR: those findings are not promised to `fix --unsafe-fixes`)."""
    fancy = color is True or (color is None and _terminal(stream))
    if fancy:
        from rich.console import Console
        from rich.markup import escape
        from rich.syntax import Syntax
        from rich.table import Table

        console = Console(file=stream, force_terminal=color, no_color=color is False, highlight=False, soft_wrap=True)
        fancy = console.is_terminal
    if not fancy:
        for result in results:
            for d in result.diagnostics:
                stream.write(plain_line(d) + "\n")
    else:
        cache: Dict[str, Optional[List[str]]] = {}
        for result in results:
            if not result.diagnostics:
                continue
            console.print(f"[bold underline]{escape(result.path)}[/]")
            for d in result.diagnostics:
                console.print(
                    f"  [cyan]{escape(d.path)}:{d.line}:{d.column + 1}[/]: "
                    f"[bold red]{d.code}[/] {escape(d.message)} [dim]({d.name})[/]"
                )
                source = _excerpt(d.path, d.line, cache)
                if source is not None:
                    console.print(Syntax(source, "python", line_numbers=True, start_line=d.line, word_wrap=True), style="dim")
            console.print()
    if statistics:
        rows = _statistics(results)
        if fancy:
            table = Table("code", "count", "name", title="Statistics")
            for code, count, name in rows:
                table.add_row(code, str(count), name)
            console.print(table)
        else:
            for code, count, name in rows:
                stream.write(f"{count:>6}  {code}  {name}\n")
    if not quiet:
        if fancy:
            total = sum(len(r.diagnostics) for r in results)
            console.print(f"[bold {'red' if total else 'green'}]{_summary(results, undecorated)}[/]")
        else:
            stream.write(_summary(results, undecorated) + "\n")


def render_markdown(markdown: str, stream: IO[str]) -> None:
    """Print a Markdown page (a rule's docs) with rich."""
    from rich.console import Console
    from rich.markdown import Markdown

    Console(file=stream, soft_wrap=False).print(Markdown(markdown))


def render_fix(report, stream: IO[str], *, diff: bool, color: Optional[bool] = None, quiet: bool = False, summary: Optional[IO[str]] = None) -> None:  # noqa: ANN001
    """The unified diff (with `diff`) on `stream` and the summary of a `dao-lint fix` run on
    `summary` (default: `stream`; the command line sends it to stderr with `--diff`, so
    that the patch alone is on stdout and applies with `git apply`)."""
    import difflib

    from rich.console import Console
    from rich.syntax import Syntax
    from rich.table import Table

    from ...running.discovery import display_path
    from ...fix.planning import NO_CALLER, suggest_boundaries

    if diff:
        patch = Console(file=stream, force_terminal=color, no_color=color is False, highlight=False, soft_wrap=True)
        for item in report.changed:
            path = display_path(item.path)
            before = item.before.decode("utf-8", "replace").splitlines(keepends=True)
            after = item.after.decode("utf-8", "replace").splitlines(keepends=True)
            text = "".join(difflib.unified_diff(before, after, f"a/{path}", f"b/{path}"))
            if patch.is_terminal:
                patch.print(Syntax(text, "diff", theme="ansi_dark", background_color="default"))
            else:
                stream.write(text)
    if quiet:
        return
    stream = summary if summary is not None else stream
    console = Console(file=stream, force_terminal=color, no_color=color is False, highlight=False, soft_wrap=True)
    counts = report.fixed_counts()
    verb = "would fix" if diff else "fixed"
    table = Table(title=f"dao-lint fix: {verb} {sum(counts.values())} in {len(report.changed)} file(s)")
    table.add_column("code")
    table.add_column("edits", justify="right")
    for code in sorted(counts):
        table.add_row(code, str(counts[code]))
    left = Counter(d.code for d in report.remaining)
    if console.is_terminal:
        console.print(table)
    else:
        stream.write(f"{verb}: " + (", ".join(f"{code} x{counts[code]}" for code in sorted(counts)) or "nothing") + f" in {len(report.changed)} file(s)\n")
    for item in report.files:
        if item.error:
            stream.write(f"{display_path(item.path)}: not fixed: {item.error}\n")
    for path, why in report.skipped:
        stream.write(f"{display_path(path)}: skipped: {why}\n")
    placed = [kept for kept in report.kept if kept.path]
    # a function nothing in the project calls: a group of its own (dead, or called from outside)
    uncalled = [kept for kept in placed if kept.reason.split(" -> ")[0].endswith(NO_CALLER)]
    for heading, group in (
        ("kept, each with its reason:", [k for k in placed if k not in uncalled]),
        ("kept, no caller in the project (delete it if it is dead, or its callers outside must commit):", uncalled),
    ):
        if group:
            stream.write(heading + "\n")
        for kept in sorted(group, key=lambda k: (k.path, k.position)):
            stream.write(f"  {display_path(kept.path)}:{kept.position[0]}:{kept.position[1] + 1}: {kept.code} in {kept.function}: {kept.reason}\n")
    if placed:
        suggested = suggest_boundaries(placed)
        if suggested:
            stream.write("boundaries to declare (`boundaries` in [tool.dao-lint], with `transaction-decorator`), where those call paths start:\n")
            for entry, count in suggested:
                module_glob, _, name = entry.partition("::")
                shown = entry if module_glob.startswith("**") else f"{display_path(module_glob)}::{name}"
                stream.write(f'  "{shown}"  ({count} kept)\n')
    for kept in report.kept:
        if not kept.path:  # a configured rename with nothing to rename
            stream.write(f"not done: [tool.dao-lint.rename] {kept.function}: {kept.reason}\n")
    for code, count in sorted(report.undecorated.items()):
        stream.write(
            f"not done: {code} x{count}: `fix` ends a boundary's transaction with the "
            "`transaction-decorator` of [tool.dao-lint], and none is configured (`dao-lint init` looks for one)\n"
        )
    if report.also:
        stream.write("also changed, because fixes in the named files need them (review and stage these too):\n")
        for path in report.also:
            stream.write(f"  {display_path(path)}\n")
    if left:
        known = f"; {report.baselined} of them in the baseline" if report.baselined else ""
        stream.write("findings left: " + ", ".join(f"{code} x{left[code]}" for code in sorted(left)) + f"{known} (`dao-lint check` lists them)\n")
    else:
        stream.write("no findings left\n")
