"""The vocabulary of session analysis: what a call does (`Action`), where its session comes
from (`Origin`), the fact attached to a call (`SessionUse`), and the names that make
sessions, factories and engines."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import libcst as cst

from .names import callee_name
from ..foundations.vocabulary import ENGINE_MAKERS, FACTORY_MAKERS, FACTORY_NAMES, NON_DB_PACKAGES, SCOPED_MAKERS, SESSION_CLASSES, SESSION_TYPES

__all__ = [
    "Action", "Origin", "SessionUse", "FunctionSessions", "NON_DB_PACKAGES", "SESSION_TYPES", "SESSION_CLASSES",
    "FACTORY_MAKERS", "SCOPED_MAKERS", "FACTORY_NAMES", "ENGINE_MAKERS", "METHOD_ACTIONS", "STATEMENT_KINDS",
    "MODEL_QUERY_METHODS", "OWN_ORIGINS", "NEVER_SESSIONS", "statement_kind",
]


class Action(enum.Enum):
    COMMIT = "commit"
    ROLLBACK = "rollback"
    CLOSE = "close"
    REMOVE = "remove"
    BEGIN = "begin"
    BEGIN_NESTED = "begin_nested"
    CREATE = "create"  # a new session: Session(...), SessionLocal(), scoped_session(...)
    ENGINE_TRANSACTION = "engine_transaction"  # engine.begin() / engine.connect()
    WRITE = "write"
    READ = "read"
    REFRESH = "refresh"  # refresh(), expire(), expire_all()


class Origin(enum.Enum):
    """Where the session a call uses came from."""

    NAME = "name"  # a configured session name, e.g. db.session
    PARAMETER = "parameter"  # handed in to the enclosing function
    CREATED = "created"  # created in this function (or module) by the code itself
    OBTAINED = "obtained"  # returned by a helper such as get_session()
    NONE = "none"  # a creation or engine call: not made on a session


@dataclass(frozen=True)
class SessionUse:
    """A call made on (or creating) a session."""

    action: Action
    method: str  # `commit`, `query`, `Session`, `begin`...
    session: str  # the session expression as written: `db.session`, `self._session`
    origin: Origin
    awaited: bool = False


@dataclass(frozen=True)
class FunctionSessions:
    """The parameters of a function that are sessions."""

    parameters: Tuple[str, ...]


METHOD_ACTIONS: Dict[str, Action] = {
    "commit": Action.COMMIT,
    "rollback": Action.ROLLBACK,
    "close": Action.CLOSE,
    "close_all": Action.CLOSE,
    "remove": Action.REMOVE,
    "begin": Action.BEGIN,
    "begin_nested": Action.BEGIN_NESTED,
    "add": Action.WRITE,
    "add_all": Action.WRITE,
    "merge": Action.WRITE,
    "delete": Action.WRITE,
    "flush": Action.WRITE,
    "bulk_save_objects": Action.WRITE,
    "bulk_insert_mappings": Action.WRITE,
    "bulk_update_mappings": Action.WRITE,
    "query": Action.READ,
    "refresh": Action.REFRESH,
    "expire": Action.REFRESH,
    "expire_all": Action.REFRESH,
    "scalars": Action.READ,
    "scalar": Action.READ,
}
STATEMENT_KINDS = {"insert": Action.WRITE, "update": Action.WRITE, "delete": Action.WRITE, "select": Action.READ}
MODEL_QUERY_METHODS = frozenset(
    {
        "filter", "filter_by", "get", "get_or_404", "all", "first", "first_or_404", "one", "one_or_none",
        "order_by", "join", "outerjoin", "count", "options", "paginate", "limit", "with_entities",
        "distinct", "group_by", "update", "delete", "exists", "offset",
    }
)


def statement_kind(node: cst.BaseExpression) -> Optional[Action]:
    """READ/WRITE for `select(...)...`, `update(...)...`, `Model.__table__.insert()...`."""
    innermost: Optional[cst.Call] = None
    current: cst.CSTNode = node
    while True:
        if isinstance(current, cst.Call):
            innermost = current
            current = current.func
        elif isinstance(current, cst.Attribute):
            current = current.value
        else:
            break
    if innermost is None:
        return None
    return STATEMENT_KINDS.get(callee_name(innermost) or "")


# values that are never a session, whatever name they are bound to
NEVER_SESSIONS = (
    cst.BaseNumber, cst.BaseString, cst.List, cst.Tuple, cst.Set, cst.Dict, cst.ListComp, cst.SetComp,
    cst.DictComp, cst.GeneratorExp, cst.BinaryOperation, cst.UnaryOperation, cst.Comparison, cst.Lambda,
)

# sessions a function obtained itself: no caller's unit of work can commit them
OWN_ORIGINS = (Origin.CREATED, Origin.OBTAINED)
