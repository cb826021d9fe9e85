"""One database session per use case (the CLI's commands are short-lived processes)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["open_database", "session"]


@contextmanager
def session(*, write: bool = False) -> Iterator[Session]:
    """Yield a session on the configured database (migrated first); ``write`` commits at the end."""
    from bastion.storage import create_engine_for, database_url, session_factory, upgrade

    engine = create_engine_for(database_url())
    try:
        upgrade(engine)
        factory = session_factory(engine)
        if write:
            with factory.begin() as s:
                yield s
        else:
            with factory() as s:
                yield s
    finally:
        engine.dispose()


def open_database() -> tuple[Engine, sessionmaker[Session]]:
    """Open (and migrate) the configured database for a long-running process; dispose the engine after."""
    from bastion.storage import create_engine_for, database_url, session_factory, upgrade

    engine = create_engine_for(database_url())
    upgrade(engine)
    return engine, session_factory(engine)
