"""Finding 1: the SQLite database and its -wal/-shm files are the owner's alone (0600)."""

from __future__ import annotations

import os
from pathlib import Path

from bastion.storage import AccountRepository, create_engine_for, session_factory, upgrade


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_database_and_its_wal_and_shm_are_created_0600(tmp_path: Path):
    old = os.umask(0o022)  # a usual umask: files would be 0644
    try:
        path = tmp_path / "bastion.db"
        engine = create_engine_for(f"sqlite:///{path}")
        upgrade(engine)
        with session_factory(engine).begin() as session:
            AccountRepository(session).create("main", "binance")
        with engine.connect() as connection:  # keep one open so -wal and -shm exist
            connection.exec_driver_sql("SELECT 1")
            sides = [tmp_path / "bastion.db-wal", tmp_path / "bastion.db-shm"]
            assert all(p.exists() for p in sides)
            for file in [path, *sides]:
                assert _mode(file) == 0o600, f"{file.name} is {oct(_mode(file))}"
        engine.dispose()
    finally:
        os.umask(old)


def test_an_existing_database_readable_by_others_is_narrowed(tmp_path: Path):
    path = tmp_path / "bastion.db"
    path.touch()
    path.chmod(0o644)
    engine = create_engine_for(f"sqlite:///{path}")
    assert _mode(path) == 0o600
    engine.dispose()
