"""Commit helpers: functions whose whole job is to commit (`def commit(): db.session.commit()`).
RULES.md: a commit helper is `commit()` under another name, so its calls are commits and
its body is no finding of its own."""
from __future__ import annotations

import libcst as cst

from .session_kinds import Action
from .structure import is_docstring

__all__ = ["is_commit_helper"]


def is_commit_helper(function, facts) -> bool:  # noqa: ANN001 - a FunctionDef (or None), node -> SessionUse
    """A function whose job is to commit (`def commit(): db.session.commit()`): its body,
    docstring aside, is session commits (and closes), possibly in a `try` whose handlers
    roll back, log or re-raise. It is `commit()` under another name: its calls are commits."""
    if function is None or not isinstance(function.body, cst.IndentedBlock):
        return False
    body = [s for s in function.body.body if not is_docstring(s)]
    if len(body) == 1 and isinstance(body[0], cst.Try):
        body = list(body[0].body.body) if isinstance(body[0].body, cst.IndentedBlock) else []
    actions = []
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1 or not isinstance(statement.body[0], cst.Expr):
            return False
        value = statement.body[0].value
        value = value.expression if isinstance(value, cst.Await) else value
        use = facts(value) if isinstance(value, cst.Call) else None
        actions.append(getattr(use, "action", None))
    return Action.COMMIT in actions and all(a in (Action.COMMIT, Action.CLOSE) for a in actions)
