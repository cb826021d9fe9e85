"""One engine per database: the second one refuses and names the first (pid, host, start)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bastion.errors import StorageError
from bastion.services.engine_lock import EngineLock, lock_path, running_engine


def test_the_lock_sits_next_to_a_sqlite_database_and_in_the_home_otherwise(tmp_path: Path) -> None:
    assert lock_path(f"sqlite:///{tmp_path}/bastion.db", tmp_path / "home") == tmp_path / "bastion.db.engine.lock"
    a = lock_path("postgresql+psycopg://u:one@h/db", tmp_path)
    assert a == lock_path("postgresql+psycopg://u:two@h/db", tmp_path), "the password does not change the lock"
    assert a.parent == tmp_path
    assert a != lock_path("postgresql+psycopg://u:one@h/other", tmp_path)


def test_a_second_holder_is_refused_with_the_first_ones_pid_host_and_start(tmp_path: Path) -> None:
    path = tmp_path / "bastion.db.engine.lock"
    assert running_engine(path) is None
    with EngineLock(path, started_at="2026-12-06T10:00:00+00:00"):
        holder = running_engine(path)
        assert holder is not None
        assert (holder.pid, holder.host, holder.started_at) == (
            os.getpid(),
            socket.gethostname(),
            "2026-12-06T10:00:00+00:00",
        )
        with pytest.raises(StorageError, match=rf"already running on this database \(pid {os.getpid()} on "):
            EngineLock(path, started_at="later").acquire()
    assert running_engine(path) is None
    with EngineLock(path, started_at="again"):  # released: the next engine may start
        pass


def test_a_second_engine_process_refuses_to_start_and_names_the_running_one(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env["BASTION_HOME"] = str(tmp_path)
    command = [sys.executable, "-m", "bastion", "engine", "--poll-interval", "5"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "engine running"
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 2
        assert f"an engine is already running on this database (pid {first.pid} on {socket.gethostname()}" in (
            second.stderr
        )
        assert "engine running" not in second.stdout
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == 0
    assert running_engine(tmp_path / "bastion.db.engine.lock") is None
