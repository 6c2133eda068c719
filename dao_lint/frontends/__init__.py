"""Front ends: the `dao-lint` command line, the flake8 plugin and the editor adapter behind
it, and the reporters (text, JSON, GitHub annotations, SARIF). The only layer that prints,
reads argv or exits.

May import: init, api, fix, running, checking, rules, model, foundations, version.
"""
