"""Runs the sample app's commands against a real database (a child process of test_databases).

Usage: python db_scenario.py setup|happy|failing, with the sample app on PYTHONPATH and
BLOG_DATABASE_URL naming the database. Prints one line saying what happened.
"""
import sys


def main(step: str) -> None:
    from blog.extensions import db, engine
    from blog.models import Tag, User

    if step == "setup":
        db.Model.metadata.drop_all(engine)
        db.Model.metadata.create_all(engine)
        db.session.add(User(id=1, email="ada@example.com", name="Ada"))
        db.session.add(Tag(id=1, name="sqlalchemy"))
        db.session.commit()
        print("ready")
        return

    from blog.commands.post.create import CreatePostCommand
    from blog.commands.post.importer import ImportPostsCommand

    if step == "happy":
        CreatePostCommand(1, {"title": "Hello", "slug": "hello", "body": "first", "tags": ["sqlalchemy"]}).run()
        db.session.remove()
        ImportPostsCommand(1, [
            {"title": "One", "slug": "one", "body": "1"},
            {"title": "Two", "slug": "two", "body": "2"},
        ]).run()
        db.session.remove()
        print("done")
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


if __name__ == "__main__":
    main(sys.argv[1])
