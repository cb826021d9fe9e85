"""The web app in process over a real SQLite file, a clock the test moves, and users to log in as.

Passwords are hashed with a cheap Argon2id cost here (the hash carries its parameters; the
production default is tested on its own): the suite creates many users.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bastion.services.users import PasswordParams, add_user, set_owner
from bastion.storage import AccountRepository, create_engine_for, session_factory, upgrade
from bastion.storage.repositories.users import UserRecord
from bastion.web import create_app
from bastion.web.auth import AuthSettings

FAST = PasswordParams(memory_kib=1024, time_cost=1, parallelism=1)
PASSWORD = "correct horse battery staple"
ORIGIN = "http://localhost:8080"
START_MS = 1_800_000_000_000


@dataclass
class Clock:
    """Epoch milliseconds that move only when the test says so."""

    ms: int = START_MS

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


@dataclass
class WebApp:
    """The app, its database and clock, and helpers to make users and log in."""

    home: Path
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    settings: AuthSettings
    app: FastAPI
    clients: list[TestClient] = field(default_factory=list)

    def client(self) -> TestClient:
        client = TestClient(self.app, base_url="http://localhost:8080")
        self.clients.append(client)
        return client

    def user(self, name: str, *, role: str = "trader", accounts: Iterable[str] = (), phrase: str | None = None,
             password: str = PASSWORD) -> UserRecord:  # fmt: skip
        user = add_user(self.sessions, name, role=role, password=password, phrase=phrase, params=FAST)
        for account in accounts:
            set_owner(self.sessions, account, name)
        return user

    def account(self, name: str, *, exchange: str = "binance", owner: str | None = None) -> int:
        with self.sessions.begin() as s:
            record = AccountRepository(s).create(name, exchange)
        if owner is not None:
            set_owner(self.sessions, name, owner)
        return record.id

    def login(self, name: str, password: str = PASSWORD, client: TestClient | None = None) -> TestClient:
        """Log in with the password (for a user without a second factor); the client sends the CSRF token."""
        client = client or self.client()
        answer = client.post("/api/v1/auth/login", json={"name": name, "password": password})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.engine.dispose()


def make_webapp(home: Path, **settings: object) -> WebApp:
    engine = create_engine_for(f"sqlite:///{home / 'bastion.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    clock = Clock()
    auth = AuthSettings(origins=(ORIGIN, "http://127.0.0.1:8080"), rp_id="localhost", password=FAST, **settings)  # type: ignore[arg-type]
    app = create_app(sessions=sessions, clock_ms=clock, auth=auth)
    return WebApp(home=home, engine=engine, sessions=sessions, clock=clock, settings=auth, app=app)
