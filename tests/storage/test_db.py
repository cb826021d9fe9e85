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
