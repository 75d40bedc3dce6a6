"""Database engines, migrations run from code, and the "schema at head" gate.

SQLite (the embedded default) runs in WAL mode with ``synchronous=NORMAL``: a commit is durable against a
crash of the process, and the last commits may be lost on power loss (``?synchronous=full`` in the URL
makes every commit fsync, at about a quarter of the append rate). Writes take the database lock up front
(``BEGIN IMMEDIATE``) so concurrent writers queue instead of failing mid-transaction.

PostgreSQL is reached through psycopg 3 (``postgresql+psycopg://...``); many workers on many machines can
share one log, serialised by a row lock on ``log_state``.

    engine = open_engine("sqlite:////tmp/fg.db")
    upgrade(engine)          # what ``fusionguard init`` does
    require_head(engine)     # what every other command does first
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

import fusionguard._migrations as _migrations
from fusionguard.errors import AuditError, SchemaNotAtHead

MIGRATIONS = Path(_migrations.__file__).parent
WRITE = "fusionguard_write"


def _alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def open_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, a busy timeout and explicit transactions."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise AuditError(f"database URL {url!r} is not a valid SQLAlchemy URL") from None
    options: dict[str, Any] = {}
    sqlite = parsed.get_backend_name() == "sqlite"
    synchronous = "NORMAL"
    if sqlite:
        synchronous = str(parsed.query.get("synchronous", "normal")).upper()
        if synchronous not in ("NORMAL", "FULL"):
            raise AuditError(f"synchronous={synchronous.lower()} must be normal or full")
        parsed = parsed.difference_update_query(["synchronous"])
        options["connect_args"] = {"timeout": 60}
        database = parsed.database
        if database and database != ":memory:" and not Path(database).parent.is_dir():
            raise AuditError(f"database directory {Path(database).parent} does not exist")
    try:
        engine = create_engine(parsed, pool_pre_ping=not sqlite, **options)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise AuditError(f"cannot use database {describe(url)}: {error}") from None
    if sqlite:
        _configure_sqlite(engine, synchronous, parsed.database)
    return engine


def _private_sqlite_files(database: str | None) -> None:
    """The database and its ``-wal``/``-shm`` files are the biometric store: 0600, never 0644.

    SQLite creates the database with the umask's mode (0644 by default) and gives ``-wal`` and
    ``-shm`` the database's mode, so the file is created 0600 before SQLite opens it, and files
    created by older versions are tightened when they belong to this user.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    for path in (database, f"{database}-wal", f"{database}-shm"):
        with contextlib.suppress(OSError):
            info = os.stat(path)
            if info.st_uid == os.geteuid() and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                os.chmod(path, 0o600)


def _configure_sqlite(engine: Engine, synchronous: str, database: str | None) -> None:
    @event.listens_for(engine, "do_connect")
    def before_connect(*_args: Any) -> None:
        _private_sqlite_files(database)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to choose.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Freed pages (an erased identity's rows) are overwritten with zeros, not left in the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()
        _private_sqlite_files(database)

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        writing = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def head_revision() -> str:
    script = ScriptDirectory(str(MIGRATIONS))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except DBAPIError as error:
        raise AuditError(f"cannot read database {describe(str(engine.url))}: {first_line(error)}") from None


def upgrade(engine: Engine) -> None:
    """Bring the schema to head (creating it on an empty database)."""
    config = _alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except (SQLAlchemyError, RuntimeError) as error:
        # Migrations refuse unsafe steps with a RuntimeError of their own (they import nothing of ours).
        raise AuditError(f"migration of {describe(str(engine.url))} failed: {first_line(error)}") from None


def require_head(engine: Engine) -> None:
    """Refuse to run on a database whose schema is missing or not at head."""
    current = current_revision(engine)
    head = head_revision()
    where = describe(str(engine.url))
    if current is None:
        raise SchemaNotAtHead(f"database {where} has no fusionguard schema; run 'fusionguard init'")
    if current != head:
        raise SchemaNotAtHead(
            f"database {where} is at schema {current}, this fusionguard needs {head}; "
            "run 'fusionguard init' to upgrade it"
        )


def first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None) or error
    return str(original).strip().splitlines()[0] if str(original).strip() else type(error).__name__
