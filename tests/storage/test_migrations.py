"""The Alembic migrations build exactly the schema the models describe, up and down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, MetaData, String, inspect, text
from sqlalchemy.exc import DBAPIError

from bastion.storage import db as storage_db
from bastion.storage.db import create_engine_for, current_revision, downgrade, head_revision, upgrade
from bastion.storage.models import Base

TABLES = {
    "api_keys",
    "account_policies",
    "signal_secrets",
    "signals",
    "accounts",
    "bots",
    "candles",
    "commands",
    "deals",
    "events",
    "fills",
    "markets",
    "orders",
    "paper_accounts",
    "users",
    "web_sessions",
    "passkey_credentials",
}


@pytest.fixture
def empty_engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine_for(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _differences(engine: Engine, metadata: MetaData) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, metadata))


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_of_an_empty_database_reaches_head(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert current_revision(empty_engine) == head_revision()
    assert _tables(empty_engine) == TABLES


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert _differences(engine, Base.metadata) == []


def test_the_comparison_notices_a_model_the_migrations_do_not_have(engine: Engine) -> None:
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["orders"].append_column(Column("note", String(10)))
    assert [d[0] for d in _differences(engine, drifted)] == ["add_column"]  # type: ignore[index]


def test_upgrade_twice_is_a_no_op(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_the_recorded_head_is_alembics_head() -> None:
    """Short commands skip Alembic when the database is at HEAD_REVISION: it must be the real head."""
    assert head_revision() == storage_db.HEAD_REVISION


def test_upgrade_skips_alembic_only_at_head(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = storage_db._migrate

    def counting(target: object, action: str, revision: str) -> None:
        calls.append((action, revision))
        real(target, action, revision)  # type: ignore[arg-type]

    monkeypatch.setattr(storage_db, "_migrate", counting)
    upgrade(engine)
    assert calls == []
    downgrade(engine, "0006")
    calls.clear()
    upgrade(engine)  # one revision behind: Alembic runs
    assert calls == [("upgrade", "head")]
    assert current_revision(engine) == head_revision()


def test_downgrade_to_base_removes_everything_and_upgrade_works_again(engine: Engine) -> None:
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert _tables(engine) == set()
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            functions = conn.execute(text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'bastion_%'")).scalar()
        assert functions == 0
    upgrade(engine)
    assert _tables(engine) == TABLES
    assert _differences(engine, Base.metadata) == []


@pytest.mark.parametrize("statement", ["UPDATE events SET kind = 'x'", "DELETE FROM events"])
def test_the_database_refuses_to_change_logged_events(engine: Engine, statement: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO events (ts, kind, aggregate_type, aggregate_id, payload) "
                "VALUES (:ts, 'Test', 'test', '1', '{}')"
            ),
            {"ts": "2024-01-01 00:00:00+00:00"},
        )
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT kind FROM events")).scalars().all() == ["Test"]
