"""One engine per database: an ``flock``-ed lock file that names the engine holding it.

The engine takes the lock at start and keeps it (the open file) until it exits; the kernel
drops it when the process dies, even on ``kill -9``, so a stale file never blocks a restart.
The file holds the holder's pid, host and start time, so a second engine (and ``bot start``)
can name the running one.

Where: next to the SQLite database (``bastion.db.engine.lock``); for another database URL
(PostgreSQL), in the Bastion home, named by a hash of the URL without its password. Two hosts
sharing one PostgreSQL database are not seen by this lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from bastion.errors import StorageError

__all__ = ["EngineHolder", "EngineLock", "lock_path", "running_engine", "utc_now_text"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineHolder:
    """The engine that holds the lock."""

    pid: int
    host: str
    started_at: str

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}, started at {self.started_at}"


def utc_now_text() -> str:
    """Return the wall-clock time as ISO 8601 UTC, as the lock records it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def lock_path(database_url: str, home: Path) -> Path:
    """Return the lock file of the engine on ``database_url``."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        db = Path(str(url.database))
        return db.with_name(db.name + ".engine.lock")
    digest = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return home / f"engine-{digest}.lock"


def _read(handle: IO[str]) -> EngineHolder | None:
    handle.seek(0)
    try:
        data = json.loads(handle.read() or "null")
        return EngineHolder(pid=int(data["pid"]), host=str(data["host"]), started_at=str(data["started_at"]))
    except (ValueError, TypeError, KeyError):
        return None


def running_engine(path: Path) -> EngineHolder | None:
    """Return the engine holding the lock at ``path``, or None when no engine runs."""
    if not path.exists():
        return None
    with path.open("r", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(handle) or EngineHolder(pid=0, host="?", started_at="?")
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


class EngineLock:
    """Hold the engine lock of a database while the engine runs.

    Parameters
    ----------
    path
        From :func:`lock_path`.
    started_at
        The start time to record (ISO 8601, UTC).
    """

    def __init__(self, path: Path, *, started_at: str) -> None:
        self.path = path
        self.started_at = started_at
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises
        ------
        StorageError
            Another engine holds it (the message names its pid, host and start time).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(handle)
            handle.close()
            who = str(holder) if holder is not None else "another process"
            raise StorageError(
                f"an engine is already running on this database ({who}); stop it first, "
                f"or point BASTION_HOME / BASTION_DATABASE_URL elsewhere (lock file {self.path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        me = {"pid": os.getpid(), "host": socket.gethostname(), "started_at": self.started_at}
        handle.write(json.dumps(me))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Drop the lock (also dropped by the kernel when the process ends)."""
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def __enter__(self) -> EngineLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
