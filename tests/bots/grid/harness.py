"""Markets and recorded candles for the grid and SmartTrade tests; the bots run on the real engine core.

The harness itself is :class:`support.core_harness.StepHarness`: views from the core, decisions
applied by the core, a tiny venue answering its orders.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from importlib.resources import files

from bastion.bots.interface import Bot
from bastion.domain import Market
from support.core_harness import StepHarness

T0 = 1_673_000_000_000  # 2023-01-06, inside the bundled BTC/USDT candles

BTC_USDT = Market(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.1"),
    lot_step=Decimal("0.00001"),
    min_amount=Decimal("0.00001"),
    max_amount=Decimal("9000"),
    min_notional=Decimal("5"),
)


def btc_candles(start: int, count: int) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
    """Return ``count`` recorded BTC/USDT 5m candles from index ``start`` as (open, high, low, close)."""
    text = files("bastion").joinpath("_data", "BTC_USDT-5m.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))[start : start + count]
    return [(Decimal(r["open"]), Decimal(r["high"]), Decimal(r["low"]), Decimal(r["close"])) for r in rows]


def Harness(
    bot: Bot,
    market: Market = BTC_USDT,
    *,
    last: str | Decimal,
    now_ms: int = T0,
    fee_rate: str | Decimal = "0",
    balances: dict[str, Decimal] | None = None,
) -> StepHarness:
    """A :class:`StepHarness` for ``bot`` on ``market`` at price ``last``."""
    kind = getattr(getattr(bot, "config", None), "type", "grid")
    return StepHarness(bot, market, last=last, now_ms=now_ms, fee_rate=fee_rate, balances=balances, kind=kind)
