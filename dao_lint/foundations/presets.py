"""Presets: `preset = "<stack>"` in `[tool.dao-lint]` fills the keys that describe a stack.

Each preset is a table of ordinary configuration keys; a key the user sets replaces the
preset's value. `docs/adopting.md` explains every preset and the release it was checked against.
"""
from __future__ import annotations

from typing import Dict, Mapping

__all__ = ["PRESETS"]

_TESTS = ["**/tests/**", "**/test/**", "**/test_*.py", "**/*_test.py", "**/conftest.py"]
_MIGRATIONS = ["**/migrations/**", "**/alembic/**"]

PRESETS: Mapping[str, Dict[str, object]] = {
    # plain SQLAlchemy: sessions from a sessionmaker, passed around as `session`
    "sqlalchemy": {
        "session-names": ["session", "db_session", "_session", "self.session", "self._session"],
        "dao-modules": ["**/dao.py", "**/daos/**", "**/*_dao.py", "**/dao/**", "**/repositories/**", "**/repository.py"],
        "boundaries": ["**/commands/**::*.run", "**/services/**::*Service.*", "**/jobs/**::*", "**/tasks/**::*"],
        "migration-modules": _MIGRATIONS,
        "test-paths": _TESTS,
    },
    # Flask-SQLAlchemy: `db.session` is request-scoped; a view is the request's unit of work
    "flask-sqlalchemy": {
        # Flask-AppBuilder hands out the same session as `appbuilder.session` / `get_session`
        "session-names": [
            "db.session", "*.db.session", "session", "self.session",
            "appbuilder.session", "*.appbuilder.session", "appbuilder.get_session", "*.appbuilder.get_session",
        ],
        "dao-modules": ["**/dao.py", "**/daos/**", "**/*_dao.py", "**/dao/**", "**/repositories/**"],
        "boundaries": [
            "**/commands/**::*.run", "**/views.py::*", "**/views/**::*", "**/routes.py::*", "**/routes/**::*",
            "**/api.py::*", "**/api/**::*", "**/cli.py::*", "**/cli/**::*",
        ],
        "migration-modules": _MIGRATIONS,
        "test-paths": _TESTS,
    },
    # FastAPI: `db: Session = Depends(get_db)` is per request; path operations are the unit
    # of work, CRUD modules are the DAOs
    "fastapi": {
        "session-names": ["db", "session", "db_session", "self.session", "self.db"],
        "dao-modules": ["**/crud.py", "**/crud/**", "**/dao.py", "**/daos/**", "**/repositories/**", "**/repository.py"],
        "boundaries": [
            "**/routers/**::*", "**/routes/**::*", "**/api/**::*", "**/endpoints/**::*", "**/main.py::*",
            "**/commands/**::*.run",
        ],
        "migration-modules": _MIGRATIONS,
        "test-paths": _TESTS,
    },
    # SQLModel (usually with FastAPI): `session.exec(select(...))`, CRUD modules
    "sqlmodel": {
        "session-names": ["session", "db", "db_session", "self.session"],
        "dao-modules": ["**/crud.py", "**/crud/**", "**/dao.py", "**/daos/**", "**/repositories/**"],
        "boundaries": ["**/routers/**::*", "**/routes/**::*", "**/api/**::*", "**/endpoints/**::*", "**/main.py::*"],
        "migration-modules": _MIGRATIONS,
        "test-paths": _TESTS,
    },
    # Apache Superset (4.1 and later: SIP-98's `@transaction()`): DAOs in superset/daos,
    # commands own the unit of work, Flask-AppBuilder's `get_session` is the session too
    "superset": {
        "session-names": [
            "db.session", "*.db.session", "session", "self._session", "self.session",
            "appbuilder.session", "*.appbuilder.session", "appbuilder.get_session", "*.appbuilder.get_session",
            "security_manager.get_session",
        ],
        "dao-modules": ["**/daos/**", "**/dao.py", "**/dao/**"],
        "dao-base-classes": ["BaseDAO"],
        "boundaries": [
            "**/commands/**::*.run", "**/views/**::*", "**/api.py::*Api.*", "**/views.py::*",
            "**/tasks/**::*", "**/cli/**::*",
        ],
        "migration-modules": ["**/migrations/**"],
        "transaction-decorator": "superset.utils.decorators.transaction",
        "test-paths": ["**/tests/**", "**/conftest.py"],
    },
    # Apache Airflow: `@provide_session` functions take the caller's session (they are not
    # boundaries); `with create_session()` blocks, CLI commands, API endpoints and the
    # scheduler's jobs are. Checked against 2.7 (connexion endpoints, www views) and 3.3
    # (FastAPI routes under api_fastapi/, a `SessionDep` per request)
    "airflow": {
        "session-names": ["session", "self.session", "settings.Session"],
        "dao-modules": ["**/dao.py", "**/daos/**", "**/repositories/**"],
        "boundaries": [
            "**/cli/commands/**::*", "**/api_fastapi/**/routes/**::*", "**/api_connexion/endpoints/**::*", "**/www/views.py::*",
            "**/jobs/**::*Job*.*", "**/jobs/**::*JobRunner.*",
        ],
        "migration-modules": ["**/migrations/**"],
        "test-paths": ["**/tests/**", "**/conftest.py"],
    },
}
