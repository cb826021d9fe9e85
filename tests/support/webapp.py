"""The web app in process over a real SQLite file, a clock the test moves, and users to log in as.

Passwords are hashed with a cheap Argon2id cost here (the hash carries its parameters; the
production default is tested on its own): the suite creates many users.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bastion.services.users import PasswordParams, add_user, set_owner
from bastion.storage import (
    AccountRepository,
    BotRepository,
    DealRecord,
    DealRepository,
    create_engine_for,
    session_factory,
    upgrade,
)
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


DCA = """\
name = "{name}"
type = "dca"
account = "{account}"
pairs = ["BTC/USDT"]
base_order_size = "20"
safety_order_size = "20"
max_safety_orders = 2
active_safety_orders = 1
price_deviation_pct = "1"
take_profit_pct = "{take_profit}"
"""


def dca_toml(name: str, account: str, take_profit: str = "1.5") -> str:
    return DCA.format(name=name, account=account, take_profit=take_profit)


@dataclass(frozen=True)
class Stocked:
    """Two users (alice the trader, bob the trader) with an account, a bot and an open deal each; a viewer."""

    accounts: dict[str, int]
    bots: dict[str, int]
    deals: dict[str, int]


def stock(web: WebApp) -> Stocked:
    """Alice owns ``main`` (bot ``a-dca``, one open deal), Bob ``bobs`` (bot ``b-dca``, one open deal);
    Vera is a viewer who owns ``veras`` (bot ``v-dca``, one open deal)."""
    web.user("alice", role="trader")
    web.user("bob", role="trader")
    web.user("vera", role="viewer")
    accounts, bots, deals = {}, {}, {}
    for user, account, bot in (("alice", "main", "a-dca"), ("bob", "bobs", "b-dca"), ("vera", "veras", "v-dca")):
        accounts[user] = web.account(account, owner=user)
        with web.sessions.begin() as s:
            record = BotRepository(s).create(bot, type="dca", account_id=accounts[user],
                                             config_toml=dca_toml(bot, account))  # fmt: skip
            bots[user] = record.id
            opened = datetime.datetime.fromtimestamp(START_MS / 1000, datetime.UTC)
            deal = DealRepository(s).save(DealRecord(bot_id=record.id, pair="BTC/USDT", opened_at=opened,
                                                     amount=Decimal("0.001"), cost_quote=Decimal("20")))  # fmt: skip
            assert deal.id is not None
            deals[user] = deal.id
    return Stocked(accounts=accounts, bots=bots, deals=deals)


UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The only routes that work without a session: the health check, the webhooks, the password step
#: and the login page (static files are mounted, not routes).
NO_SESSION = frozenset(
    {("GET", "/api/v1/health"), ("POST", "/api/v1/signals/{bot_uuid}"), ("POST", "/api/v1/auth/login"),
     ("GET", "/login"), ("GET", "/static/{path:path}")}
)  # fmt: skip


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) of the app's API and page routes, sorted (included routers walked)."""
    found: set[tuple[str, str]] = set()

    def walk(items: Iterable[object]) -> None:
        for item in items:
            candidates = getattr(item, "effective_candidates", None)  # a router included with include_router
            if callable(candidates):
                walk(candidates())
                continue
            route = getattr(item, "original_route", item)
            path = getattr(item, "path", None) or getattr(route, "path", None)
            methods = getattr(route, "methods", None)
            if path is None or not methods or path == "/openapi.json":
                continue
            found.update((m, path) for m in methods if m != "HEAD")

    walk(app.routes)
    return sorted(found)


def fill(path: str, values: dict[str, object]) -> str:
    """Put values into a path template; a parameter with no value gets ``1``."""
    import re

    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(values.get(m.group(1), 1)), path)


def refused_without_session(status: int, location: str | None) -> bool:
    """401, or a redirect to the login page."""
    return status == 401 or (status in (302, 303, 307) and (location or "").startswith("/login"))


def snapshot(web: WebApp) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables a change would touch (sessions aside: using one touches it)."""
    from sqlalchemy import text

    tables = ("accounts", "bots", "deals", "commands", "orders", "users", "passkey_credentials", "signal_secrets")
    with web.engine.connect() as connection:
        return {t: [tuple(r) for r in connection.execute(text(f"SELECT * FROM {t} ORDER BY 1"))] for t in tables}  # noqa: S608
