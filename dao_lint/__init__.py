"""dao-lint: a linter and codemod for SQLAlchemy code that follows the DAO rules.

The library names below are imported on first use: `python -m dao_lint` imports this module
before its own code can handle an interrupt, and a flake8 worker that only reads the run
record needs none of them.
"""
from importlib import import_module

from .version import __version__

_HOMES = {
    "lint_file": ".api",
    "lint_paths": ".api",
    "lint_source": ".api",
    "Config": ".foundations.config",
    "ConfigError": ".foundations.config",
    "Diagnostic": ".foundations.types",
    "FileResult": ".foundations.types",
    "Span": ".foundations.types",
}

__all__ = ["__version__", *sorted(_HOMES)]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dao_lint' has no attribute {name!r}")
    return getattr(import_module(home, __name__), name)


def __dir__() -> list:
    return sorted(set(globals()) | set(_HOMES))
