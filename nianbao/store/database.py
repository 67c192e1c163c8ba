"""The store's database: its URL checked, the engine opened, the schema upgraded by the migrations.

Why check before connecting: a mistyped URL, a folder that does not exist or a server that does not
answer is the user's mistake, said as one coded line (``UserError``) before anything is made, not as the
driver's traceback after an empty database file was created.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from nianbao.defaults import DEFAULT_URL
from nianbao.errors import ErrorCode, UserError
from nianbao.stored_fields import compact_json

BACKENDS = ("sqlite", "postgresql")  # what the migrations are written and tested for
CONNECT_TIMEOUT_S = 5  # a PostgreSQL server that does not answer is reported after this, not waited for
MIGRATIONS = Path(__file__).with_name("migrations")


def database_cause(exc: Exception) -> str:
    """The first line of what the database driver said (else of the error), for a one-line E_DB report."""
    said = str(getattr(exc, "orig", None) or exc).strip()
    return said.splitlines()[0] if said else exc.__class__.__name__


def database_url(url: str) -> URL:
    """``url`` parsed, or E_DB_URL when it is no URL of a database the store runs on (``sqlit:///x.db``,
    a bare path): said before SQLAlchemy's own words, which name a plugin, not the mistake."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UserError(ErrorCode.E_DB_URL, url=url) from exc
    if parsed.get_backend_name() not in BACKENDS:
        raise UserError(ErrorCode.E_DB_URL, url=parsed.render_as_string(hide_password=True))
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The file a SQLite URL names (``sqlite:///file:PATH?uri=true`` too); None for another database or an
    in-memory one."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if str(url.query.get("uri", "")).lower() in ("true", "1"):
        if url.query.get("mode") == "memory":
            return None
        database = database.removeprefix("file:").split("?", 1)[0]
    return None if database in ("", ":memory:") else Path(database)


def upgrade(engine: Engine) -> None:
    """Bring the database's schema to the newest migration."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores REFERENCES without it
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the review page) never block the writer
    # In WAL mode a commit is then written to the log without waiting for the disk: a committed transaction
    # survives the process being killed; only a power cut or an OS crash can lose the newest commits, each
    # whole (a batch run again extracts those documents again).
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")  # several batch workers write the same file
    cursor.close()


def open_engine(url: str, create: bool = True) -> Engine:
    """The engine of the database at ``url``, its schema upgraded. ``create=False`` refuses a SQLite file
    that does not exist (E_DB_MISSING): a command that only reads would otherwise make an empty database
    and report nothing in it. A URL, folder or server that cannot work is a ``UserError``, found before it
    fails."""
    parsed = database_url(url)
    shown = parsed.render_as_string(hide_password=True)
    connect_args: dict[str, int] = {}
    path = sqlite_path(parsed)
    if path is not None and not path.exists():
        if not create:
            raise UserError(ErrorCode.E_DB_MISSING, url=shown)
        if not path.parent.is_dir():
            raise UserError(ErrorCode.E_DB_DIR, folder=path.parent, url=shown)
    if parsed.get_driver_name() in ("psycopg", "psycopg2") and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S  # libpq's own default is to wait forever
    try:
        engine = create_engine(parsed, connect_args=connect_args, json_serializer=compact_json)
    except NoSuchModuleError as exc:  # postgresql+nosuchdriver://
        raise UserError(ErrorCode.E_DB_URL, url=shown) from exc
    except ImportError as exc:  # a known driver that is not installed (postgresql+psycopg2://)
        raise UserError(ErrorCode.E_DB_DRIVER, url=shown, said=exc) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        try:
            engine.connect().close()  # the pool keeps it for the migrations
        except OperationalError as exc:
            engine.dispose()
            raise UserError(ErrorCode.E_DB_CONNECT, url=shown, said=database_cause(exc)) from exc
    upgrade(engine)
    return engine


__all__ = [
    "BACKENDS",
    "CONNECT_TIMEOUT_S",
    "DEFAULT_URL",
    "MIGRATIONS",
    "database_cause",
    "database_url",
    "open_engine",
    "sqlite_path",
    "upgrade",
]
