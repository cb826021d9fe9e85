"""Builders for the simulator's pure core: synthetic candles, rules and a venue with a fake clock."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from types import SimpleNamespace

import pytest

from bastion.domain import Candle
from bastion.exchanges.simulator.candles import CandleSeries
from bastion.exchanges.simulator.matching import FeeSchedule
from bastion.exchanges.simulator.rules import MarketRules
from bastion.exchanges.simulator.venue import Venue

D = Decimal
T0 = 1_700_000_000_000
MINUTE = 60_000


class FakeClock:
    """Wall clock for the core: starts at T0 and moves 1 ms per call."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        self.now += 1
        return self.now


def candles_from(rows: Sequence[tuple[str, str, str, str, str]], timeframe: int = MINUTE) -> CandleSeries:
    """Return a series from ``(open, high, low, close, volume)`` strings, one per minute."""
    return CandleSeries(
        tuple(Candle(T0 + i * timeframe, *(D(v) for v in row)) for i, row in enumerate(rows)), timeframe
    )


def flat_candles(n: int = 10, price: str = "100.0", volume: str = "1000") -> CandleSeries:
    """Return ``n`` identical candles around ``price`` with a 1.0 range."""
    p = D(price)
    return candles_from([(str(p), str(p + D("0.5")), str(p - D("0.5")), str(p), volume)] * n)


def rules(
    symbol: str = "BTC/USDT",
    tick: str = "0.1",
    step: str = "0.01",
    min_notional: str = "5",
    min_qty: str | None = None,
) -> MarketRules:
    """Return test rules: tick 0.1, step 0.01, min notional 5 unless told."""
    base, quote = symbol.split("/")
    return MarketRules(
        symbol=symbol,
        base=base,
        quote=quote,
        tick_size=D(tick),
        step_size=D(step),
        min_qty=D(min_qty or step),
        max_qty=D(1_000_000),
        min_price=D(tick),
        max_price=D(10_000_000),
        min_notional=D(min_notional),
        max_notional=D(9_000_000),
    )


VenueFactory = Callable[..., Venue]


@pytest.fixture
def make_venue() -> VenueFactory:
    """Return ``make(candles=None, market_rules=None, balances=None, fees=None, start=0)``."""

    def make(
        candles: CandleSeries | None = None,
        market_rules: MarketRules | None = None,
        balances: dict[str, str] | None = None,
        fees: FeeSchedule | None = None,
        start: int = 0,
        accounts: dict[str, dict[str, str]] | None = None,
    ) -> Venue:
        accounts = accounts or {"alice": balances or {"USDT": "10000", "BTC": "1"}}
        return Venue(
            [(market_rules or rules(), candles or flat_candles(), start)],
            {name: {a: D(v) for a, v in bal.items()} for name, bal in accounts.items()},
            clock=FakeClock(),
            fees=fees,
        )

    return make


@pytest.fixture
def core(make_venue: VenueFactory) -> SimpleNamespace:
    """Return the builders: ``candles_from``, ``flat_candles``, ``rules``, ``make_venue``."""
    return SimpleNamespace(
        candles_from=candles_from, flat_candles=flat_candles, rules=rules, make_venue=make_venue, T0=T0
    )
