"""Test rules (DAO9xx): tests run in a transaction that is rolled back."""
from __future__ import annotations

from typing import List, Optional, Set

import libcst as cst

from ..analysis import Action, DaoFacts, SessionFacts
from ..analysis.names import dotted_name
from ..analysis.walk import visit_in_place
from .base import Invalid, Rule, Valid

__all__ = ["CommitInTest", "CleanupInsteadOfRollback", "TestSessionWithoutRollback", "database_cleanup"]


class CommitInTest(Rule):
    """Flags `commit()` in tests and fixtures, and factory_boy factories that commit.

    A committed row outlives the test: the next test starts from someone else's data, the
    suite depends on its order, and cleanup code grows. Tests run inside a transaction
    (or a SAVEPOINT) that is rolled back at teardown; `flush()` is enough to get ids.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return context.is_test or "session_persistence" in text

    code = "DAO901"
    name = "commit-in-test"
    seed = "R9"
    message = "{what} in test code; flush instead and let the test's transaction roll back"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            def test_create_user(session):
                user = User(email="ada@example.com")
                session.add(user)
                session.flush()
                assert user.id is not None
            """,
            path="tests/test_users.py",
        )
    ]
    invalid = [
        Invalid(
            """
            def test_create_user(session):
                session.add(User(email="ada@example.com"))
                session.commit()
            """,
            path="tests/test_users.py",
            expect="DAO901 at 3:5",
            remedy="""
            def test_create_user(session):
                UserDAO.create({"email": "ada@example.com"})
                session.flush()
            """,
        ),
        Invalid(
            """
            class UserFactory(SQLAlchemyModelFactory):
                class Meta:
                    model = User
                    sqlalchemy_session_persistence = "commit"
            """,
            path="tests/factories.py",
            expect="DAO901 at 4:9",
            title="factory_boy",
        ),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        use = self.fact(SessionFacts, node)
        if use is None or use.action is not Action.COMMIT:
            return
        scope = self.fact(DaoFacts, node)
        if scope is not None and scope.in_test:
            self.report(node, what=f"`{use.session}.commit()`")

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name) and target.target.value == "sqlalchemy_session_persistence":
                if isinstance(node.value, cst.SimpleString) and node.value.evaluated_value == "commit":
                    self.report(node, what='factory_boy\'s `sqlalchemy_session_persistence = "commit"`')


def database_cleanup(rule: Rule, call: cst.Call) -> Optional[str]:
    """What a call in a fixture, `setUp` or `tearDown` does to clean the database, if it does
    (DAO902's finding; DAO201 leaves it alone: the answer is to roll back, not to move the
    delete into a DAO)."""
    scope = rule.fact(DaoFacts, call)
    if scope is None or scope.test_role not in ("fixture", "setup", "teardown"):
        return None
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in ("drop_all", "create_all"):
        return f"`{func.attr.value}()`"
    use = rule.fact(SessionFacts, call)
    if use is not None and use.action is Action.WRITE and (use.method == "delete" or use.method.endswith(".delete")):
        return f"`{use.session}.{use.method}()`"
    if use is not None and use.action is Action.WRITE and use.method in ("execute", "exec") and call.args:
        inner = call.args[0].value
        while isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute):
            inner = inner.func.value
        if isinstance(inner, cst.Call) and (dotted_name(inner.func) or "").rsplit(".", 1)[-1] == "delete":
            return f"`{use.session}.execute(delete(...))`"
    return None


