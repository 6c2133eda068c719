"""Errors the unit of work must see (DAO113): a DAO that swallows a database error leaves
its caller committing a transaction that already failed."""
from __future__ import annotations

from typing import List, Optional, Set

import libcst as cst

from ..analysis import DaoFacts, SessionFacts
from ..analysis.walk import visit_in_place
from .base import Invalid, Rule, Valid

__all__ = ["SwallowedDatabaseError"]


_BROAD_ERRORS = frozenset({"SQLAlchemyError", "DBAPIError", "DatabaseError", "StatementError", "Exception", "BaseException", "everything"})
# errors the database raised: the transaction they leave behind is broken (PostgreSQL
# refuses every statement until a rollback), whatever the handler does next. Not
# IntegrityError, whose handling is R6's own remedy, nor the ORM's own errors
# (NoResultFound, InvalidRequestError), which leave the transaction as it was.
_FAILED_TRANSACTION = frozenset({"OperationalError", "ProgrammingError", "DataError", "InternalError", "InterfaceError", "NotSupportedError", "PendingRollbackError"})
_DATABASE_ERRORS = frozenset(
    {
        "SQLAlchemyError", "DBAPIError", "IntegrityError", "OperationalError", "DataError",
        "ProgrammingError", "InternalError", "DatabaseError", "InterfaceError", "NotSupportedError",
        "PendingRollbackError", "StatementError", "InvalidRequestError", "Exception", "BaseException",
    }
)


def _caught(handler: cst.ExceptHandler) -> Optional[str]:
    """The database (or broad) error a handler catches, or None."""
    if handler.type is None:
        return "everything"
    types = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
    for item in types:
        expr = item.value if isinstance(item, cst.Element) else item
        name = expr.attr.value if isinstance(expr, cst.Attribute) else getattr(expr, "value", None)
        if isinstance(name, str) and name in _DATABASE_ERRORS:
            return name
    return None


