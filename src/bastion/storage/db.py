"""Where the database is, how to open it, and how to bring its schema to the current version.

SQLite (WAL) in ``$BASTION_HOME/bastion.db`` is the default; ``BASTION_DATABASE_URL`` selects
another database, e.g. ``postgresql+psycopg://bastion:PASSWORD@127.0.0.1:5432/bastion``.

A SQLite file is created with mode 0600 (SQLite gives its ``-wal`` and ``-shm`` files the mode of
the database file), and an existing one readable by others is narrowed to 0600.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from bastion.errors import StorageError, scrub
from bastion.home import DATABASE_URL_ENV, HOME_ENV, bastion_home, database_url

__all__ = [
    "DATABASE_URL_ENV",
    "HOME_ENV",
    "bastion_home",
    "create_engine_for",
    "current_revision",
    "database_url",
    "downgrade",
    "head_revision",
    "mask_url",
    "session_factory",
    "upgrade",
]


_MIGRATIONS = Path(__file__).with_name("migrations")
_EXPECTED = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
_SQLITE_BUSY_TIMEOUT_MS = 5000


def mask_url(url: str | URL) -> str:
    """Return ``url`` with its password replaced by ``****``, fit for messages and logs."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True).replace(":***@", ":****@")
    masked = re.sub(r"(://[^/:@\s]*:)[^@/\s]*@", r"\1****@", url)
    return scrub(masked)


def _parse(url: str | URL) -> URL:
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except (exc.ArgumentError, ValueError):
        raise StorageError(f"database URL {mask_url(str(url))!r} cannot be parsed; expected {_EXPECTED}") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "pysqlite"):
        return parsed
    if backend in ("postgresql", "postgres") and driver in ("", "psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    raise StorageError(
        f"database URL {mask_url(parsed)!r} uses {parsed.drivername!r}, which Bastion does not support; "
        f"expected {_EXPECTED}"
    )


_SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def _private_sqlite_file(path: Path) -> None:
    """Create the database file with mode 0600, or narrow an existing one (and its side files)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        pass
    except OSError:
        return  # the connect that follows reports it with the database's own message
    else:
        os.close(fd)
        return
    for suffix in _SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        try:
            info = side.stat()
            if info.st_mode & 0o077 and info.st_uid == os.getuid():
                side.chmod(0o600)
        except OSError:
            continue


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy (not the sqlite3 module) decide where transactions begin: this makes DDL
    # transactional and SELECTs repeatable (see "Transactions with SQLite" in SQLAlchemy's docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


#: Execution option set by :class:`_Session` on the connection of a unit of work that writes.
_WRITES = "bastion_writes"


def _sqlite_on_begin(connection: Connection) -> None:
    # A unit of work that writes takes the write lock at BEGIN (waiting up to the busy timeout for
    # another writer). With a deferred BEGIN it would read first and ask for the lock at its first
    # write; had another process committed in between (the engine, every step), SQLite refuses the
    # upgrade at once with "database is locked" (SQLITE_BUSY_SNAPSHOT), and no timeout helps.
    immediate = connection.get_execution_options().get(_WRITES, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine_for(url: str | URL, *, check: bool = True, **kwargs: Any) -> Engine:
    """Create an Engine for ``url`` with Bastion's connection settings, and check that it opens.

    SQLite connections get WAL mode, ``foreign_keys=ON``, a busy timeout and
    ``synchronous=NORMAL``; ``postgresql://`` URLs use the psycopg 3 driver.

    Parameters
    ----------
    url
        A SQLAlchemy database URL (see :func:`database_url`).
    check
        Open one connection now, so that a wrong URL fails here with a clear message.
    **kwargs
        Passed on to :func:`sqlalchemy.create_engine`.

    Raises
    ------
    StorageError
        The URL is malformed, names an unsupported database, or the database cannot be opened.
        The message never contains the password.
    """
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().parent
        if not folder.is_dir():
            raise StorageError(
                f"cannot open SQLite database {mask_url(parsed)!r}: folder {folder} does not exist; "
                "expected the path of a database file in an existing folder"
            )
    private: Path | None = None
    database = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and database not in (None, "", ":memory:")
        and not database.startswith("file:")
    ):
        private = Path(database).expanduser()
        if check:  # created 0600 before SQLite creates it; else narrowed at the first connect
            _private_sqlite_file(private)
    try:
        engine = create_engine(parsed, **kwargs)
    except Exception as exc_:  # a driver that is not installed, a bad query option
        raise StorageError(f"cannot use database URL {mask_url(parsed)!r}: {_reason(exc_)}") from None
    if engine.dialect.name == "sqlite":
        if private is not None:  # first: the -wal and -shm files then take the file's 0600
            event.listen(engine, "connect", lambda _c, _r, path=private: _private_sqlite_file(path))
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    if check:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except exc.SQLAlchemyError as exc_:
            engine.dispose()
            raise StorageError(
                f"cannot open database {mask_url(parsed)!r}: {_reason(exc_)}; expected a reachable "
                f"database ({_EXPECTED})"
            ) from None
    return engine


def _reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    first = str(orig).strip().splitlines()
    return scrub(first[0] if first else type(orig).__name__)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a Session factory for ``engine``; use ``with factory.begin() as session:``.

    Objects stay readable after commit (``expire_on_commit=False``), since repositories hand
    out frozen records rather than live rows.
    """
    return sessionmaker(engine, class_=_Session, expire_on_commit=False)


