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
        from .editor import buffer_result, project_result, without_baselined

        text = "".join(self.lines)
        # the file as saved: the project run (usually cached) has it; else (an editor's
        # buffer, stdin, a file outside the project) the buffer is checked as that file
        result = project_result(self.filename, config, text) or buffer_result(self.filename, config, text)
        for d in without_baselined(self.filename, config, text, list(result.diagnostics)):
            yield d.span.line, d.span.column, f"{d.code} {d.message}", type(self)
