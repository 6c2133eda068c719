"""Sessions found by what values are, across modules (dao_lint/model/sketch.py, dao_lint/model/sessions.py):
what a project function returns or yields, type aliases, `contextmanager(f)`, attributes,
and the project's own classes named `Session`; each shape with its negative beside it."""
import os
import textwrap

import pytest

from dao_lint.api import lint_paths
from dao_lint.foundations.config import ConfigResolver
from dao_lint.model.sessions import build_sessions
from dao_lint.model.sketch import sketch_source


def check(tmp_path, files, config="[tool.dao-lint]\n", select=None):
    """{relative path: code} -> sorted (path, line, code) of `dao-lint check`."""
    (tmp_path / "pyproject.toml").write_text(config)
    for relative, code in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code).lstrip("\n"))
    results = lint_paths([str(tmp_path)], ConfigResolver(), jobs=1)
    return sorted(
        (os.path.relpath(r.path, tmp_path), d.line, d.code)
        for r in results for d in r.diagnostics if select is None or d.code in select
    )


DB = """
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

AsyncSessionLocal = async_sessionmaker(class_=AsyncSession)


@asynccontextmanager
async def open_db(db: AsyncSession | None = None):
    if db is not None:
        yield db
    else:
        async with AsyncSessionLocal() as session:
            yield session
"""

NOTES = """
from app.internal.db import open_db


class NotesTable:
    async def create(self, note, db=None):
        async with open_db(db) as db:
            db.add(note)
            await db.commit()
            return note
"""


def test_a_dao_opening_its_session_through_a_project_context_manager_commits_and_owns_it(tmp_path):
    found = check(tmp_path, {"app/internal/db.py": DB, "app/models/notes.py": NOTES},
                  '[tool.dao-lint]\ndao-modules = ["app/models/**"]\n', select={"DAO101", "DAO104"})
    assert found == [("app/models/notes.py", 6, "DAO104"), ("app/models/notes.py", 8, "DAO101")]


def test_a_context_manager_yielding_something_else_gives_no_session(tmp_path):
    other = """
    from contextlib import asynccontextmanager

    import aiohttp


    @asynccontextmanager
    async def open_db(url):
        async with aiohttp.ClientSession() as client:
            yield client
    """
    notes = NOTES.replace("db.add(note)", "db.post(note)").replace("await db.commit()", "await db.close()")
    found = check(tmp_path, {"app/internal/db.py": other, "app/models/notes.py": notes},
                  '[tool.dao-lint]\ndao-modules = ["app/models/**"]\nsession-names = ["session"]\n')
    assert found == []


def test_a_configured_name_bound_to_an_unknown_call_stays_a_session(tmp_path):
    dao = """
    from vendor.connections import acquire


    class ReportDAO:
        def create(self, report):
            conn = acquire()
            conn.add(report)
            conn.commit()
    """
    configured = check(tmp_path, {"app/daos/report.py": dao}, '[tool.dao-lint]\nsession-names = ["conn"]\n')
    assert ("app/daos/report.py", 8, "DAO101") in configured


def test_a_configured_name_bound_to_another_library_session_is_not_one(tmp_path):
    dao = """
    import requests


    class ReportDAO:
        def create(self, report):
            conn = requests.Session()
            conn.post(report)
            conn.close()
    """
    assert check(tmp_path, {"app/daos/report.py": dao}, '[tool.dao-lint]\nsession-names = ["conn"]\n') == []


def test_the_projects_own_class_named_session_is_not_a_session(tmp_path):
    models = """
    from app.db import Base


    class Session(Base):
        '''A training session, booked by a member.'''
        __tablename__ = "sessions"

        def commit(self):
            self.confirmed = True
    """
    dao = """
    from app.models import Session


    class BookingDAO:
        def book(self, member, session: Session):
            booking = Session(member=member)
            session.commit()
            return booking
    """
    assert check(tmp_path, {"app/models.py": models, "app/daos/booking.py": dao}, select={"DAO101", "DAO104", "DAO109"}) == []


def test_sqlalchemys_session_in_the_same_shape_is_one(tmp_path):
    dao = """
    from sqlalchemy.orm import Session


    class BookingDAO:
        def book(self, member, session: Session):
            booking = Session(bind=member)
            session.commit()
            return booking
    """
    found = check(tmp_path, {"app/daos/booking.py": dao}, select={"DAO101", "DAO104"})
    assert found == [("app/daos/booking.py", 6, "DAO104"), ("app/daos/booking.py", 7, "DAO101")]


def test_a_type_alias_named_anything_in_another_module_is_a_session(tmp_path):
    deps = """
    from typing import Annotated

    from fastapi import Depends
    from sqlalchemy.orm import Session

    from app.db import get_db

    Database = Annotated[Session, Depends(get_db)]
    Settings = Annotated[dict, Depends(get_db)]
    """
    routes = """
    from app.deps import Database, Settings


    def create_item(item, store: Database, options: Settings):
        store.add(item)
        options.update(item)
    """
    found = check(tmp_path, {"app/deps.py": deps, "app/helpers/items.py": routes}, select={"DAO201"})
    assert found == [("app/helpers/items.py", 5, "DAO201")]