class _Session(Session):
    """A Session whose explicit ``begin()`` (``with factory.begin() as session:``, a unit of work
    that writes) starts SQLite's transaction with ``BEGIN IMMEDIATE``; reads stay deferred."""

    def begin(self, nested: bool = False) -> SessionTransaction:
        transaction = super().begin(nested=nested)
        if not nested:
            self.connection(execution_options={_WRITES: True})
        return transaction


# --- migrations -----------------------------------------------------------------------------


def _alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.attributes["connection"] = connection
    return config


@contextmanager
def _engine(target: str | URL | Engine) -> Iterator[Engine]:
    if isinstance(target, Engine):
        yield target
        return
    engine = create_engine_for(target)
    try:
        yield engine
    finally:
        engine.dispose()


def _migrate(target: str | URL | Engine, action: str, revision: str) -> None:
    from alembic import command

    with _engine(target) as engine, engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        raw = connection.connection.driver_connection
        assert raw is not None  # an open connection has its driver's
        if sqlite:
            # SQLite's recipe for schema changes: foreign keys off outside the transaction
            # (batch migrations copy and drop tables), checked by hand before commit.
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with connection.begin():
                getattr(command, action)(_alembic_config(connection), revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise StorageError(
                            f"migration to {revision} left {len(broken)} rows with broken foreign keys "
                            f"(first: {tuple(broken[0])}); rolled back"
                        )
        except StorageError:
            raise
        except Exception as exc_:
            raise StorageError(
                f"cannot {action} database {mask_url(engine.url)!r} to {revision}: {_reason(exc_)}"
            ) from exc_
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys = ON")


def upgrade(target: str | URL | Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest), in one transaction.

    No ``alembic.ini`` is needed: the configuration is built here and points at the migrations
    packaged with Bastion.

    Parameters
    ----------
    target
        A database URL or an Engine from :func:`create_engine_for`.
    revision
        Alembic revision to reach.

    Raises
    ------
    StorageError
        The database cannot be opened or a migration failed (nothing was changed).
    """
    if revision == "head" and _at_head(target):
        return  # nothing to do: skip loading Alembic (a third of a short command's start-up)
    _migrate(target, "upgrade", revision)


#: The newest packaged migration; ``tests/storage/test_migrations.py`` checks it against Alembic's
#: own answer, so a new migration that does not update it fails the suite.
HEAD_REVISION = "0008"


def _at_head(target: str | URL | Engine) -> bool:
    """Whether the database already records :data:`HEAD_REVISION` (read without Alembic)."""
    try:
        with _engine(target) as engine, engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").fetchall()
    except exc.DBAPIError:  # no such table yet: a new database
        return False
    return [tuple(row) for row in rows] == [(HEAD_REVISION,)]


def downgrade(target: str | URL | Engine, revision: str = "base") -> None:
    """Migrate the database down to ``revision`` (default: the empty schema), in one transaction.

    Parameters
    ----------
    target
        A database URL or an Engine from :func:`create_engine_for`.
    revision
        Alembic revision to reach; ``base`` drops every Bastion table.
    """
    _migrate(target, "downgrade", revision)


def current_revision(target: str | URL | Engine) -> str | None:
    """Return the database's Alembic revision, or None for a database never migrated."""
    from alembic.runtime.migration import MigrationContext

    with _engine(target) as engine, engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """Return the newest revision among the packaged migrations."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("path_separator", "os")
    head = ScriptDirectory.from_config(config).get_current_head()
    if head is None:
        raise StorageError(f"no migrations found in {_MIGRATIONS}")
    return head
