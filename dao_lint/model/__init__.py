"""The project model: what each file defines, calls and commits (the summary and the
summarizer that makes it), the index that joins the summaries so names and calls resolve
across modules, the facts derived from it (cross-file findings), and the session model
built from every file's sketch (which names give a session, by what values are).

May import: codemods, analysis, foundations.
"""
