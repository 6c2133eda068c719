"""`dao-lint fix`: the project-wide plan (which commits may go, which stay and why, which
boundaries get the decorator: planning, fixplan, refusals, decoration, renames) and the
fixer that carries it out file by file with the codemods, writing safely.

May import: running, checking, rules, model, codemods, analysis, foundations.
"""
