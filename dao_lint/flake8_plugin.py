"""flake8 adapter: the same engine, codes, messages, positions and `[tool.dao-lint]` config.

The plugin applies dao-lint's `# noqa` rule (a comment on the reported line or on the first
line of its statement); flake8 then applies its own, which covers a subset of those lines,
so flake8 and `dao-lint check` report the same findings.
"""
from __future__ import annotations

from typing import Iterator, Sequence, Tuple

from .version import __version__
from .config import ConfigError, ConfigResolver

__all__ = ["DaoLintPlugin"]

_resolver = None


def _config_for(filename: str):  # noqa: ANN202
    global _resolver
    if _resolver is None:
        _resolver = ConfigResolver()
    return _resolver.for_path(filename)


class DaoLintPlugin:
    """A flake8 tree plugin that reads the file's lines and runs dao-lint's rules."""

    name = "dao-lint"
    version = __version__

    def __init__(self, tree: object, lines: Sequence[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[Tuple[int, int, str, type]]:
        try:
            config = _config_for(self.filename)
        except ConfigError as exc:
            yield 1, 0, f"DAO000 configuration error: {exc}", type(self)
            return
        from .editor import project_result

        text = "".join(self.lines)
        result = project_result(self.filename, config, text)
        if result is not None:  # the file as saved: the project run (usually cached) has it
            for d in result.diagnostics:
                yield d.span.line, d.span.column, f"{d.code} {d.message}", type(self)
            return
        yield from self._check(config, text)

    def _check(self, config, text: str) -> Iterator[Tuple[int, int, str, type]]:  # noqa: ANN001
        """A file outside the project, or not as saved (an editor's buffer, stdin)."""
        from .analysis import FileContext
        from .api import cache_directory
        from .editor import project_findings
        from .savepoint_use import project_uses_begin_nested
        from .cache import ResultCache
        from .engine import check_source, rules_for
        from .suppress import filter_suppressed

        # flake8 calls every plugin on every file: most files cannot match any rule, and
        # flake8 reports syntax errors itself (E999), so those return before any real work
        if not rules_for(text, FileContext.for_path(self.filename, config), config.enabled_codes(self.filename)):
            return
        store = ResultCache(cache_directory(config))
        content = text.encode("utf-8")
        result = store.get(self.filename, content, config)
        if result is None:
            result = check_source(text, self.filename, config, project_nested=lambda: project_uses_begin_nested(config, store))
            if not result.internal_errors:
                store.put(self.filename, content, config, result)
        diagnostics = list(result.diagnostics)
        if result.parsed:
            known = {(d.code, d.span.line, d.span.column) for d in diagnostics}
            extra = filter_suppressed(text, project_findings(self.filename, config))
            diagnostics += [d for d in extra if (d.code, d.span.line, d.span.column) not in known]
        for d in sorted(diagnostics, key=lambda d: (d.span.line, d.span.column, d.code)):
            yield d.span.line, d.span.column, f"{d.code} {d.message}", type(self)
