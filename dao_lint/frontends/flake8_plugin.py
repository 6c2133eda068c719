"""flake8 adapter: the same engine, codes, messages, positions and `[tool.dao-lint]` config.

The plugin applies dao-lint's `# noqa` rule (a comment on the reported line or on the first
line of its statement); flake8 then applies its own, which covers a subset of those lines,
so flake8 and `dao-lint check` report the same findings.
"""
from __future__ import annotations

from typing import Iterator, Sequence, Tuple

from ..version import __version__
from ..foundations.config import ConfigError, ConfigResolver

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

    #: none of the DAO codes can be reported with flake8's --select/--ignore: nothing to do
    unwanted = False

    def __init__(self, tree: object, lines: Sequence[str], filename: str) -> None:
        self.lines = lines
        self.filename = filename

    @classmethod
    def parse_options(cls, options: object) -> None:
        """flake8 runs every installed plugin on every file whatever is selected: with a
        selection that leaves out every DAO code (`flake8 --select E9`), checking the project
        would be work nobody sees."""
        cls.unwanted = not _any_code_selected(options)

    def run(self) -> Iterator[Tuple[int, int, str, type]]:
        if self.unwanted:
            return
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


def _any_code_selected(options: object) -> bool:
    """Whether flake8's own decision (select, extend-select, ignore, extend-ignore) keeps any
    DAO code; when its interface cannot be asked, assume it does."""
    from ..foundations.codes import CODES

    try:
        from flake8.style_guide import Decision, DecisionEngine

        engine = DecisionEngine(options)
        return any(engine.decision_for(code) is Decision.Selected for code in CODES)
    except Exception:  # noqa: BLE001 - another flake8: run as before
        return True
