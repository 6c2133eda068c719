"""Rewrites behind `dao-lint fix`: one module per fix, each a libcst transformer.

May import: analysis, foundations.
"""
