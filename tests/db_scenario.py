"""Runs the sample app's commands against a real database (a child process of test_databases).

Usage: python db_scenario.py setup|happy|tags|failing, with the sample app on PYTHONPATH and
BLOG_DATABASE_URL naming the database. Prints one line saying what happened.
"""
import sys


def main(step: str) -> None:
    if step == "import":  # every module of the app imports, its decorators applied
        import importlib
        import pathlib

        _stub_missing(["flask", "git", "requests"])
        for path in sorted(pathlib.Path("blog").rglob("*.py")):
            importlib.import_module(".".join(path.with_suffix("").parts).replace(".__init__", ""))
        print("imported")
        return
    from blog.extensions import db, engine
    from blog.models import Tag, User

    if step == "setup":
        db.Model.metadata.drop_all(engine)
        db.Model.metadata.create_all(engine)
        db.session.add(User(id=1, email="ada@example.com", name="Ada"))
        db.session.add(Tag(name="sqlalchemy"))  # ids from the sequence: later inserts too
        db.session.commit()
        print("ready")
        return

    from blog.commands.post.create import CreatePostCommand
    from blog.commands.post.importer import ImportPostsCommand
    from blog.commands.tag import EnsureTagsCommand

    if step == "happy":
        CreatePostCommand(1, {"title": "Hello", "slug": "hello", "body": "first", "tags": ["sqlalchemy"]}).run()
        db.session.remove()
        ImportPostsCommand(1, [
            {"title": "One", "slug": "one", "body": "1"},
            {"title": "Two", "slug": "two", "body": "2"},
        ]).run()
        db.session.remove()
        print("done")
    elif step == "tags":
        # "sqlalchemy" exists: its insert fails inside the DAO, whose handler reads it back
        tags = EnsureTagsCommand(["flask", "sqlalchemy", "orm"]).run()
        print(" ".join(f"{tag.name}={tag.id}" for tag in tags if tag.name == "sqlalchemy"))
        db.session.remove()
    elif step == "failing":
        try:
            ImportPostsCommand(1, [
                {"title": "First", "slug": "duplicate", "body": "1"},
                {"title": "Second", "slug": "duplicate", "body": "2"},
            ]).run()
        except Exception as exc:  # the second write violates the unique slug
            print(f"failed: {type(exc).__name__}")
        else:
            print("no failure")
        finally:
            db.session.remove()
    engine.dispose()


class _Anything:
    """Stands for a web framework or client the test environment does not install: any
    attribute, call or decorator use gives it back (only importing the app needs it)."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self if not (len(args) == 1 and callable(args[0]) and not kwargs) else args[0]

    def __mro_entries__(self, bases):
        return (object,)


def _stub_missing(names):
    import importlib.util
    import types

    for name in names:
        if importlib.util.find_spec(name) is None:
            module = types.ModuleType(name)
            module.__getattr__ = lambda attribute: _Anything()
            sys.modules[name] = module


if __name__ == "__main__":
    main(sys.argv[1])
