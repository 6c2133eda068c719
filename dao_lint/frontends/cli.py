"""The `dao-lint` command line: check, rules, rule, docs. Exit 0 clean, 1 findings, 2 errors."""
from __future__ import annotations

import io
import os
import sys
from typing import Optional, Sequence, Tuple

import click

from ..version import __version__
from ..api import PathError, lint_paths
from ..foundations.config import ConfigError, ConfigOverrides, ConfigResolver, validate_codes
from ..foundations.files import write_atomic
from .reporters import FORMATS

__all__ = ["main", "cli"]


def _codes(value: Optional[str], option: str) -> Optional[Tuple[str, ...]]:
    if value is None:
        return None
    parts = [p.strip() for p in value.split(",") if p.strip()]
    return validate_codes(parts, f"--{option}")


def _resolver(select, extend_select, ignore, config_file) -> ConfigResolver:  # noqa: ANN001
    """The configuration resolver for the command line's selection and `--config`."""
    overrides = ConfigOverrides(
        select=_codes(select, "select"),
        extend_select=_codes(extend_select, "extend-select") or (),
        ignore=_codes(ignore, "ignore") or (),
    )
    if config_file is not None and not os.path.isfile(config_file):
        raise ConfigError(f"{config_file}: no such configuration file")
    return ConfigResolver(config_file, overrides)


def _run_options(quiet_help: str):  # noqa: ANN202
    """The options `check` and `fix` share: processes, configuration, output, cache."""
    options = (
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Processes to use (default: CPU count)."),
        click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use."),
        click.option("--quiet", "-q", is_flag=True, help=quiet_help),
        click.option("--color/--no-color", default=None, help="Force or disable colour (default: on a terminal)."),
        click.option("--no-cache", is_flag=True, help="Neither read nor write the result cache."),
        click.option("--cache-dir", type=click.Path(file_okay=False), help="Cache directory (default: .dao_lint_cache at the project root)."),
    )

    def apply(command):  # noqa: ANN001, ANN202
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def _fail(message: str) -> "click.exceptions.Exit":
    click.echo(f"dao-lint: error: {message}", err=True)
    return click.exceptions.Exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dao-lint")
