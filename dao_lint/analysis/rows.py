"""Rows a function loaded: which local names hold rows of a session query, of which model.

`x = Setting.query.filter_by(...).first()`, `rows = session.query(Member).filter(...).all()`,
`members = session.query(Member).filter(...)` (a query: iterating it gives rows), and `for m
in <any of those>` (or `members.all()`). A mapped instance has no method of SQLAlchemy's, so
`m.delete()` on such a row runs the model's own method: an active record writing (DAO701 per
item). Plain syntax, no metadata: shared by the DAO facts and the project summary.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import libcst as cst

from .names import dotted_name
from .queries import QUERY_BUILDERS, model_query_root

__all__ = ["ROW_WRITES", "LoadedRows", "query_result"]

# query methods that return one row of the model queried, and all of them
_ONE_ROW = frozenset({"first", "one", "one_or_none", "get", "first_or_404", "get_or_404", "one_or_404"})
_ROWS = frozenset({"all"})
# an active record's methods that write its row (`membership.delete()`, `setting.save()`)
ROW_WRITES = ("delete", "purge", "save", "remove")


def _model(name: Optional[str]) -> Optional[str]:
    return name if name and name.rsplit(".", 1)[-1][:1].isupper() else None


def _chain_model(value: cst.BaseExpression, gets: bool) -> Optional[Tuple[str, bool]]:
    """(the model, whether through `get`) of the query a chain starts from: `Setting.query...`,
    `session.query(Member)...`, and with `gets` `session.get(User, pk)`."""
    current = value
    while isinstance(current, (cst.Call, cst.Attribute)):
        if isinstance(current, cst.Attribute) and model_query_root(current) is not None:
            return (model, False) if (model := _model(model_query_root(current))) else None
        if isinstance(current, cst.Call) and isinstance(current.func, cst.Attribute) and current.args:
            method = current.func.attr.value
            model = _model(dotted_name(current.args[0].value))
            if method == "query" and model:
                return model, False
            if gets and method == "get" and len(current.args) >= 2 and model:
                return model, True
        current = current.func if isinstance(current, cst.Call) else current.value
    return None


def query_result(value: cst.BaseExpression) -> Optional[Tuple[str, bool]]:
    """(the model, whether many rows) for a query that returns rows of one model:
    `Setting.query.filter_by(...).first()`, `session.query(Member).filter(...).all()`,
    `session.get(User, pk)`."""
    if isinstance(value, cst.Await):
        value = value.expression
    if not isinstance(value, cst.Call) or not isinstance(value.func, cst.Attribute):
        return None
    last = value.func.attr.value
    found = _chain_model(value, gets=True) if last in _ONE_ROW or last in _ROWS else None
    return (found[0], last in _ROWS and not found[1]) if found else None


def _query(value: cst.BaseExpression) -> Optional[str]:
    """The model of a query kept to run later: a chain of query steps, no terminal call."""
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value not in QUERY_BUILDERS and value.func.attr.value != "query":
        return None
    found = _chain_model(value, gets=False)
    return found[0] if found else None


class LoadedRows:
    """Per function, the names holding loaded rows (model, whether many) or a query."""

    def __init__(self) -> None:
        self.frames: List[Dict[str, Tuple[str, str]]] = [{}]  # name -> (model, "one"/"many"/"query")

    def enter(self) -> None:
        self.frames.append({})

    def leave(self) -> None:
        self.frames.pop()

    def _held(self, value: cst.BaseExpression) -> Optional[Tuple[str, str]]:
        rows = query_result(value)
        if rows is not None:
            return rows[0], "many" if rows[1] else "one"
        query = _query(value)
        if query is not None:
            return query, "query"
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "all" and isinstance(value.func.value, cst.Name):
            held = self.frames[-1].get(value.func.value.value)  # `members.all()`
            if held is not None and held[1] == "query":
                return held[0], "many"
        if isinstance(value, cst.Name):
            return self.frames[-1].get(value.value)
        return None

    def assign(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            held = self._held(value)
            if held is None:
                self.frames[-1].pop(target.value, None)
            else:
                self.frames[-1][target.value] = held

    def loop(self, target: cst.BaseExpression, iterated: cst.BaseExpression) -> None:
        """`for m in <rows>`: each `m` is one row."""
        if not isinstance(target, cst.Name):
            return
        held = self._held(iterated)
        if held is not None and held[1] in ("many", "query"):
            self.frames[-1][target.value] = (held[0], "one")
        else:
            self.frames[-1].pop(target.value, None)

    def row_write(self, call: cst.Call) -> Optional[Tuple[str, str]]:
        """(the model, the method) for `row.delete()` on a row this function loaded."""
        func = call.func
        if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.Name) or func.attr.value not in ROW_WRITES:
            return None
        held = self.frames[-1].get(func.value.value)
        if held is None or held[1] != "one":
            return None
        return held[0].rsplit(".", 1)[-1], func.attr.value
