"""DAO calls are found by what they call (issue 19): a function of a `dao-modules` module
counts like `UserDAO.create()` for DAO601, DAO701, DAO702 and DAO801; a project's own query
class is DAO code; commits reached through calls inside `if`/`try`, through a function that
opens its own session, or through an object's `commit()`. Each shape with its negative."""
from .test_session_model import check

CONFIG = '[tool.dao-lint]\ndao-modules = ["app/crud.py", "app/database.py"]\n'

CRUD = """
def get_user(db, user_id):
    return db.query(User).get(user_id)


def get_user_by_email(db, email):
    return db.query(User).filter_by(email=email).first()


def create_user(db, user):
    db.add(user)
    return user
"""

HELPERS = """
def get_user(db, user_id):
    return {"id": user_id}


def create_user(db, user):
    return user
"""


def test_functions_of_a_dao_module_are_dao_calls_per_item(tmp_path):
    routes = """
    from app import crud, helpers


    def import_users(db, rows):
        for row in rows:
            crud.create_user(db, row)
            helpers.create_user(db, row)


    def owners(db, charts):
        return [crud.get_user(db, chart.owner_id) for chart in charts] + [
            helpers.get_user(db, chart.owner_id) for chart in charts
        ]


    def owners_loop(db, charts):
        found = []
        for chart in charts:
            found.append(crud.get_user(db, chart.owner_id))
            found.append(helpers.get_user(db, chart.owner_id))
        return found
    """
    found = check(tmp_path, {"app/crud.py": CRUD, "app/helpers.py": HELPERS, "app/routes.py": routes}, CONFIG, select={"DAO701", "DAO702"})
    assert found == [("app/routes.py", 6, "DAO701"), ("app/routes.py", 19, "DAO702")]


def test_a_dao_function_imported_by_name_is_a_dao_call(tmp_path):
    routes = """
    from app.crud import create_user, get_user_by_email


    def register(db, user_in):
        existing = get_user_by_email(db, user_in.email)
        if existing is None:
            create_user(db, user_in)
    """
    others = routes.replace("app.crud", "app.helpers").replace("get_user_by_email", "get_user")
    found = check(tmp_path, {"app/crud.py": CRUD, "app/helpers.py": HELPERS, "app/routes.py": routes, "app/other.py": others},
                  CONFIG, select={"DAO601"})
    assert found == [("app/routes.py", 5, "DAO601")]  # not the same shape through a helper module


def test_a_dense_update_of_an_entity_loaded_through_a_dao_function(tmp_path):
    database = """
    def get(model, pk):
        return db.session.get(model, pk)


    def update_user(user_id, data):
        user = get(User, user_id)
        user.name = data.get("name")
        user.email = data.get("email")
        return user


    def update_user_sparse(user_id, data):
        user = get(User, user_id)
        if "name" in data:
            user.name = data["name"]
        return user
    """
    found = check(tmp_path, {"app/database.py": database}, CONFIG, select={"DAO801"})
    assert found == [("app/database.py", 7, "DAO801"), ("app/database.py", 8, "DAO801")]


def test_a_projects_own_query_class_is_dao_code(tmp_path):
    models = """
    from flask_sqlalchemy.query import Query


    class ItemQuery(Query):
        def delete_hidden(self):
            self.filter_by(hidden=True).delete()
            db.session.commit()


    class ItemPresenter:
        def delete_hidden(self, items):
            return [i for i in items if not i.hidden]
    """
    found = check(tmp_path, {"app/models.py": models}, select={"DAO101", "DAO105"})
    assert found == [("app/models.py", 7, "DAO101")]


def test_a_handler_committing_then_calling_a_committing_function_in_a_try(tmp_path):
    services = """
    def notify(user):
        db.session.add(Notification(user=user))
        db.session.commit()


    def describe(user):
        return user.name
    """
    views = """
    from app.services import describe, notify


    def register(user):
        db.session.add(user)
        db.session.commit()
        try:
            notify(user)
        except MailError:
            pass


    def greet(user):
        db.session.add(user)
        db.session.commit()
        try:
            describe(user)
        except KeyError:
            pass
    """
    found = check(tmp_path, {"app/services.py": services, "app/views.py": views},
                  '[tool.dao-lint]\nboundary-modules = ["app/views.py"]\n', select={"DAO107"})
    assert found == [("app/views.py", 8, "DAO107")]


def test_a_call_per_item_of_a_function_committing_its_own_session(tmp_path):
    jobs = """
    from app.db import SessionLocal


    def record(event):
        with SessionLocal() as session:
            session.add(event)
            session.commit()


    def describe(event):
        with SessionLocal() as session:
            return session.get(Event, event.id)


    def replay(events):
        for event in events:
            record(event)
            describe(event)
    """
    db = "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n"
    found = check(tmp_path, {"app/db.py": db, "app/jobs.py": jobs}, select={"DAO106"})
    assert found == [("app/jobs.py", 17, "DAO106")]


def test_an_object_whose_commit_commits_is_a_commit(tmp_path):
    guard = """
    class CommitGuard:
        def __init__(self, session):
            self.session = session

        def commit(self):
            self.session.commit()


    class Notes:
        def commit(self, message):
            return message
    """
    job = """
    from app.guard import CommitGuard, Notes


    def schedule(session, runs):
        guard = CommitGuard(session)
        notes = Notes()
        for run in runs:
            run.state = "queued"
            guard.commit()
            notes.commit("queued")
    """
    found = check(tmp_path, {"app/guard.py": guard, "app/job.py": job}, select={"DAO106"})
    assert found == [("app/job.py", 9, "DAO106")]
