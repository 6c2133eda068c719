"""Foundations every layer uses: configuration (`[tool.dao-lint]`, presets), glob
patterns, the codes, the value types, the words of SQLAlchemy's world (vocabulary), source
files read and written atomically, and `# noqa` comments.

May import: nothing else of dao_lint.
"""