class CleanupInsteadOfRollback(Rule):
    """Flags a per-test fixture, `setUp` or `tearDown` that cleans the database by deleting rows or recreating tables.

    Deleting what a test wrote (or `drop_all`/`create_all` around every test) is slow and
    misses rows written through paths the cleanup does not know. Wrap each test in a
    transaction (a SAVEPOINT for code that commits) and roll it back: nothing to clean.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return context.is_test

    code = "DAO902"
    name = "cleanup-instead-of-rollback"
    seed = "R9"
    message = "{what} cleans the database around every test; roll back the test's transaction instead"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            @pytest.fixture(scope="session")
            def tables(engine):
                Base.metadata.create_all(engine)
                yield
                Base.metadata.drop_all(engine)
            """,
            path="tests/conftest.py",
            title="once per session",
        )
    ]
    invalid = [
        Invalid(
            """
            @pytest.fixture
            def user(session):
                user = User(email="ada@example.com")
                session.add(user)
                yield user
                session.delete(user)
                session.commit()


            class ReportTests(unittest.TestCase):
                def tearDown(self):
                    db.session.query(Report).delete()
                    db.drop_all()
            """,
            path="tests/conftest.py",
            expect=("DAO902 at 6:5", "DAO902 at 12:9", "DAO902 at 13:9"),
            remedy="""
            @pytest.fixture
            def user(session):
                user = UserDAO.create({"email": "ada@example.com"})
                session.flush()
                yield user


            class ReportTests(unittest.TestCase):
                def setUp(self):
                    self.transaction = db.session.begin_nested()

                def tearDown(self):
                    self.transaction.rollback()
            """,
        )
    ]

    def visit_Call(self, node: cst.Call) -> None:
        what = database_cleanup(self, node)
        if what is not None:
            self.report(node, what=what)


class TestSessionWithoutRollback(Rule):
    """Flags a pytest fixture that hands tests a session with no transaction rolled back at teardown.

    Whatever the test writes through that session stays (or is committed by the code under
    test). The fixture opens a transaction (or binds the session to a connection in one,
    with SAVEPOINTs for code that commits), yields the session, and rolls back after.
    """

    @classmethod
    def relevant(cls, context, text: str) -> bool:  # noqa: ANN001
        return context.is_test and "fixture" in text

    code = "DAO903"
    name = "test-session-without-rollback"
    seed = "R9"
    message = "fixture `{function}` hands tests the session `{session}` without rolling back at teardown; wrap the test in a transaction and roll it back"
    needs = (SessionFacts, DaoFacts)
    valid = [
        Valid(
            """
            @pytest.fixture
            def session(engine):
                connection = engine.connect()
                transaction = connection.begin()
                session = Session(bind=connection, join_transaction_mode="create_savepoint")
                yield session
                session.close()
                transaction.rollback()
                connection.close()
            """,
            path="tests/conftest.py",
        )
    ]
    invalid = [
        Invalid(
            """
            from sqlalchemy.orm import Session


            @pytest.fixture
            def session(engine):
                session = Session(engine)
                yield session
                session.close()
            """,
            path="tests/conftest.py",
            expect="DAO903 at 7:5",
            remedy="""
            from sqlalchemy.orm import Session


            @pytest.fixture
            def session(engine):
                connection = engine.connect()
                transaction = connection.begin()
                session = Session(bind=connection, join_transaction_mode="create_savepoint")
                yield session
                session.close()
                transaction.rollback()
                connection.close()
            """,
        )
    ]

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.fact(DaoFacts, node)
        if scope is None or scope.test_role not in ("fixture", "wide-fixture"):
            return
        sessions: Set[str] = set(self.config.session_names)
        handed: List[tuple] = []
        rollback: List[cst.Call] = []
        rule = self

        class Walker(cst.CSTVisitor):
            def visit_FunctionDef(self, inner: cst.FunctionDef) -> bool:
                return inner is node

            def visit_Assign(self, assign: cst.Assign) -> None:
                if isinstance(assign.value, cst.Call):
                    use = rule.fact(SessionFacts, assign.value)
                    if use is not None and use.action is Action.CREATE:
                        sessions.update(t.target.value for t in assign.targets if isinstance(t.target, cst.Name))

            def visit_WithItem(self, item: cst.WithItem) -> None:
                if isinstance(item.item, cst.Call) and item.asname is not None and isinstance(item.asname.name, cst.Name):
                    use = rule.fact(SessionFacts, item.item)
                    if use is not None and use.action is Action.CREATE:
                        sessions.add(item.asname.name.value)

            def visit_Call(self, call: cst.Call) -> None:
                if isinstance(call.func, cst.Attribute) and call.func.attr.value == "rollback":
                    rollback.append(call)

            def visit_Yield(self, node_: cst.Yield) -> None:
                handed.append(node_)

            def visit_Return(self, node_: cst.Return) -> None:
                handed.append(node_)

        visit_in_place(node.body, Walker())
        if rollback:
            return
        for item in handed:
            value = dotted_name(item.value) if item.value is not None else None
            if value is not None and value in sessions:
                self.report(item, function=scope.qualname, session=value)
                return
