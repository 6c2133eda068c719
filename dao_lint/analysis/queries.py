"""How a call on a session, or on a Flask-SQLAlchemy model's `query`, reads or writes:
`session.execute(update(...))`, `session.query(X).filter(...).delete()`,
`Chart.query.filter_by(...).first()`, `Chart.query` kept or passed on, a statement or a
query kept in a name and executed or written through later. A mixin of `SessionFacts`,
which owns the state it reads (`scopes`, `query_writes`, `imports`, `classes`, `engines`)."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from .names import callee_name, dotted_name, qualify, root_module
from .session_kinds import ENGINE_MAKERS, METHOD_ACTIONS, NON_DB_PACKAGES, Action, Origin, SessionUse, statement_kind

__all__ = ["QUERY_BUILDERS", "QueryCalls", "model_query_root"]

# methods of a query that give another query (what a name keeps is still a query)
QUERY_BUILDERS = frozenset({
    "filter", "filter_by", "where", "join", "outerjoin", "order_by", "options", "limit", "offset", "distinct",
    "group_by", "having", "with_entities", "with_for_update", "select_from", "params", "execution_options",
    "add_columns", "add_entity", "enable_eagerloads", "populate_existing", "correlate", "union", "union_all",
    "with_parent", "yield_per", "join_from", "outerjoin_from", "reset_joinpoint", "autoflush", "slice",
})
_SQL_VERBS = {"select": Action.READ, "with": Action.READ, "insert": Action.WRITE, "update": Action.WRITE,
              "delete": Action.WRITE, "merge": Action.WRITE, "upsert": Action.WRITE}


def model_query_root(node: cst.BaseExpression) -> Optional[str]:
    """`Chart` for `Chart.query` (a Flask-SQLAlchemy model's query), `cls` for `cls.query`,
    `self.role_model` for `self.role_model.query` (a model kept in an attribute)."""
    if not isinstance(node, cst.Attribute) or node.attr.value != "query":
        return None
    if isinstance(node.value, cst.Name):
        model = node.value.value
        return model if model[:1].isupper() or model == "cls" else None
    dotted = dotted_name(node.value)
    last = dotted.rsplit(".", 1)[-1] if dotted else ""
    return dotted if last[:1].isupper() or last.lower() == "model" or last.lower().endswith("_model") else None


def _sql_text(node: cst.BaseExpression) -> Optional[Action]:
    """READ/WRITE for `text("UPDATE ...")` by the statement's first word."""
    if not isinstance(node, cst.Call) or callee_name(node) != "text" or not node.args:
        return None
    value = node.args[0].value
    literal = value.evaluated_value if isinstance(value, cst.SimpleString) else None
    if isinstance(value, cst.ConcatenatedString):
        literal = value.evaluated_value
    if not isinstance(literal, str) or not literal.split():
        return None
    return _SQL_VERBS.get(literal.split()[0].lower())


class QueryCalls:
    """The query-reading half of `SessionFacts`."""

    def statement_of(self, node: cst.BaseExpression) -> Optional[Action]:
        """READ/WRITE for a statement: built here (`update(User).where(...)`, with
        `.returning(...)` or not), raw SQL (`text("DELETE ...")`), or a name a statement
        was assigned to, perhaps refined (`stmt.where(...)`)."""
        found = statement_kind(node) or _sql_text(node)
        if found is not None:
            return found
        current = node
        while isinstance(current, (cst.Call, cst.Attribute)):
            current = current.func if isinstance(current, cst.Call) else current.value
        if isinstance(current, cst.Name):
            for scope in reversed(self.scopes):
                if current.value in scope.statements:
                    return scope.statements[current.value]
        return None

    def query_source(self, node: cst.BaseExpression) -> Optional[str]:
        """The session (or `Model.query`) a query chain starts from: `db.session` for
        `db.session.query(X).filter(...)`, `Chart.query` for `Chart.query.filter_by(...)`,
        or the session of a query kept in a name (`q.filter(...)`)."""
        current = node
        while isinstance(current, (cst.Call, cst.Attribute)):
            if isinstance(current, cst.Attribute) and model_query_root(current) is not None:
                return dotted_name(current)
            if not isinstance(current, cst.Call) or not isinstance(current.func, cst.Attribute):
                return None  # an attribute of a result, or a call of something else
            method = current.func.attr.value
            if method == "query":
                receiver = current.func.value
                return dotted_name(receiver) if self.session_origin(receiver) is not None else None
            if method not in QUERY_BUILDERS:
                return None  # `.first()`, `.all()`: the query ran, what is kept is its result
            current = current.func.value
        if isinstance(current, cst.Name) and current is not node:
            for scope in reversed(self.scopes):
                if current.value in scope.queries:
                    return scope.queries[current.value]
        return None

    def _action(self, node: cst.Call, method: str) -> Optional[Action]:
        if method in ("execute", "exec"):
            return self.statement_of(node.args[0].value) if node.args else None
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

    def _written_through(self, node: cst.Call, receiver: cst.BaseExpression, method: str, awaited: bool) -> bool:
        """`q.update({...})` / `q.delete()` where `q` holds a query: a write."""
        if method not in ("update", "delete"):
            return False
        root = receiver
        while isinstance(root, (cst.Call, cst.Attribute)):
            root = root.func if isinstance(root, cst.Call) else root.value
        kept = next((s.queries[root.value] for s in reversed(self.scopes) if isinstance(root, cst.Name) and root.value in s.queries), None)
        if kept is None:
            return False  # (written inline, the query call itself reports it: _mark_query_write)
        source = kept
        self.set_metadata(node, SessionUse(Action.WRITE, f"query(...).{method}", source, Origin.NAME, awaited))
        return True

    def _model_query(self, node: cst.Call, receiver: cst.BaseExpression, method: str, awaited: bool) -> None:
        """Flask-SQLAlchemy's `Model.query.<method>(...)`: a read (or a write for update/delete)."""
        model = model_query_root(receiver)
        if model is None or (model == "cls" and not self.classes):
            return
        self.queries_seen.add(id(receiver))
        if self._not_a_query(receiver):
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

    def _is_engine(self, expr: cst.BaseExpression) -> bool:
        """`engine`, `get_engine()`, `create_engine(...)`, a name bound to an engine: its
        `begin()` / `connect()` open a transaction of their own."""
        if isinstance(expr, cst.Call):
            name = callee_name(expr) or ""
            return name in ENGINE_MAKERS or name == "get_engine"
        dotted = dotted_name(expr)
        if dotted is None:
            return False
        last = dotted.rsplit(".", 1)[-1]
        return dotted in self.engines or last == "engine" or last.endswith("_engine")

    def _not_a_query(self, node: cst.Attribute) -> bool:
        """The project's model says `X.query` is something else (an enumeration's member)."""
        return self._project(node) == ("value", ("not",))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        """`Chart.query` not called on the spot: kept in a name, passed on, returned."""
        if node.attr.value == "session" and model_query_root(node.value) is not None:
            self.queries_seen.add(id(node.value))  # `Chart.query.session`: the session itself
            return
        model = model_query_root(node)
        if model is None or id(node) in self.queries_seen or (model == "cls" and not self.classes) or self._not_a_query(node):
            return
        if root_module(qualify(model, self.imports) or model) in NON_DB_PACKAGES:
            return
        self.set_metadata(node, SessionUse(Action.READ, "query", model, Origin.NAME))

