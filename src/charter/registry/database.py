"""Where the registry lives and how Charter talks to it.

SQLite by default — ``registry.db`` under ``CHARTER_HOME`` or ``./.charter`` — in WAL mode, with
every write transaction opened ``BEGIN IMMEDIATE`` so writers queue instead of failing. A team
points ``CHARTER_DATABASE_URL`` at PostgreSQL. The schema is owned by the Alembic migrations in
``charter/registry/migrations``; :func:`upgrade` applies them (``charter init`` and every open).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError

from charter.errors import CharterError, NotFoundError

DATABASE_ENV = "CHARTER_DATABASE_URL"
HOME_ENV = "CHARTER_HOME"
VERSION_TABLE = "charter_alembic_version"
#: Execution option marking a read-only transaction (SQLite: BEGIN DEFERRED, not IMMEDIATE).
READ_ONLY = "charter_read_only"
_SQLITE_BUSY_MS = 60_000
#: The newest migration shipped in ``migrations/versions`` (a test keeps the two in step).
#: Comparing against it spares every open from importing Alembic.
SCHEMA_REVISION = "0005"


def charter_home(home: str | Path | None = None) -> Path:
    """The folder holding the default SQLite registry and artifact store.

    ``home``, else ``$CHARTER_HOME``, else ``.charter`` in the working directory.
    """
    if home is not None:
        return Path(home)
    env = os.environ.get(HOME_ENV)
    return Path(env) if env else Path.cwd() / ".charter"


def database_url(url: str | None = None, *, home: str | Path | None = None) -> str:
    """The registry's SQLAlchemy URL: ``url``, ``$CHARTER_DATABASE_URL``, or SQLite in home."""
    if url:
        return url
    env = os.environ.get(DATABASE_ENV)
    if env:
        return env
    return f"sqlite:///{charter_home(home) / 'registry.db'}"


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def create_registry_engine(url: str, *, create_folder: bool = False) -> Engine:
    """An engine configured for the registry's transaction discipline.

    Parameters
    ----------
    url
        SQLAlchemy URL (``sqlite:///...`` or ``postgresql+psycopg://...``).
    create_folder
        Create the SQLite file's folder when missing (``charter init``).
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise CharterError(
            f"'{url}' is not a database URL",
            hint="use sqlite:///path/registry.db or postgresql+psycopg://user@host/db",
        ) from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        local = database and database != ":memory:" and not database.startswith("file:")
        if local and create_folder:
            _create_private_database(Path(database))
        # a kept connection keeps the WAL: closing the last connection checkpoints and removes
        # it, which would cost an fsync per transaction
        engine = create_engine(url, pool_size=4, max_overflow=8)
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=4)
    raise CharterError(
        f"unsupported database '{parsed.get_backend_name()}'",
        hint="Charter's registry runs on SQLite or PostgreSQL",
    )


def _create_private_database(path: Path) -> None:
    """The folder 0700 and an empty database file 0600, before SQLite creates it 0644.

    SQLite gives its WAL and shared-memory files the database file's permissions, so the
    registry's whole home stays private to its owner whatever the umask.
    """
    from charter.files import PRIVATE_FILE, private_dir

    private_dir(path.parent)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # take transaction control away from pysqlite: we emit BEGIN ourselves
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "charter.registry:migrations")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration shipped with this Charter, as Alembic sees it."""
    from alembic.script import ScriptDirectory

    config = _alembic_config(None)
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or ``None`` for a database without a registry."""
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table(VERSION_TABLE):
                return None
            row = connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").first()
    except OperationalError as exc:
        raise CharterError(
            f"cannot reach the registry database {describe_url(str(engine.url))}: "
            f"{str(exc.orig).strip()}",
            hint=f"check {DATABASE_ENV} (or CHARTER_HOME) and that the database is running",
        ) from None
    except DatabaseError as exc:  # e.g. a registry.db that is not an SQLite file
        raise CharterError(
            f"{describe_url(str(engine.url))} is not a Charter registry database: "
            f"{str(exc.orig).strip()}",
            hint="point CHARTER_HOME / CHARTER_DATABASE_URL at the registry, or move the file"
            " away and run `charter init`",
        ) from None
    return None if row is None else str(row[0])


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the pending migrations (up to ``revision``, default the newest), in one transaction."""
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), revision)


def default_artifact_store(engine: Engine) -> str:
    """Where artifacts go when nothing says: beside the SQLite file, else under CHARTER_HOME."""
    if engine.dialect.name == "sqlite" and engine.url.database:
        return str(Path(engine.url.database).resolve().parent / "artifacts")
    return str(charter_home().resolve() / "artifacts")


def require_sqlite_file(url: str) -> None:
    """Refuse to open (and so create) a SQLite file that does not exist yet."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return
    path = parsed.database
    is_file = parsed.get_backend_name() == "sqlite" and path and path != ":memory:"
    if is_file and not Path(str(path)).exists():
        raise NotFoundError(
            f"no Charter registry at {parsed.database}",
            hint="run `charter init` to create one, or set CHARTER_HOME / CHARTER_DATABASE_URL "
            "to where it lives",
        )


def open_engine(url: str | None = None, *, home: str | Path | None = None) -> Engine:
    """The engine of an existing registry, migrated to the current schema.

    Raises
    ------
    NotFoundError
        There is no registry at the URL (run ``charter init``).
    """
    resolved = database_url(url, home=home)
    require_sqlite_file(resolved)
    engine = create_registry_engine(resolved)
    revision = current_revision(engine)
    if revision is None:
        engine.dispose()
        raise NotFoundError(
            f"no Charter registry at {describe_url(resolved)}",
            hint="run `charter init` to create one, or set CHARTER_HOME / "
            "CHARTER_DATABASE_URL to where it lives",
        )
    if revision != SCHEMA_REVISION:
        upgrade(engine)
    return engine
