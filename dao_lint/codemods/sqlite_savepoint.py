"""DAO112: make SAVEPOINTs on a SQLite engine nest inside a transaction.

pysqlite starts its own transaction only before DML, so a SAVEPOINT issued first runs in
autocommit mode and its RELEASE commits: a nested unit of work would not be atomic. The
listener written here begins the transaction just before such a SAVEPOINT, and nowhere
else: SQLAlchemy's own recipe (a `connect` listener turning pysqlite's transactions off and
a `begin` listener emitting BEGIN) would begin every transaction at its first statement, so
that a connection that only read holds SQLite's lock until it ends, and a second connection
to the same file (another engine, an audit log) waits and fails with "database is locked".
Either counts as the fix.
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
@event.listens_for({engine}, "savepoint")
def _sqlite_begin_before_savepoint(connection, name):
    # pysqlite begins a transaction only before a write: a SAVEPOINT sent first would run
    # outside one, and its RELEASE would commit; begin the transaction here
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN")
'''
    if not guarded:
        return body
    indented = "\n".join(("    " + line) if line.strip() else "" for line in body.strip("\n").split("\n"))
    return f"\nif {engine}.dialect.name == \"sqlite\":\n{indented}\n"


#: for an engine the app makes out of sight from its `SQLALCHEMY_DATABASE_URI` setting: on
#: every engine (SQLAlchemy's `Engine` class), doing its work for SQLite connections only
SETTING_LISTENERS = '''
@event.listens_for(Engine, "savepoint")
def _sqlite_begin_before_savepoint(connection, name):
    # pysqlite begins a transaction only before a write: a SAVEPOINT sent first would run
    # outside one, and its RELEASE would commit; begin the transaction here
    if connection.dialect.name == "sqlite" and not connection.connection.driver_connection.in_transaction:
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
