"""Finding, opening and configuring the database."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from bastion.errors import StorageError
from bastion.storage.db import (
    bastion_home,
    create_engine_for,
    database_url,
    mask_url,
    session_factory,
)


def test_database_url_defaults_to_sqlite_in_a_private_bastion_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    url = database_url(env={})
    home = tmp_path / ".bastion"
    assert url == f"sqlite:///{home / 'bastion.db'}"
    assert home.is_dir()
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_database_url_uses_bastion_home_when_set(tmp_path: Path) -> None:
    home = tmp_path / "nested" / "home"
    assert database_url(env={"BASTION_HOME": str(home)}) == f"sqlite:///{home / 'bastion.db'}"
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_database_url_prefers_bastion_database_url(tmp_path: Path) -> None:
    url = "postgresql+psycopg://bastion:pw@127.0.0.1:5432/bastion"
    env = {"BASTION_DATABASE_URL": url, "BASTION_HOME": str(tmp_path / "unused")}
    assert database_url(env=env) == url
    assert not (tmp_path / "unused").exists()


def test_bastion_home_that_is_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StorageError, match="not a folder"):
        bastion_home(env={"BASTION_HOME": str(tmp_path / "file")})


def test_sqlite_connections_use_wal_foreign_keys_busy_timeout_and_normal_sync(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'b.db'}")
    with engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    engine.dispose()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 1}


def test_sqlite_transactions_cover_reads_and_ddl(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'b.db'}")
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.rollback()  # DDL is transactional: the table is gone again
        assert conn.execute(text("SELECT count(*) FROM sqlite_master WHERE name = 't'")).scalar() == 0
    engine.dispose()


def test_session_factory_keeps_objects_readable_after_commit(tmp_path: Path) -> None:
    factory = session_factory(create_engine_for(f"sqlite:///{tmp_path / 'b.db'}"))
    assert factory.kw["expire_on_commit"] is False


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "cannot be parsed"),
        ("mysql://root:s3cret-pw@127.0.0.1/bastion", "does not support"),
        ("postgresql+psycopg2://u:s3cret-pw@127.0.0.1/db", "does not support"),
        ("postgresql+psycopg://u:s3cret-pw@127.0.0.1:1/db", "cannot open database"),
    ],
)
def test_bad_database_url_is_a_clear_error_without_the_password(url: str, expected: str) -> None:
    with pytest.raises(StorageError, match=expected) as info:
        create_engine_for(url)
    message = str(info.value)
    assert "s3cret-pw" not in message
    assert "expected" in message
    if "@" in url:
        assert "****" in message


def test_sqlite_in_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        create_engine_for(f"sqlite:///{tmp_path / 'missing' / 'b.db'}")


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    path.write_bytes(b"this is not an SQLite database, it is just some text" * 100)
    with pytest.raises(StorageError, match=r"cannot open database .*b\.db"):
        create_engine_for(f"sqlite:///{path}")


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    engine = create_engine_for("postgresql://u:pw@127.0.0.1:1/db", check=False)
    assert engine.dialect.driver == "psycopg"


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        (
            "postgresql+psycopg://bastion:p%40ss:w0rd@127.0.0.1:5432/db",
            "postgresql+psycopg://bastion:****@127.0.0.1:5432/db",
        ),
        ("postgresql://bastion@localhost/db", "postgresql://bastion@localhost/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_mask_url_hides_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_a_unit_of_work_that_reads_then_writes_survives_another_process_committing_in_between(
    tmp_path: Path,
) -> None:
    """`bot stop` read the bot, the engine committed a step, then the stop's UPDATE failed at once
    with "database is locked" (SQLite refuses to upgrade a read snapshot another writer has passed).
    A unit of work opened with ``factory.begin()`` now takes the write lock at BEGIN: the other
    writer waits for it instead."""
    import threading

    from sqlalchemy import text

    from bastion.storage.db import session_factory

    url = f"sqlite:///{tmp_path / 'race.db'}"
    ours, theirs = create_engine_for(url), create_engine_for(url)  # two "processes": two pools
    try:
        with ours.begin() as connection:
            connection.execute(text("CREATE TABLE t (name TEXT PRIMARY KEY, n INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES ('bot', 0), ('step', 0)"))
        other_done = threading.Event()

        def other_writer() -> None:  # the engine's step
            with session_factory(theirs).begin() as session:
                session.execute(text("UPDATE t SET n = n + 1 WHERE name = 'step'"))
            other_done.set()

        with session_factory(ours).begin() as session:
            assert session.execute(text("SELECT n FROM t WHERE name = 'bot'")).scalar_one() == 0
            writer = threading.Thread(target=other_writer)
            writer.start()
            other_done.wait(0.5)  # deferred BEGIN: it commits now, and our UPDATE below is refused
            session.execute(text("UPDATE t SET n = n + 1 WHERE name = 'bot'"))
        writer.join(timeout=10)
        assert other_done.is_set()
        with ours.connect() as connection:
            assert {name: n for name, n in connection.execute(text("SELECT name, n FROM t"))} == {"bot": 1, "step": 1}
    finally:
        ours.dispose()
        theirs.dispose()
