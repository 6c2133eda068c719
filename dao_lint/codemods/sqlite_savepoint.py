"""DAO112: give a SQLite engine SQLAlchemy's documented pysqlite SAVEPOINT recipe.

pysqlite starts its own transaction only before DML, so a SAVEPOINT issued first runs in
autocommit mode and its RELEASE commits: a nested unit of work would not be atomic. The two
listeners hand transaction control to SQLAlchemy, which then emits BEGIN itself.
"""
from __future__ import annotations

from typing import List, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper

from ..analysis import FileContext, FileContextProvider
from ..analysis.engines import URI_SETTING, EngineFacts
from ..analysis.walk import contains
from .imports import add_import

__all__ = ["add_sqlite_listeners", "listener_source"]


def listener_source(engine: str, guarded: bool) -> str:
    """The statements added after `engine = create_engine(...)`."""
    body = f'''
@event.listens_for({engine}, "connect")
def _sqlite_transactions_by_sqlalchemy(dbapi_connection, connection_record):
    # pysqlite would open transactions on its own, around SAVEPOINTs too; turn that off
    dbapi_connection.isolation_level = None


@event.listens_for({engine}, "begin")
def _sqlite_emit_begin(connection):
    # ...and start each transaction explicitly, so that SAVEPOINTs nest inside it
    connection.exec_driver_sql("BEGIN")
'''
    if not guarded:
        return body
    indented = "\n".join(("    " + line) if line.strip() else "" for line in body.strip("\n").split("\n"))
    return f"\nif {engine}.dialect.name == \"sqlite\":\n{indented}\n"


#: for an engine the app makes out of sight from its `SQLALCHEMY_DATABASE_URI` setting: on
#: every engine (SQLAlchemy's `Engine` class), doing their work for SQLite connections only
SETTING_LISTENERS = '''
@event.listens_for(Engine, "connect")
def _sqlite_transactions_by_sqlalchemy(dbapi_connection, connection_record):
    # pysqlite would open transactions on its own, around SAVEPOINTs too; turn that off
    if type(dbapi_connection).__module__ == "sqlite3":
        dbapi_connection.isolation_level = None


@event.listens_for(Engine, "begin")
def _sqlite_emit_begin(connection):
    # ...and start each transaction explicitly, so that SAVEPOINTs nest inside it
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")
'''


def add_sqlite_listeners(module: cst.Module, context: FileContext, engines: Set[str], literal: Set[str]) -> Tuple[cst.Module, List[str]]:
    """Insert the listeners after each module-level assignment of an engine in `engines`
    (for the URI setting: after the top-level statement that gives it)."""
    if not engines:
        return module, []
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    facts = wrapper.resolve(EngineFacts)
    module = wrapper.module  # (the nodes the facts name)
    unfixed = {e.name: e for m in facts.values() for e in m.engines if not e.fixed}
    engines = engines & set(unfixed)
    if not engines:
        return module, []
    config = module.config_for_parsing

    def statements(source: str) -> List[cst.CSTNode]:
        parsed = cst.parse_module(source.replace("\n", config.default_newline).replace("    ", config.default_indent))
        found = list(parsed.body)
        found[0] = found[0].with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()])
        return found

    setting = unfixed.get(URI_SETTING) if URI_SETTING in engines else None
    body: List[cst.CSTNode] = []
    added: List[str] = []
    for statement in module.body:
        body.append(statement)
        if setting is not None and URI_SETTING not in added and contains(statement, setting.assignment):
            body.extend(statements(SETTING_LISTENERS))
            added.append(URI_SETTING)
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name) and target.target.value in engines and target.target.value not in added:
                        name = target.target.value
                        body.extend(statements(listener_source(name, guarded=name not in literal)))
                        added.append(name)
    if not added:
        return module, []
    module = add_import(module.with_changes(body=body), "sqlalchemy", "event")
    if URI_SETTING in added:
        module = add_import(module, "sqlalchemy.engine", "Engine")
    return module, added
