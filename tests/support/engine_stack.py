"""The engine end-to-end tests' stack: a Bastion home with signer, a simulator and an engine process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from decimal import Decimal

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


class Stack:
    """A Bastion home with a signer, a simulator and an engine process."""

    def __init__(self, home: BastionHome, sim: SimulatorProcess) -> None:
        self.home = home
        self.sim = sim
        self.engine: subprocess.Popen[str] | None = None

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

    def deals(self) -> list[dict]:
        return json.loads(self.home.ok("deal", "list", "--json").stdout)

    def orders(self) -> list[dict]:
        return json.loads(self.home.ok("order", "list", "--json").stdout)

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
