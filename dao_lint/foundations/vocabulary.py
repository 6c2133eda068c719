"""The words of SQLAlchemy's session world and of Python's dotted names, as plain data:
which packages' `Session` is not a database session, which names make sessions, factories
and engines, and how a module and a relative import are named. No parser needed."""
from __future__ import annotations

__all__ = [
    "NON_DB_PACKAGES", "SESSION_TYPES", "SESSION_CLASSES", "FACTORY_MAKERS", "SCOPED_MAKERS", "FACTORY_NAMES",
    "ENGINE_MAKERS", "LOCAL_BASES", "local_base", "module_name", "absolute_name",
    "EFFECT_CALLS", "EFFECT_READS", "EFFECT_VERBS", "EFFECT_MODULES", "EFFECT_SENDS", "EFFECT_RECEIVERS", "URI_SETTING",
]

# Top-level packages whose `Session`/`session` objects are not database sessions.
NON_DB_PACKAGES = frozenset(
    {
        "requests", "aiohttp", "httpx", "flask", "quart", "werkzeug", "starlette", "django",
        "tensorflow", "tf", "onnxruntime", "boto3", "botocore", "aiobotocore", "urllib3",
        "tornado", "sanic", "neo4j", "cassandra", "pymongo", "motor", "paramiko", "selenium",
        "zeep", "requests_oauthlib", "grpc", "http", "ssl", "keyring", "niquests", "curl_cffi",
    }
)
SESSION_TYPES = frozenset(
    # (`ScopedSession`: SQLAlchemy's older name of `scoped_session`, still in `orm.scoping`)
    {"Session", "AsyncSession", "scoped_session", "async_scoped_session", "ScopedSession", "SASession", "SessionType"}
)
SESSION_CLASSES = frozenset(
    {
        "sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlalchemy.ext.asyncio.AsyncSession",
        "sqlalchemy.ext.asyncio.session.AsyncSession", "sqlmodel.Session", "sqlmodel.orm.session.Session",
        "sqlmodel.ext.asyncio.session.AsyncSession", "sqlalchemy.orm.create_session",
        "sqlalchemy.orm.scoped_session", "sqlalchemy.ext.asyncio.async_scoped_session",
        "sqlalchemy.orm.scoping.scoped_session", "sqlalchemy.orm.scoping.ScopedSession",
    }
)
FACTORY_MAKERS = frozenset({"sessionmaker", "async_sessionmaker", "scoped_session", "async_scoped_session"})
SCOPED_MAKERS = frozenset({"scoped_session", "async_scoped_session"})
FACTORY_NAMES = frozenset(
    {
        "SessionLocal", "AsyncSessionLocal", "async_session", "async_session_maker", "session_factory",
        "async_session_factory", "session_maker", "create_scoped_session", "_session_factory",
    }
)
ENGINE_MAKERS = frozenset({"create_engine", "create_async_engine", "engine_from_config"})

# Bases that define no methods named for an action (by their last name): a DAO class with
# only these and bases of its own file is judged by its file alone; a method of it named
# `save` overrides nothing (`db.Model`, `UserMixin`, `Generic[T]`, a declarative base)
LOCAL_BASES = frozenset({
    "object", "ABC", "Generic", "Protocol", "Model", "DeclarativeBase", "DeclarativeBaseNoMeta",
    "MappedAsDataclass", "UserMixin", "RoleMixin", "AnonymousUserMixin", "SQLModel",
})


def local_base(base: str) -> bool:
    """`base` (dotted, as written or qualified) adds no action-named methods (LOCAL_BASES)."""
    return base.rsplit(".", 1)[-1] in LOCAL_BASES


def module_name(relpath: str) -> str:
    """The dotted module name a relative path suggests (`blog.utils` for blog/utils.py)."""
    parts = relpath[:-3].split("/") if relpath.endswith(".py") else relpath.split("/")
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(p for p in parts if p)


def absolute_name(module: str, is_package: bool, qualified: str) -> str:
    """`qualified` as written in `module` with its relative dots resolved (`..db.get` in
    `app.api.users` is `app.db.get`)."""
    if not qualified.startswith("."):
        return qualified
    dots = len(qualified) - len(qualified.lstrip("."))
    parts = module.split(".") if module else []
    if not is_package:
        parts = parts[:-1]
    if dots > 1:
        parts = parts[: len(parts) - (dots - 1)]
    rest = qualified[dots:]
    return ".".join([*parts, rest] if rest else parts)


# Calls that reach outside the database: a mail, a message, an HTTP request, a task queued
# for a worker, a file written. `fix` keeps a commit that one of them follows (else the
# world hears of data that is not durable yet, and keeps it if the unit of work then fails).
# A log line is not one.
EFFECT_CALLS = frozenset({
    "send_mail", "send_email", "send_mass_mail", "sendmail", "send_message", "send_messages",
    "send_notification", "send_notifications", "send_sms", "send_webhook",
    "delay", "apply_async", "send_task", "enqueue", "enqueue_call", "enqueue_job",
    "write_text", "write_bytes",
})
#: calls of EFFECT_MODULES that only read (a download of data is no effect to wait for)
EFFECT_READS = frozenset({
    "get", "head", "options", "urlopen", "read", "stream", "Session", "Client", "AsyncClient", "Request", "build_opener",
})
#: modules of EFFECT_MODULES' packages that only compute (`urllib.parse.urljoin(...)`)
EFFECT_PURE = ("urllib.parse",)
#: the first word of a function's name that says it does one (`send_welcome_email(user)`,
#: `notify_owner(...)`): the project's own helpers are often out of the index's sight
EFFECT_VERBS = frozenset({"send", "mail", "email", "notify", "publish", "enqueue"})
#: packages whose calls go over the network
EFFECT_MODULES = frozenset({"requests", "httpx", "aiohttp", "urllib", "smtplib", "boto3", "botocore"})
#: these methods on a receiver named with one of EFFECT_RECEIVERS (`mail.send(message)`,
#: `producer.publish(event)`, `socketio.emit(...)`)
EFFECT_SENDS = frozenset({"send", "publish", "basic_publish", "produce", "emit"})
EFFECT_RECEIVERS = (
    "mail", "smtp", "sms", "slack", "webhook", "socket", "redis", "channel", "producer", "broker", "kafka", "pubsub", "notif",
)

#: the application setting that names the database (Flask-SQLAlchemy's): its engine is made
#: by the extension, out of sight, so the pysqlite listeners go on SQLAlchemy's `Engine` class
URI_SETTING = "SQLALCHEMY_DATABASE_URI"

#: objects of other libraries that hold the application's own values: `g.project.save()`,
#: `current_user.save()` may call a method of the project's models
APP_HOLDERS = frozenset({"flask.g", "flask.globals.g", "quart.g", "flask_login.current_user", "flask_login.utils.current_user"})
