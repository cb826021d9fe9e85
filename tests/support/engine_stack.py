"""The engine end-to-end tests' stack: a Bastion home with signer, a simulator and an engine process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bastion.storage import (
    BotRecord,
    BotRepository,
    DealRepository,
    OrderRepository,
    create_engine_for,
    session_factory,
)
from support.custody import BastionHome
from support.simulator import SimulatorProcess

DCA = """
name = "dca1"
type = "dca"
account = "alice"
pairs = ["BTC/USDT"]
base_order_size = "20"
safety_order_size = "20"
base_order_type = "market"
max_safety_orders = 2
active_safety_orders = 2
price_deviation_pct = "0.3"
safety_order_step_scale = "1"
safety_order_volume_scale = "1"
take_profit_pct = "0.4"
take_profit_type = "total"
max_active_deals = 1
start_condition = {type = "asap"}
"""


_DEAL_FIELDS = (
    "id", "pair", "status", "direction", "base_order_price", "safety_orders_filled", "avg_price",
    "take_profit_price", "close_price", "amount", "profit_quote", "opened_at", "closed_at", "outcome",
)  # fmt: skip


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "value"):
        return value.value
    return value


class Stack:
    """A Bastion home with a signer, a simulator and an engine process."""

    def __init__(self, home: BastionHome, sim: SimulatorProcess) -> None:
        self.home = home
        self.sim = sim
        self.engine: subprocess.Popen[str] | None = None
        self._db: Engine | None = None

    def start_engine(self, env: dict[str, str] | None = None) -> None:
        self.engine = subprocess.Popen(
            [sys.executable, "-m", "bastion", "engine", "--poll-interval", "0.2"],
            env={**self.home.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.engine.stdout is not None
        assert self.engine.stdout.readline().strip() == "engine running"

    def stop_engine(self, sig: int = signal.SIGTERM) -> None:
        if self.engine is not None:
            self.engine.send_signal(sig)
            self.engine.communicate(timeout=30)
            self.engine = None

    def close_db(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None

    def deals(self, *, cli: bool = False) -> list[dict]:
        """Deals as ``bastion deal list --json`` prints them; read in-process unless ``cli`` (a process costs ~1 s)."""
        if cli:
            return json.loads(self.home.ok("deal", "list", "--json").stdout)
        with self._session() as session:
            bots = {b.id: b.name for b in BotRepository(session).all()}
            return [
                {**{f: _text(getattr(d, f)) for f in _DEAL_FIELDS}, "bot": bots.get(d.bot_id)}
                for d in DealRepository(session).all()
            ]

    def orders(self, *, cli: bool = False) -> list[dict]:
        """Orders as ``bastion order list --json`` prints them (in-process unless ``cli``)."""
        if cli:
            return json.loads(self.home.ok("order", "list", "--json").stdout)
        with self._session() as session:
            bots = {b.id: b.name for b in BotRepository(session).all()}
            return [
                {
                    "client_order_id": o.client_order_id,
                    "exchange_order_id": o.exchange_order_id,
                    "bot": bots.get(b) if b is not None else None,
                    "deal": d,
                    "pair": o.symbol,
                    "side": o.side,
                    "type": o.type.value,
                    "price": _text(o.price),
                    "amount": _text(o.amount),
                    "filled": _text(o.filled),
                    "status": o.status.value,
                }
                for o, b, d, _leg in OrderRepository(session).for_bot(None)
            ]

    def bots(self) -> dict[str, BotRecord]:
        """Bots by name, with their status as the engine recorded it."""
        with self._session() as session:
            return {b.name: b for b in BotRepository(session).all()}

    @contextmanager
    def _session(self) -> Iterator[Session]:
        if self._db is None:
            self._db = create_engine_for(f"sqlite:///{self.home.home / 'bastion.db'}")
        with session_factory(self._db)() as session:
            yield session

    def run_until(self, done, *, step: int = 3, limit: int = 400, pause: float = 0.3) -> None:
        for _ in range(limit // step):
            if done():
                return
            self.sim.advance(step)
            time.sleep(pause)
        assert done(), "the condition was not reached in the replayed window"


def create_bot(stack: Stack, toml: str, name: str) -> None:
    path = stack.home.home / f"{name}.toml"
    path.write_text(toml)
    stack.home.ok("bot", "create", "--config", str(path))
    stack.home.ok("bot", "start", name)


def exchange_profit(sim: SimulatorProcess, order_ids: set[str], close_price: Decimal) -> Decimal:
    """Profit from the exchange's own trade records, by hand: quote in - quote out, fees in
    the currency charged, base left valued at the close price."""
    quote = base = Decimal(0)
    for trade in sim.trades("alice"):
        if str(trade["orderId"]) not in order_ids:
            continue
        qty, price, fee = Decimal(trade["qty"]), Decimal(trade["price"]), Decimal(trade["commission"])
        fee_base = fee if trade["commissionAsset"] == "BTC" else Decimal(0)
        fee_quote = fee if trade["commissionAsset"] == "USDT" else Decimal(0)
        if trade["isBuyer"]:
            quote -= qty * price + fee_quote
            base += qty - fee_base
        else:
            quote += qty * price - fee_quote
            base -= qty + fee_base
    return quote + base * close_price
