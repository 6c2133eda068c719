"""dao-lint: a linter and codemod for SQLAlchemy code that follows the DAO rules."""
from .api import lint_file, lint_paths, lint_source
from .config import Config, ConfigError
from .types import Diagnostic, FileResult, Span
from .version import __version__


__all__ = [
    "Config",
    "ConfigError",
    "Diagnostic",
    "FileResult",
    "Span",
    "__version__",
    "lint_file",
    "lint_paths",
    "lint_source",
]