class SwallowedDatabaseError(Rule):
    """Flags a DAO that catches a database error and neither re-raises nor raises another.

    After a failed flush the session is in a broken transaction; the DAO that hides the
    error leaves the caller to commit on top of it (PendingRollbackError) or, worse, to
    commit half of its work. A DAO translates the error (`raise DAOCreateFailedError() from
    ex`) or lets it pass; the unit of work rolls back.
    """

    code = "DAO113"
    migration_modules = "dao"
    name = "swallowed-database-error"
    seed = "R4"
    message = "DAO `{function}` catches `{error}` around session calls and carries on; re-raise it{or_savepoint} or raise a DAO error from it"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            class UserDAO(BaseDAO):
                @classmethod
                def create(cls, user):
                    try:
                        with db.session.begin_nested():
                            db.session.add(user)
                    except IntegrityError as ex:
                        raise DAOCreateFailedError(exception=ex) from ex
            """
        ),
        Valid(
            """
            class UserDAO(BaseDAO):
                @classmethod
                def find_by_email(cls, email):
                    try:
                        return db.session.query(User).filter_by(email=email).one()
                    except NoResultFound:
                        return None
            """,
            title="not a database failure",
        ),
        Valid(
            """
            class TagDAO(BaseDAO):
                @classmethod
                def get_or_create(cls, name):
                    try:
                        with db.session.begin_nested():
                            tag = Tag(name=name)
                            db.session.add(tag)
                    except IntegrityError:
                        tag = db.session.query(Tag).filter_by(name=name).one()
                    return tag
            """,
            title="a conflict handled by reading the existing row",
        ),
        Valid(
            """
            class TrialDAO(BaseDAO):
                @classmethod
                def find_many(cls, ids):
                    try:
                        with db.session.begin_nested():
                            return db.session.query(Trial).filter(Trial.id.in_(ids)).all()
                    except OperationalError:
                        logger.warning("too many variables for SQLite; reading in batches")
                        return [t for batch in chunks(ids, 500) for t in cls.find_many(batch)]
            """,
            title="an expected failure with a fallback, in a savepoint the failure rolls back",
        ),
        Valid(
            """
            class TrialDAO(BaseDAO):
                @classmethod
                def find_many(cls, ids):
                    try:
                        return db.session.query(Trial).filter(Trial.id.in_(ids)).all()
                    except OperationalError:
                        return db.session.query(Trial).filter(Trial.id >= min(ids)).all()
            """,
            title="a fallback that goes on with the session: had the transaction broken, it raises there, not hidden",
        ),
    ]
    invalid = [
        Invalid(
            """
            class UserDAO(BaseDAO):
                @classmethod
                def create(cls, user):
                    try:
                        db.session.add(user)
                        db.session.flush()
                    except SQLAlchemyError:
                        logger.exception("could not create %s", user)
                        return None
                    return user
            """,
            expect="DAO113 at 7:9",
            remedy="""
            class UserDAO(BaseDAO):
                @classmethod
                def create(cls, user):
                    try:
                        with db.session.begin_nested():
                            db.session.add(user)
                    except SQLAlchemyError:
                        logger.exception("could not create %s", user)
                        raise
                    return user
            """,
        ),
        Invalid(
            """
            class TrialDAO(BaseDAO):
                @classmethod
                def find_many(cls, ids):
                    try:
                        return db.session.query(Trial).filter(Trial.id.in_(ids)).all()
                    except OperationalError:
                        logger.warning("could not read trials")
                        return []
            """,
            expect="DAO113 at 6:9",
            title="an error that breaks the transaction (PostgreSQL refuses every statement until a rollback), hidden",
        ),
        Invalid(
            """
            class ChartDAO(BaseDAO):
                @classmethod
                def find_by_id(cls, model_id):
                    query = db.session.query(Chart)
                    try:
                        return query.filter(Chart.id == model_id).one_or_none()
                    except StatementError:
                        return None
            """,
            expect="DAO113 at 7:9",
            title="the query built before the `try` and run inside it",
        ),
    ]

    def __init__(self, context) -> None:  # noqa: ANN001
        super().__init__(context)
        self.in_dao: List[bool] = [False]
        self.kept: List[Set[str]] = [set()]  # per function: names holding a query of the session

    def visit_Module(self, node: cst.Module) -> None:
        self.in_dao = [False]
        self.kept = [set()]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.fact(DaoFacts, node)
        self.in_dao.append(bool(scope and scope.in_dao and not scope.in_test))
        self.kept.append(set())

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.in_dao.pop()
        self.kept.pop()

    def leave_Assign(self, node: cst.Assign) -> None:
        # `query = session.query(Model)`: the query runs later, inside a `try` perhaps
        # (on leaving: the facts of the value's calls are known once they are walked)
        if self.in_dao[-1] and self._session_calls(node.value):
            self.kept[-1].update(t.target.value for t in node.targets if isinstance(t.target, cst.Name))

    def leave_Try(self, node: cst.Try) -> None:
        if not self.in_dao[-1] or not self._session_calls(node.body):
            return
        for handler in node.handlers:
            error = _caught(handler)
            if error is None or _raises(handler.body):
                continue
            if error not in _BROAD_ERRORS and error not in _FAILED_TRANSACTION:
                continue  # a conflict the constraint decided (R6's remedy), or the ORM's own error
            if error in _FAILED_TRANSACTION and (_in_savepoint(node.body) or self._session_calls(handler.body)):
                # an expected failure the savepoint rolled back alone (the transaction goes
                # on), or handled with more session work (a fallback read: a broken
                # transaction raises there; a rollback: DAO102's finding)
                continue
            scope = self._scope(node)
            if scope is not None and scope.in_dao and not scope.in_test:
                savepoint = ", run those calls in a savepoint (`with session.begin_nested():`)," if error in _FAILED_TRANSACTION else ""
                self.report(handler, function=scope.qualname or "<module>", error=error, or_savepoint=savepoint)

    def _scope(self, node: cst.Try):  # noqa: ANN202
        found = []
        rule = self

        class First(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> Optional[bool]:
                if not found:
                    found.append(rule.fact(DaoFacts, call))
                return False

        visit_in_place(node.body, First())
        return found[0] if found else None

    def _session_calls(self, body: cst.BaseSuite) -> bool:
        found = []
        rule = self

        kept = self.kept[-1]

        class Finder(cst.CSTVisitor):
            def visit_Call(self, call: cst.Call) -> None:
                if rule.fact(SessionFacts, call) is not None or _root(call) in kept:
                    found.append(call)

            def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
                return False

        visit_in_place(body, Finder())
        return bool(found)


def _root(call: cst.Call) -> Optional[str]:
    """`query` for `query.filter(...).one_or_none()`."""
    current: cst.BaseExpression = call
    while isinstance(current, (cst.Call, cst.Attribute)):
        current = current.func if isinstance(current, cst.Call) else current.value
    return current.value if isinstance(current, cst.Name) else None


def _in_savepoint(body: cst.BaseSuite) -> bool:
    """The guarded statements are one `with <session>.begin_nested():` block."""
    statements = getattr(body, "body", ())
    if len(statements) != 1 or not isinstance(statements[0], cst.With):
        return False
    return any(
        isinstance(item.item, cst.Call) and isinstance(item.item.func, cst.Attribute) and item.item.func.attr.value == "begin_nested"
        for item in statements[0].items
    )


def _raises(body: cst.BaseSuite) -> bool:
    found = []

    class Finder(cst.CSTVisitor):
        def visit_Raise(self, node: cst.Raise) -> None:
            found.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

    visit_in_place(body, Finder())
    return bool(found)
