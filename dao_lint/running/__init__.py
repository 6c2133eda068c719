"""Running over a project's files: finding them (discovery), spreading them over processes
(workers), the result cache, baselines, and indexing a project for `check` and `fix`
(each file checked, summarised, joined into the index, the session model and the
project-wide savepoint fact built once per run).

May import: checking, model, analysis, foundations, version.
"""
