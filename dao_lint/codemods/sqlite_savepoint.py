"""DAO112: give a SQLite engine SQLAlchemy's documented pysqlite SAVEPOINT recipe.

pysqlite starts its own transaction only before DML, so a SAVEPOINT issued first runs in
autocommit mode and its RELEASE commits: a nested unit of work would not be atomic. The two
listeners hand transaction control to SQLAlchemy, which then emits BEGIN itself.
"""
from __future__ import annotations

from typing import List, Set, Tuple

import libcst as cst
from libcst.metadata import MetadataWrapper

from ..analysis.engines import EngineFacts
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


def add_sqlite_listeners(module: cst.Module, engines: Set[str], literal: Set[str]) -> Tuple[cst.Module, List[str]]:
    """Insert the listeners after each module-level assignment of an engine in `engines`."""
    if not engines:
        return module, []
    facts = MetadataWrapper(module).resolve(EngineFacts)
    unfixed = {e.name for m in facts.values() for e in m.engines if not e.fixed}
    engines = engines & unfixed
    if not engines:
        return module, []
    config = module.config_for_parsing
    body: List[cst.CSTNode] = []
    added: List[str] = []
    for statement in module.body:
        body.append(statement)
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Assign):
                for target in small.targets:
                    if isinstance(target.target, cst.Name) and target.target.value in engines and target.target.value not in added:
                        name = target.target.value
                        source = listener_source(name, guarded=name not in literal)
                        parsed = cst.parse_module(source.replace("\n", config.default_newline).replace("    ", config.default_indent))
                        statements = list(parsed.body)
                        statements[0] = statements[0].with_changes(
                            leading_lines=[cst.EmptyLine(), cst.EmptyLine()]
                        )
                        body.extend(statements)
                        added.append(name)
    if not added:
        return module, []
    return add_import(module.with_changes(body=body), "sqlalchemy", "event"), added
