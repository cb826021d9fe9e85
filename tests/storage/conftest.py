"""Storage fixtures: every test runs on SQLite and on a throwaway PostgreSQL server.

The PostgreSQL server is started once per test process (each xdist worker starts its own, on
a free loopback port): ``initdb`` into a temporary folder, ``pg_ctl start`` listening on
127.0.0.1 and on a Unix socket inside that folder, trust authentication (a throwaway cluster
holding nothing worth protecting), fsync off. It is stopped and deleted at the end of the session, also when tests
fail or are interrupted; a small watchdog process stops it if the test process is killed
outright. PostgreSQL refuses to run as root, so as root the server runs as the
``postgres`` system user (``runuser``). Without the server binaries the PostgreSQL cases skip.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bastion.storage.db import create_engine_for, session_factory, upgrade

SUPERUSER = "bastion"
INSTALL_HINT = "run `apt-get install postgresql` (./dev setup does it)"


def _find_bindir() -> Path | None:
    def version(path: str) -> tuple[int, ...]:
        part = Path(path).parent.name
        return tuple(int(p) for p in part.split(".") if p.isdigit())

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    which = shutil.which("initdb")
    if which:
        candidates.append(str(Path(which).parent))
    for folder in candidates:
        path = Path(folder)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL cluster on 127.0.0.1."""

    bindir: Path
    root: Path
    port: int = 0
    run_as: list[str] = field(default_factory=list)
    running: bool = False
    watchdog: subprocess.Popen[bytes] | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.run_as, *args], cwd=self.root, capture_output=True, text=True, timeout=60, check=False
        )

    def _watch(self) -> None:
        # If this test process dies without teardown (SIGKILL, SIGTERM), stop the server anyway.
        stop = " ".join(
            shlex.quote(a)
            for a in [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"]
        )
        script = (
            f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
            f"{stop} >/dev/null 2>&1; rm -rf {shlex.quote(str(self.root))}"
        )
        self.watchdog = subprocess.Popen(
            ["sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start(self) -> None:
        self._watch()
        socket_dir = self.root / "socket"
        socket_dir.mkdir()
        if self.run_as:
            for path in (self.root, socket_dir):
                shutil.chown(path, "postgres", "postgres")
        done = self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--no-locale", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        for _attempt in range(5):  # another worker may take the port between probe and bind
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {socket_dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            done = self._run(
                str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                "-o", options, "-w", "-t", "30", "start",
            )  # fmt: skip
            if done.returncode == 0:
                self.running = True
                return
        log = (self.root / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}\n{done.stderr}\n{log}")

    def stop(self) -> None:
        if self.running:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.running = False
        shutil.rmtree(self.root, ignore_errors=True)
        if self.watchdog is not None:
            self.watchdog.kill()
            self.watchdog.wait()
            self.watchdog = None

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a throwaway PostgreSQL server for this test process; stop it at the end."""
    bindir = _find_bindir()
    if bindir is None:
        pytest.skip(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")
    run_as: list[str] = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip(f"running as root and there is no 'postgres' user to run the server; {INSTALL_HINT}")
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root and `runuser` (util-linux) is missing to drop to 'postgres'")
        run_as = [runuser, "-u", "postgres", "--"]
    server = PostgresServer(bindir=bindir, root=Path(tempfile.mkdtemp(prefix="bastion-pg-")), run_as=run_as)
    atexit.register(server.stop)  # in case the session ends without running fixture teardown
    try:
        server.start()
        yield server
    finally:
        server.stop()
        atexit.unregister(server.stop)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Return the URL of a fresh, empty database (a new SQLite file, or a new PostgreSQL database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bastion.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        with contextlib.suppress(psycopg.Error):
            server.drop_database(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """Return an Engine on a fresh database migrated to head."""
    engine = create_engine_for(db_url)
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """Return a Session factory on the migrated database."""
    return session_factory(engine)
