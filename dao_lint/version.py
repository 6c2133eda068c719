"""The version of dao-lint (one place: pyproject.toml reads it too)."""

__version__ = "0.1.0"
