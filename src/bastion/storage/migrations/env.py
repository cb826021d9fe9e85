"""Alembic environment: run Bastion's migrations on a connection or a URL.

:func:`bastion.storage.db.upgrade` passes an open connection (inside its transaction) in
``config.attributes["connection"]``. Run from the command line (``alembic -c
src/bastion/storage/migrations/alembic.ini ...``), the database is ``sqlalchemy.url`` if set,
else :func:`bastion.storage.db.database_url`.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection

from bastion.storage.db import create_engine_for, database_url
from bastion.storage.models import Base
from bastion.storage.types import DecimalText, UtcDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Render Bastion's column types as plain SQLAlchemy types, so that a revision keeps
    # describing the schema it created even if bastion.storage.types changes later.
    if type_ == "type" and isinstance(obj, DecimalText):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.Text().with_variant(postgresql.NUMERIC(), 'postgresql')"
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=_render_item,
        **kwargs,
    )


def _run(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or database_url()


if context.is_offline_mode():
    url = _url()
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
else:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
    else:
        engine = create_engine_for(_url())
        try:
            with engine.connect() as connection:
                _run(connection)
                connection.commit()
        finally:
            engine.dispose()
