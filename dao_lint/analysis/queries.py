"""How a call on a session, or on a Flask-SQLAlchemy model's `query`, reads or writes:
`session.execute(update(...))`, `session.query(X).filter(...).delete()`,
`Chart.query.filter_by(...).first()`. A mixin of `SessionFacts`, which owns the state it
reads (`scopes`, `query_writes`, `imports`, `classes`)."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .names import dotted_name, qualify, root_module
from .session_kinds import METHOD_ACTIONS, MODEL_QUERY_METHODS, NON_DB_PACKAGES, Action, Origin, SessionUse, statement_kind

__all__ = ["QueryCalls"]


class QueryCalls:
    """The query-reading half of `SessionFacts`."""

    def _action(self, node: cst.Call, method: str) -> Optional[Action]:
        if method in ("execute", "exec"):
            if not node.args:
                return None
            argument = node.args[0].value
            if isinstance(argument, cst.Name):
                for scope in reversed(self.scopes):
                    if argument.value in scope.statements:
                        return scope.statements[argument.value]
                return None
            return statement_kind(argument)
        if method == "get":
            # session.get(Model, pk); a requests-style session.get(url) is not a read
            positional = [a for a in node.args if a.keyword is None and not a.star]
            if len(positional) < 2:
                return None
            entity = dotted_name(positional[0].value) or ""
            return Action.READ if entity.rsplit(".", 1)[-1][:1].isupper() else None
        if method == "query" and id(node) in self.query_writes:
            return Action.WRITE
        return METHOD_ACTIONS.get(method)

    def _mark_query_write(self, receiver: cst.BaseExpression, method: str) -> None:
        """`session.query(X).filter(...).delete()` writes: remember the `query` call."""
        current = receiver
        while isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute):
            if current.func.attr.value == "query":
                self.query_writes[id(current)] = method
                return
            inner = current.func.value
            # Flask-SQLAlchemy: Model.query.filter_by(...).delete()
            if isinstance(inner, cst.Attribute) and inner.attr.value == "query":
                self.query_writes[id(current)] = method
                return
            current = inner

    def _model_query(self, node: cst.Call, receiver: cst.BaseExpression, method: str, awaited: bool) -> None:
        """Flask-SQLAlchemy's `Model.query.<method>(...)`: a read (or a write for update/delete)."""
        if method not in MODEL_QUERY_METHODS or not isinstance(receiver, cst.Attribute):
            return
        if receiver.attr.value != "query" or not isinstance(receiver.value, cst.Name):
            return
        model = receiver.value.value
        # `Chart.query`, and `cls.query` in a class method of a model (an active record)
        if not model[:1].isupper() and not (model == "cls" and self.classes):
            return
        qualified = qualify(model, self.imports) or model
        if root_module(qualified) in NON_DB_PACKAGES:
            return
        if method in ("update", "delete"):
            action = Action.WRITE
        elif id(node) in self.query_writes:
            action, method = Action.WRITE, f"{method}(...).{self.query_writes[id(node)]}"
        else:
            action = Action.READ
        self.set_metadata(node, SessionUse(action, method, f"{model}.query", Origin.NAME, awaited))