def cli() -> None:
    """Lint SQLAlchemy code against the DAO rules."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", help="Comma-separated codes or prefixes to check (replaces the configured list).")
@click.option("--extend-select", help="Codes or prefixes to check in addition.")
@click.option("--ignore", help="Codes or prefixes not to report.")
@click.option("--format", "output_format", type=click.Choice(sorted(FORMATS)), default=None, help="Output format [default: text; in GitHub Actions, text plus annotations].")
@click.option("--output-file", "-o", type=click.Path(dir_okay=False), help="Write the report here instead of stdout.")
@click.option("--statistics", is_flag=True, help="Show how many findings each code has.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), help="Report only findings that are not in this baseline (default: the `baseline` key).")
@click.option("--write-baseline", type=click.Path(dir_okay=False), help="Record the findings in FILE (an existing baseline only shrinks) and apply it.")
@click.option("--add-noqa", is_flag=True, help="Silence every finding reported with a `# noqa: CODE` comment on its line.")
@_run_options("Print findings only, no summary.")
def check(
    paths: Sequence[str],
    select: Optional[str],
    extend_select: Optional[str],
    ignore: Optional[str],
    output_format: str,
    output_file: Optional[str],
    statistics: bool,
    exit_zero: bool,
    baseline_file: Optional[str],
    write_baseline: Optional[str],
    add_noqa: bool,
    jobs: Optional[int],
    config_file: Optional[str],
    quiet: bool,
    color: Optional[bool],
    no_cache: bool,
    cache_dir: Optional[str],
) -> None:
    """Report DAO rule violations in PATHS (default: the current directory)."""
    from ..running.baseline import BaselineError, apply_baseline

    try:
        resolver = _resolver(select, extend_select, ignore, config_file)
        with _progress(color) as progress:
            results = lint_paths(paths or (".",), resolver, jobs, cache=not no_cache, cache_dir=cache_dir, progress=progress)
        if baseline_file is None and write_baseline is None:
            configured = resolver.for_path((paths or (".",))[0]).baseline
            root = resolver.for_path((paths or (".",))[0]).root
            baseline_file = os.path.join(root, configured) if configured else None
        results, everything, baselined, notes = apply_baseline(results, baseline_file, write_baseline)
    except (ConfigError, PathError, BaselineError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename}: cannot write: {exc.strerror}") from None
    if add_noqa:
        _add_noqa(results)
        return
    # in GitHub Actions with no format asked for, findings also become annotations on the diff
    annotate = output_format is None and os.environ.get("GITHUB_ACTIONS") == "true"
    output_format = output_format or "text"
    render = FORMATS[output_format]
    extra = {}
    if output_format == "text":
        # some fixes need the transaction decorator: not promised where none is configured
        extra["undecorated"] = frozenset(
            r.path for r in results if r.diagnostics and resolver.for_path(r.path).transaction_decorator is None
        )
    if output_format == "sarif" and baselined is not None:
        results, extra = everything, {"baselined": baselined}  # SARIF shows them, marked unchanged
    if output_file:
        buffer = io.StringIO()
        render(results, buffer, statistics=statistics, quiet=quiet, color=False, **extra)
        try:
            write_atomic(output_file, buffer.getvalue().encode("utf-8"))
        except OSError as exc:
            raise _fail(f"{output_file}: cannot write: {exc.strerror}") from None
    else:
        render(results, sys.stdout, statistics=statistics, quiet=quiet, color=color, **extra)
    if annotate:
        FORMATS["github"](results, sys.stdout)
    if not quiet:
        for note in notes:
            click.echo(note, err=True)
    if any(r.internal_errors for r in results):
        raise click.exceptions.Exit(2)
    found = any(d not in (baselined or ()) for r in results for d in r.diagnostics)
    raise click.exceptions.Exit(1 if found and not exit_zero else 0)


def _add_noqa(results) -> None:  # noqa: ANN001
    """`check --add-noqa`: write `# noqa: CODE` for each finding (tool codes DAO0xx aside)."""
    from ..foundations.files import DecodeFailure, decode_source
    from ..foundations.suppress import add_noqa

    added = files = 0
    left = []
    for result in results:
        wanted: dict = {}
        for d in result.diagnostics:
            if not d.code.startswith("DAO0"):
                wanted.setdefault(d.line, set()).add(d.code)
        if not wanted:
            continue
        try:
            with open(result.path, "rb") as handle:
                source = handle.read()
            text, encoding = decode_source(source)
        except (OSError, DecodeFailure) as exc:
            left.append(f"{result.path}: not annotated ({exc})")
            continue
        new, written, skipped = add_noqa(text, wanted)
        left += [f"{result.path}:{line}: no place for a `# noqa` comment (inside a string or after a backslash)" for line in skipped]
        if written:
            bom = "\ufeff" if source.startswith(b"\xef\xbb\xbf") else ""
            try:
                write_atomic(result.path, (bom + new).encode(encoding))
            except OSError as exc:
                raise _fail(f"{result.path}: cannot write: {exc.strerror}") from None
            added += written
            files += 1
    for line in left:
        click.echo(line, err=True)
    click.echo(f"added {added} `# noqa` comment(s) in {files} file(s)")
    raise click.exceptions.Exit(1 if left else 0)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--unsafe-fixes", is_flag=True, help="Also apply the unsafe fixes (DAO103 commit flags, DAO105 at boundaries, DAO301 renames).")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff and write nothing; exit 1 if anything would change.")
@click.option("--select", help="Comma-separated codes or prefixes to fix (replaces the configured list).")
@click.option("--extend-select", help="Codes or prefixes to fix in addition.")
@click.option("--ignore", help="Codes or prefixes not to fix.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False), help="Findings left that this baseline knows do not fail the run (default: the `baseline` key).")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when a file was changed, even if nothing new is left (for pre-commit and CI).")
@_run_options("No summary.")
def fix(
    paths: Sequence[str],
    unsafe_fixes: bool,
    show_diff: bool,
    select: Optional[str],
    extend_select: Optional[str],
    ignore: Optional[str],
    baseline_file: Optional[str],
    exit_non_zero_on_fix: bool,
    jobs: Optional[int],
    config_file: Optional[str],
    quiet: bool,
    color: Optional[bool],
    no_cache: bool,
    cache_dir: Optional[str],
) -> None:
    """Rewrite PATHS to the DAO rules: DAOs join the caller's unit of work through SAVEPOINTs.

    Only the named files get fixes (a cross-file fix may need another file: it is listed).
    Exit 0 when nothing new is left (findings the baseline knows do not count), 1 when new
    findings are left (or, with --exit-non-zero-on-fix, when a file changed), 2 on errors.
    """
    import signal
    from concurrent.futures.process import BrokenProcessPool

    from ..api import fix_paths
    from ..running.baseline import BaselineError, new_findings
    from ..fix.fixer import FixReport
    from .reporters.text import render_fix

    def terminate(signum, frame):  # noqa: ANN001, ANN202 - SIGTERM ends the run like Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        resolver = _resolver(select, extend_select, ignore, config_file)
        targets, known = _files_with_new_findings(paths, resolver, baseline_file, jobs, no_cache, cache_dir)
        with _progress(color) as progress:
            report = FixReport() if not targets else fix_paths(
                targets,
                resolver,
                unsafe=unsafe_fixes,
                write=not show_diff,
                jobs=jobs,
                progress=progress,
                cache=not no_cache,
                cache_dir=cache_dir,
                on_wait=lambda: click.echo("dao-lint: waiting for another `dao-lint fix` of this project to finish", err=True),
            )
    except (ConfigError, PathError, BaselineError) as exc:
        raise _fail(str(exc)) from None
    except (KeyboardInterrupt, BrokenProcessPool):
        click.echo("dao-lint: interrupted; every file is either as it was or completely fixed", err=True)
        raise click.exceptions.Exit(130) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    report.skipped += [(path, "only findings the baseline knows: left as it is") for path in known]
    try:
        new = new_findings(report.remaining, resolver, paths, baseline_file)
    except BaselineError as exc:
        raise _fail(str(exc)) from None
    report.baselined = len(report.remaining) - len(new)
    render_fix(report, sys.stdout, diff=show_diff, color=color, quiet=quiet, summary=sys.stderr if show_diff else sys.stdout)
    if any(item.error for item in report.files):
        raise click.exceptions.Exit(2)
    if show_diff:
        raise click.exceptions.Exit(1 if report.changed else 0)
    raise click.exceptions.Exit(1 if new or (exit_non_zero_on_fix and report.changed) else 0)


def _files_with_new_findings(paths, resolver, baseline_file, jobs, no_cache, cache_dir):  # noqa: ANN001, ANN202
    """(what `fix` works on, the files it leaves alone): with a baseline, a file whose
    findings the baseline all knows is legacy accepted as it is, not something to rewrite."""
    from ..running.baseline import new_findings

    paths = list(paths or (".",))
    config = resolver.for_path(paths[0])
    if baseline_file is None and not config.baseline:
        return paths, []
    results = lint_paths(paths, resolver, jobs, cache=not no_cache, cache_dir=cache_dir)
    fresh = {d.path for d in new_findings([d for r in results for d in r.diagnostics], resolver, paths, baseline_file)}
    known = [r.path for r in results if r.diagnostics and r.path not in fresh]
    if not known:
        return paths, []
    return [r.path for r in results if r.path not in known], known


class _progress:
    """A rich progress bar on a terminal (stderr); nothing when piped."""

    def __init__(self, color: Optional[bool]) -> None:
        self.bar = None
        if sys.stderr.isatty() and color is not False:
            from rich.progress import Progress

            self.bar = Progress(transient=True, console=None)

    def __enter__(self):  # noqa: ANN204
        if self.bar is None:
            return None
        self.bar.start()

        def start(label: str, done: int, total: int):  # noqa: ANN202
            task = self.bar.add_task(label, total=total, completed=done)
            return lambda n: self.bar.advance(task, n)

        return start

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@cli.command()
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Cache directory to remove.")
def clean(cache_dir: Optional[str]) -> None:
    """Remove the result cache."""
    from ..running.cache import DEFAULT_DIRECTORY, clean as remove

    try:
        config = ConfigResolver().for_path(".")
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    directory = cache_dir or os.path.join(config.root, DEFAULT_DIRECTORY)
    click.echo(f"removed {directory}" if remove(directory) else f"no cache at {directory}")


@cli.command("rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_rules(output_format: str) -> None:
    """List every rule: code, name, fix, default."""
    import json

    from .. import rules  # noqa: F401 - registers the rule classes
    from ..rules.base import registry

    rows = [
        {
            "code": code,
            "name": rule.name,
            "seed": rule.seed,
            "fixable": rule.fix_safety,
            "default": rule.default_enabled,
            "summary": rule.summary(),
        }
        for code, rule in sorted(registry.items())
    ]
    if output_format == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    if not sys.stdout.isatty():
        # piped: one line per rule, whole (grep, cut and awk read it), tab-separated
        for row in rows:
            click.echo("\t".join((row["code"], row["name"], row["seed"], row["fixable"], "on" if row["default"] else "opt-in", row["summary"])))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("code", "name", "rule", "fix", "default", "what it flags")
    for row in rows:
        table.add_row(row["code"], row["name"], row["seed"], row["fixable"], "on" if row["default"] else "opt-in", row["summary"])
    Console(soft_wrap=False).print(table)


@cli.command("rule")
@click.argument("code")
def show_rule(code: str) -> None:
    """Print the documentation page of one rule."""
    from ..checking.docs import rule_page
    from .reporters.text import render_markdown
    from .. import rules  # noqa: F401 - registers the rule classes
    from ..rules.base import registry

    from ..checking.docs import tool_page
    from ..rules.base import TOOL_CODES

    rule = registry.get(code.upper())
    if rule is None and code.upper() not in {t.code for t in TOOL_CODES}:
        raise _fail(f"unknown rule {code!r} (see `dao-lint rules`)")
    page = rule_page(rule) if rule is not None else tool_page(code.upper())
    if sys.stdout.isatty():
        render_markdown(page, sys.stdout)
    else:
        click.echo(page, nl=False)


@cli.command("baseline")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Configuration file to use.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Processes to use (default: CPU count).")
def baseline_command(file: str, paths: Sequence[str], config_file: Optional[str], jobs: Optional[int]) -> None:
    """Record every current finding in PATHS in the baseline FILE (replacing it)."""
    from collections import Counter

    from ..running.baseline import Baseline

    try:
        resolver = _resolver(None, None, None, config_file)
        results = lint_paths(paths or (".",), resolver, jobs, cache=True)
        baseline = Baseline(file)
        baseline.counts = Counter(baseline.entries(results).values())
        baseline.write()
    except (ConfigError, PathError) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{file}: cannot write: {exc.strerror}") from None
    click.echo(f"{file}: recorded {sum(baseline.counts.values())} finding(s)")


@cli.command("init")
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False))
@click.option("--print", "print_only", is_flag=True, help="Print the section instead of writing pyproject.toml.")
@click.option("--force", is_flag=True, help="Replace an existing [tool.dao-lint] section.")
def init(path: str, print_only: bool, force: bool) -> None:
    """Survey the project at PATH and write its [tool.dao-lint] section to PATH/pyproject.toml."""
    from ..init.survey import SectionExists, count_findings, plan_boundaries, refuse_existing, report, section, survey, write_section

    if not print_only and not force:
        try:
            refuse_existing(os.path.join(path, "pyproject.toml"))
        except SectionExists as exc:
            raise _fail(str(exc)) from None
    found = survey(path)
    click.echo("dao-lint: surveyed; planning `fix` to find the boundaries to declare...", err=True)
    plan_boundaries(found, section(found))
    text = section(found)
    click.echo("dao-lint: checking the project with the proposed section...", err=True)
    count_findings(found, text)
    for line in report(found):
        click.echo(line, err=True)
    if print_only:
        click.echo(text, nl=False)
        return
    try:
        done = write_section(os.path.join(path, "pyproject.toml"), text, force=force)
    except SectionExists as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename}: cannot write: {exc.strerror}") from None
    click.echo(f"{done}:\n{text}", nl=False)


@cli.command("docs", hidden=True)  # (for dao-lint's own repository; `dao-lint rule CODE` is the user's)
@click.option("--output", default=os.path.join("docs", "rules"), show_default=True, type=click.Path(file_okay=False))
@click.option("--check", "check_only", is_flag=True, help="Exit 1 when a page is stale; write nothing.")
def docs(output: str, check_only: bool) -> None:
    """Write dao-lint's own docs/rules/*.md from the rule classes (maintainers)."""
    from ..checking.docs import write_docs

    stale = write_docs(output, check=check_only)
    for name in stale:
        click.echo(f"{'stale' if check_only else 'wrote'}: {os.path.join(output, name)}")
    if check_only and stale:
        raise click.exceptions.Exit(1)


def _leave(code: int) -> None:
    """Exit at once, skipping the interpreter's exit handlers: after an interrupt they only
    trip over the stopped worker processes (every write is atomic, nothing is pending)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Console-script entry point."""
    import warnings

    # warnings about the checked code (libcst evaluates string literals with Python's own
    # parser): dao-lint reads that code, it does not run it
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning, message="invalid escape sequence")
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="dao-lint")
    except SystemExit as exc:
        if exc.code == 130:  # an interrupted run (fix says so itself)
            _leave(130)
        raise
    except KeyboardInterrupt:
        click.echo("dao-lint: interrupted", err=True)
        _leave(130)
