"""SAVEPOINT rules: nested units of work must really be atomic on the configured database."""
from __future__ import annotations

from typing import List

import libcst as cst

from ..analysis import Action, SessionFacts
from ..analysis.engines import EngineFacts, SqliteEngine
from ..foundations.vocabulary import URI_SETTING
from .base import Invalid, Rule, Valid

__all__ = ["SqliteSavepoint"]


class SqliteSavepoint(Rule):
    """Flags a SQLite engine without the pysqlite SAVEPOINT fix in a project that uses `begin_nested()`.

    pysqlite begins its own transaction only before an INSERT, UPDATE or DELETE. A SAVEPOINT
    sent first therefore runs outside any transaction, and its RELEASE commits: every
    `with session.begin_nested():` silently becomes a commit, and the command is no longer
    one atomic unit of work. The fix is a `savepoint` listener that emits `BEGIN` first when
    no transaction is open. SQLAlchemy's documented recipe (a `connect` listener turning
    pysqlite's transaction handling off, a `begin` listener emitting `BEGIN`) counts too, but
    `fix` does not write it: it begins every transaction at its first statement, so a
    connection that only read holds SQLite's lock until it ends, and a second connection to
    the same file (another engine, an audit log) waits and then fails with "database is
    locked".
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return "create_engine" in text or "create_async_engine" in text or URI_SETTING in text

    code = "DAO112"
    requires = "text"  # (an engine's module, or the app's settings, may hold no session code)

    fix_scope = "project"
    migration_modules = "check"
    name = "sqlite-savepoint"
    seed = "R4"
    message = "SQLite engine `{engine}` lacks the pysqlite SAVEPOINT fix, so `begin_nested()` commits on release; add a `savepoint` listener that begins the transaction first"
    fix_title = "Add a `savepoint` listener that begins the transaction, after the engine"
    fix_safety = "safe"
    needs = (EngineFacts, SessionFacts)
    references = (
        ("SQLAlchemy: Serializable isolation / Savepoints / Transactional DDL (pysqlite)", "https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl"),
    )
    valid = [
        Valid(
            """
            from sqlalchemy import create_engine, event

            engine = create_engine("sqlite:///app.db")


            @event.listens_for(engine, "connect")
            def _no_pysqlite_transactions(dbapi_connection, connection_record):
                dbapi_connection.isolation_level = None


            @event.listens_for(engine, "begin")
            def _begin(connection):
                connection.exec_driver_sql("BEGIN")


            class UserDAO(BaseDAO):
                @classmethod
                def create(cls, session, user):
                    with session.begin_nested():
                        session.add(user)
            """,
            path="app/db.py",
            title="SQLAlchemy's documented recipe",
        ),
        Valid(
            """
            from sqlalchemy import create_engine, event

            engine = create_engine("sqlite:///app.db")


            @event.listens_for(engine, "savepoint")
            def _begin_first(connection, name):
                if not connection.connection.driver_connection.in_transaction:
                    connection.exec_driver_sql("BEGIN")


            class UserDAO(BaseDAO):
                @classmethod
                def create(cls, session, user):
                    with session.begin_nested():
                        session.add(user)
            """,
            path="app/db.py",
            title="a savepoint listener",
        ),
        Valid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("sqlite:///app.db")
            """,
            path="app/db.py",
            title="no nested units of work",
        ),
        Valid(
            """
            import os

            from sqlalchemy import event
            from sqlalchemy.engine import Engine


            class Config:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///app.db")


            @event.listens_for(Engine, "connect")
            def _no_pysqlite_transactions(dbapi_connection, connection_record):
                if type(dbapi_connection).__module__ == "sqlite3":
                    dbapi_connection.isolation_level = None


            @event.listens_for(Engine, "begin")
            def _begin(connection):
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql("BEGIN")


            def rename(user, name):
                with db.session.begin_nested():
                    user.name = name
            """,
            path="app/config.py",
            title="a Flask-SQLAlchemy setting, with the listeners on every engine",
        ),
    ]
    invalid = [
        Invalid(
            """
            from sqlalchemy import create_engine

            engine = create_engine("sqlite:///app.db")


            class UserDAO(BaseDAO):
                @classmethod
                def create(cls, session, user):
                    with session.begin_nested():
                        session.add(user)
            """,
            path="app/db.py",
            expect="DAO112 at 3:1",
            after="""
            from sqlalchemy import create_engine, event

            engine = create_engine("sqlite:///app.db")


            @event.listens_for(engine, "savepoint")
            def _sqlite_begin_before_savepoint(connection, name):
                # pysqlite begins a transaction only before a write: a SAVEPOINT sent first would run
                # outside one, and its RELEASE would commit; begin the transaction here
                if not connection.connection.driver_connection.in_transaction:
                    connection.exec_driver_sql("BEGIN")


            class UserDAO(BaseDAO):
                @classmethod
                def create(cls, session, user):
                    with session.begin_nested():
                        session.add(user)
            """,
        ),
        Invalid(
            """
            import os


            class Config:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///app.db")


            def rename(user, name):
                with db.session.begin_nested():
                    user.name = name
            """,
            path="app/config.py",
            expect="DAO112 at 5:5",
            title="Flask-SQLAlchemy's setting defaults to SQLite",
            after="""
            import os

            from sqlalchemy import event
            from sqlalchemy.engine import Engine


            class Config:
                SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///app.db")


            @event.listens_for(Engine, "savepoint")
            def _sqlite_begin_before_savepoint(connection, name):
                # pysqlite begins a transaction only before a write: a SAVEPOINT sent first would run
                # outside one, and its RELEASE would commit; begin the transaction here
                if connection.dialect.name == "sqlite" and not connection.connection.driver_connection.in_transaction:
                    connection.exec_driver_sql("BEGIN")


            def rename(user, name):
                with db.session.begin_nested():
                    user.name = name
            """,
        ),
    ]

    def __init__(self, context) -> None:  # noqa: ANN001
        super().__init__(context)
        self.engines: List[SqliteEngine] = []
        self.nested = False

    def visit_Module(self, node: cst.Module) -> None:
        # (an app's database setting needs the fix once per project: a cross-file finding)
        self.engines = [e for e in self.fact(EngineFacts, node).engines if not e.fixed and not e.setting]

    def visit_Call(self, node: cst.Call) -> None:
        use = self.fact(SessionFacts, node)
        if use is not None and use.action is Action.BEGIN_NESTED:
            self.nested = True

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self.engines:
            return
        if not self.nested and not self.context.project_uses_begin_nested():
            return
        for engine in self.engines:
            self.report(engine.assignment, engine=engine.name)