def test_a_dependency_annotated_as_a_session_iterator_hands_a_session(tmp_path):
    deps = """
    from typing import Iterator

    from sqlalchemy.orm import Session


    def provide(engine=None) -> Iterator[Session]:
        with make_session(engine) as s:
            yield s


    def settings() -> Iterator[dict]:
        yield {}
    """
    routes = """
    from fastapi import Depends

    from app.deps import provide, settings


    def create_item(item, repo=Depends(provide), options=Depends(settings)):
        repo.add(item)
        options.update(item)
    """
    found = check(tmp_path, {"app/deps.py": deps, "app/helpers/items.py": routes}, select={"DAO201"})
    assert found == [("app/helpers/items.py", 7, "DAO201")]


def test_contextmanager_of_a_generator_and_a_registry_method_give_sessions(tmp_path):
    db = """
    from contextlib import contextmanager

    from sqlalchemy.orm import sessionmaker

    SessionLocal = sessionmaker()


    def get_session():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()


    get_db = contextmanager(get_session)


    class Registry:
        def session(self):
            return SessionLocal()

        def name(self):
            return "registry"


    registry = Registry()
    """
    dao = """
    from app.db import get_db, registry


    class TagDAO:
        def create(self, tag):
            with get_db() as conn:
                conn.add(tag)
                conn.commit()

        def rename(self, tag):
            label = registry.name()
            with registry.session() as store:
                store.merge(tag)
                store.commit()
    """
    found = check(tmp_path, {"app/db.py": db, "app/daos/tag.py": dao}, select={"DAO101", "DAO104"})
    assert found == [
        ("app/daos/tag.py", 6, "DAO104"), ("app/daos/tag.py", 8, "DAO101"),
        ("app/daos/tag.py", 12, "DAO104"), ("app/daos/tag.py", 14, "DAO101"),
    ]


def test_an_attribute_set_from_a_factory_is_a_session_in_every_method(tmp_path):
    dao = """
    from app.db import SessionLocal


    class AuditDAO:
        def __init__(self):
            self.store = SessionLocal()
            self.cache = {}

        def record(self, entry):
            self.store.add(entry)
            self.store.commit()
            self.cache.clear()
    """
    db = "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n"
    found = check(tmp_path, {"app/db.py": db, "app/daos/audit.py": dao}, select={"DAO101"})
    assert found == [("app/daos/audit.py", 11, "DAO101")]


def test_a_helper_returning_something_else_is_not_a_session_whatever_its_name(tmp_path):
    helpers = """
    def get_session_info(user) -> dict:
        return {"user": user}


    def get_db_stats():
        return [1, 2]
    """
    dao = """
    from app.helpers import get_db_stats, get_session_info


    class UserDAO:
        def touch(self, user):
            info = get_session_info(user)
            stats = get_db_stats()
            info.update(stats)
            stats.commit()
    """
    assert check(tmp_path, {"app/helpers.py": helpers, "app/daos/user.py": dao}, select={"DAO101", "DAO201"}) == []


@pytest.mark.parametrize(
    "source, name, expected",
    [
        pytest.param("def f():\n    return SessionLocal()\n", "m.f", ("calls", ("session", frozenset({"made"}))), id="made"),
        pytest.param("def f(s: Session):\n    return s\n", "m.f", ("calls", ("session", frozenset({"handed"}))), id="handed"),
        pytest.param("def f() -> dict:\n    return SessionLocal()\n", "m.f", None, id="annotation-wins"),
        pytest.param("from sqlalchemy.orm import Session\nclass S(Session):\n    pass\n", "m.S", ("type", True), id="subclass"),
        pytest.param("class Session:\n    pass\n", "m.Session", ("type", False), id="domain-class"),
    ],
)
def test_the_model_of_one_module(source, name, expected):
    sketch = sketch_source(source.encode(), "m.py", "m", False)
    model = build_sessions([sketch], ("session",))
    assert model.lookup(name) == expected


def test_the_model_is_the_same_whatever_the_order_of_files():
    a = sketch_source(b"from b import g\ndef f():\n    return g()\n", "a.py", "a", False)
    b = sketch_source(b"from a import f\ndef g():\n    return SessionLocal()\ndef h():\n    return f()\n", "b.py", "b", False)
    first, second = build_sessions([a, b], ()), build_sessions([b, a], ())
    assert first.names == second.names and first.digest == second.digest
    assert first.lookup("b.h") == ("calls", ("session", frozenset({"made"})))


REPOSITORY = """
from app.types import AlchemySession


class Repository:
    session: AlchemySession

    def __init__(self, session: AlchemySession) -> None:
        self.session = session

    def save(self, item) -> None:
        self.session.add(item)
        self.session.commit()
"""


@pytest.mark.parametrize(("alias", "expected"), [
    ("from sqlalchemy.orm.scoping import ScopedSession\n\nAlchemySession = ScopedSession\n", [("app/model/__init__.py", 12, "DAO101")]),
    ("from app.lib.scoping import ScopedSession\n\nAlchemySession = ScopedSession\n", []),
])
def test_an_attribute_typed_by_an_alias_of_scoped_session_is_one_whatever_the_names_configured(tmp_path, alias, expected):
    # (ScopedSession: SQLAlchemy's older name of scoped_session; the project's own class of
    # that name is not one)
    config = '[tool.dao-lint]\ndao-modules = ["app/model/**"]\nsession-names = ["model.Session"]\n'
    files = {"app/types/__init__.py": "from .model import AlchemySession\n", "app/types/model.py": alias,
             "app/lib/scoping.py": "class ScopedSession:\n    def commit(self):\n        pass\n",
             "app/model/__init__.py": REPOSITORY}
    assert check(tmp_path, files, config, select={"DAO101"}) == expected
