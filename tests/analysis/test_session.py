"""Direct tests of the session analysis: which calls are session calls, and what they do."""
import textwrap

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper

from dao_lint.analysis import Action, FileContext, FileContextProvider, Origin, SessionFacts
from dao_lint.foundations.config import Config
from dao_lint.model.sessions import own_sessions


def uses(source, path="app/module.py", config=None):
    module = cst.parse_module(textwrap.dedent(source))
    context = FileContext.for_path(path, own_sessions(config or Config(), module.code, path))
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    facts = wrapper.resolve(SessionFacts)
    found = []
    for node, fact in facts.items():
        if isinstance(node, cst.Call):
            found.append((wrapper.module.code_for_node(node.func), fact.action, fact.origin))
    return sorted(found, key=lambda f: f[0])


def actions(source, **kwargs):
    return {call: action for call, action, _ in uses(source, **kwargs)}


@pytest.mark.parametrize(
    "source, expected",
    [
        pytest.param("db.session.commit()", {"db.session.commit": Action.COMMIT}, id="flask-sqlalchemy"),
        pytest.param(
            "async def f(s: AsyncSession):\n    await s.rollback()",
            {"s.rollback": Action.ROLLBACK},
            id="annotated-async",
        ),
        pytest.param(
            "def f(db: Session = Depends(get_db)):\n    db.add(x)",
            {"db.add": Action.WRITE},
            id="fastapi-dependency",
        ),
        pytest.param("session.execute(select(User).where(User.id == 1))", {"session.execute": Action.READ}, id="execute-select"),
        pytest.param("session.execute(update(User).values(a=1))", {"session.execute": Action.WRITE}, id="execute-update"),
        pytest.param("session.execute(User.__table__.insert())", {"session.execute": Action.WRITE}, id="execute-table-insert"),
        pytest.param("session.execute(text('vacuum'))", {}, id="execute-text-unknown"),
        pytest.param(
            "def f(session):\n    stmt = delete(User).where(User.id == 1)\n    session.execute(stmt)",
            {"session.execute": Action.WRITE},
            id="statement-in-a-variable",
        ),
        pytest.param(
            "session.query(Tag).filter(Tag.id == 1).delete()",
            {"session.query": Action.WRITE},
            id="query-bulk-delete",
        ),
        pytest.param("User.query.filter_by(id=1).first()", {"User.query.filter_by": Action.READ}, id="model-query"),
        pytest.param("session.get(User, 1)", {"session.get": Action.READ}, id="get-by-pk"),
        pytest.param("session.get(url)", {}, id="requests-style-get"),
        pytest.param("repo.commit()", {}, id="git-commit"),
        pytest.param("form.save()", {}, id="form-save"),
        pytest.param("from flask import session\nsession.get('user_id', None)\nsession.clear()", {}, id="flask-session"),
        pytest.param("import requests\nsession = requests.Session()\nsession.delete(url)", {}, id="requests-session"),
        pytest.param(
            "import aiohttp\nasync def f():\n    async with aiohttp.ClientSession() as session:\n        await session.close()",
            {},
            id="aiohttp-session",
        ),
        pytest.param(
            "class Client:\n    def __init__(self):\n        self.session = requests.Session()\n    def close(self):\n        self.session.close()",
            {},
            id="requests-session-attribute",
        ),
        pytest.param("def f(session: requests.Session):\n    session.close()", {}, id="annotated-requests"),
        pytest.param("tf.Session().close()", {}, id="tensorflow"),
        pytest.param(
            "def f(self, session=None):\n    session = session or self.get_session\n    session.query(User)",
            {"session.query": Action.READ},
            id="session-or-fallback",
        ),
        pytest.param(
            "def f(ids):\n    Tag.query.filter(Tag.id.in_(ids)).delete()",
            {"Tag.query.filter": Action.WRITE},
            id="model-query-bulk-delete",
        ),
    ],
)
def test_session_calls(source, expected):
    assert actions(source) == expected


def test_creation_and_origin():
    source = """
    from sqlalchemy.orm import Session, sessionmaker
    SessionLocal = sessionmaker(bind=engine)

    def job():
        session = SessionLocal()
        other = Session(engine)
        third = sessionmaker(bind=engine)()
        session.commit()
        engine.connect()
    """
    found = uses(source)
    assert ("SessionLocal", Action.CREATE, Origin.NONE) in found
    assert ("Session", Action.CREATE, Origin.NONE) in found
    assert ("sessionmaker(bind=engine)", Action.CREATE, Origin.NONE) in found
    assert ("session.commit", Action.COMMIT, Origin.CREATED) in found
    assert ("engine.connect", Action.ENGINE_TRANSACTION, Origin.NONE) in found


