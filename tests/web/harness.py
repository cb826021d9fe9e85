"""Run the REAL web process (``python -m bastion web --port 0``) over a throwaway Bastion home.

The test process creates the schema and the bots with the repositories, on the same SQLite
file the server opens; the server prints ``listening on URL`` once it accepts connections.
"""

from __future__ import annotations

import itertools
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bastion.storage import (
    AccountRepository,
    BotRepository,
    SignalRecord,
    SignalRepository,
)

STARTUP_TIMEOUT_S = 30
SIGNAL_CONFIG = """\
name = "{name}"
type = "signal"
account = "main"
pairs = ["BTC/USDT", "ETH/USDT"]
directions = ["long"]
order_size = "25"
max_order_size = "100"
max_lag_s = 60
"""


@dataclass
class WebProcess:
    """A running ``bastion web`` and what the tests need around it."""

    url: str
    process: subprocess.Popen[str]
    log_file: Path
    sessions: sessionmaker[Session]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, trust_env=False, timeout=10)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


@dataclass(frozen=True)
class WebhookBot:
    """A bot with a webhook: its id, name, uuid and secret."""

    id: int
    name: str
    uuid: str
    secret: str

    def payload(self, **changes: object) -> dict[str, object]:
        """A valid enter_long for BTC/USDT sent now; a change of None removes the field."""
        body: dict[str, object] = {
            "secret": self.secret,
            "bot_uuid": self.uuid,
            "action": "enter_long",
            "timestamp": int(time.time()),
            "pair": "BTC/USDT",
        }
        body.update(changes)
        return {key: value for key, value in body.items() if value is not None}


def start(home: Path, log_file: Path) -> tuple[subprocess.Popen[str], str]:
    env = {key: value for key, value in os.environ.items() if key != "BASTION_DATABASE_URL"}
    env["BASTION_HOME"] = str(home)
    env["NO_PROXY"] = "127.0.0.1,localhost"
    with log_file.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bastion", "web", "--host", "127.0.0.1", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if line.startswith("listening on "):
                return process, line.removeprefix("listening on ").strip()
            if not line and process.poll() is not None:
                break
    process.kill()
    process.wait()
    raise RuntimeError(f"bastion web did not start (exit {process.returncode}):\n{log_file.read_text()}")


_names = itertools.count(1)


def make_bot(web: WebProcess, *, type: str = "signal", enabled: bool = True, config: str | None = None) -> WebhookBot:
    """Add a bot (a signal bot on BTC/USDT + ETH/USDT, 25 USDT, at most 100) with a webhook secret."""
    name = f"tv-{next(_names)}"
    text = SIGNAL_CONFIG.format(name=name) if config is None else config
    with web.sessions.begin() as session:
        account = AccountRepository(session).get("main")
        assert account is not None
        bot = BotRepository(session).create(name, type=type, account_id=account.id, config_toml=text, enabled=enabled)
        identity, secret = SignalRepository(session).create_secret(bot.id)
    return WebhookBot(id=bot.id, name=name, uuid=identity, secret=secret)


def pending(web: WebProcess, bot: WebhookBot) -> list[SignalRecord]:
    with web.sessions.begin() as session:
        return SignalRepository(session).pending(bot.id)


def recent(web: WebProcess, bot: WebhookBot) -> list[SignalRecord]:
    with web.sessions.begin() as session:
        return SignalRepository(session).recent(bot.id)