def test_factory_made_inside_a_function():
    source = """
    def job(engine):
        maker = sessionmaker()
        maker.configure(bind=engine)
        session = maker()
        session.commit()
    """
    found = uses(source)
    assert ("maker", Action.CREATE, Origin.NONE) in found
    assert ("session.commit", Action.COMMIT, Origin.CREATED) in found


def test_parameter_origin_and_configured_names():
    source = """
    def f(session, store):
        session.commit()
        store.commit()
    """
    assert uses(source) == [("session.commit", Action.COMMIT, Origin.PARAMETER)]
    configured = Config(session_names=("store",))
    assert uses(source, config=configured) == [("store.commit", Action.COMMIT, Origin.PARAMETER)]


def test_a_helper_handed_a_session_returns_that_session_not_a_new_one():
    source = """
    def create(form, session):
        current = unwrap_session(session)
        current.add(form)
        current.commit()

    def job():
        mine = get_session()
        mine.commit()
    """
    found = uses(source)
    # the caller's session, adapted (flask-admin's `_get_deprecated_session(self.session)`):
    # its commit is the caller's business, not a unit of work of the function's own
    assert ("current.commit", Action.COMMIT, Origin.PARAMETER) in found
    assert ("current.add", Action.WRITE, Origin.PARAMETER) in found
    # a helper handed nothing hands out a session the function obtained itself
    assert ("mine.commit", Action.COMMIT, Origin.OBTAINED) in found


def test_awaited_calls_are_marked():
    module = cst.parse_module("async def f(session: AsyncSession):\n    await session.commit()\n    session.add(x)\n")
    context = FileContext.for_path("a.py", Config())
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    facts = {wrapper.module.code_for_node(n.func): f for n, f in wrapper.resolve(SessionFacts).items() if isinstance(n, cst.Call)}
    assert facts["session.commit"].awaited is True
    assert facts["session.add"].awaited is False


# -- sessions handed out by frameworks and projects -----------------------------------------


def _uses(code, path="app/routes/items.py", config=None):
    from dao_lint.analysis import SessionFacts
    from dao_lint.analysis.context import FileContext, FileContextProvider
    from dao_lint.foundations.config import Config
    import libcst as cst
    from libcst.metadata import MetadataWrapper

    module = cst.parse_module(textwrap.dedent(code))
    context = FileContext.for_path(path, own_sessions(config or Config(), module.code, path))
    wrapper = MetadataWrapper(module, cache={FileContextProvider: context})
    facts = wrapper.resolve(SessionFacts)
    return sorted(
        (use.session, use.method) for node, use in facts.items() if isinstance(node, cst.Call) and hasattr(use, "method")
    )


def test_a_session_type_alias_from_another_module_is_a_session():
    code = """
    from app.deps import SessionDep


    def create_item(item: Item, session: SessionDep):
        session.add(item)
        session.commit()
    """
    assert _uses(code) == [("session", "add"), ("session", "commit")]


def test_an_annotated_alias_in_the_same_module_is_a_session_whatever_its_name():
    code = """
    from typing import Annotated
    from fastapi import Depends
    from sqlalchemy.orm import Session

    Database = Annotated[Session, Depends(get_db)]


    def create_item(item: Item, store: Database):
        store.add(item)
    """
    assert _uses(code) == [("store", "add")]


def test_a_depends_default_on_a_session_provider_is_a_session():
    code = """
    from sqlalchemy.orm import Session


    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()


    def create_item(item: Item, repo=Depends(get_db)):
        repo.add(item)
    """
    assert ("repo", "add") in _uses(code)


def test_flask_sqlalchemy_reached_through_a_module_is_a_session():
    code = """
    from app import models


    def create_item(item):
        models.db.session.add(item)
    """
    assert _uses(code) == [("models.db.session", "add")]


def test_the_project_s_own_session_class_makes_sessions():
    code = """
    from sqlalchemy.orm import Session


    class StoreSession(Session):
        pass


    def save(engine, run):
        with StoreSession(engine) as session:
            session.add(run)
    """
    assert ("session", "add") in _uses(code)
    imported = """
    from app.db import StoreSession


    def save(engine, run):
        with StoreSession(engine) as session:
            session.add(run)
    """
    assert ("session", "add") in _uses(imported)


def test_an_annotation_naming_another_type_still_wins_over_the_name():
    code = """
    from requests import Session as HttpSession


    def fetch(session: HttpSession):
        session.get("https://example.com")
    """
    assert _uses(code) == []
