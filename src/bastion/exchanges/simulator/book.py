"""A deterministic order book derived from one candle.

Mid is the candle's close and the best bid and ask sit one tick either side of it (half a
tick when the close is off the tick grid), so the spread is at least one tick. Levels are spaced
by a fortieth of the candle's range (at least one tick) and ``LEVELS`` deep on each side; their
sizes grow linearly with depth and add up to ``DEPTH_FRACTION`` of the candle's volume per side,
never less than the minimum quantity per level. Takers consume the levels; the book is rebuilt
when the replay moves to the next candle.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bastion.domain import Candle
from bastion.exchanges.simulator.candles import volume_of
from bastion.exchanges.simulator.rules import MarketRules

__all__ = ["DEPTH_FRACTION", "LEVELS", "Book", "best_prices", "build_book"]

LEVELS = 20
DEPTH_FRACTION = Decimal("0.05")
_WEIGHT_TOTAL = LEVELS * (LEVELS + 1) // 2


@dataclass(slots=True)
class Book:
    """Bids (best, i.e. highest, first) and asks (lowest first) as mutable ``[price, qty]`` pairs."""

    bids: list[list[Decimal]]
    asks: list[list[Decimal]]

    @property
    def best_bid(self) -> Decimal | None:
        """Return the highest bid price with quantity left, or None."""
        for price, qty in self.bids:
            if qty > 0:
                return price
        return None

    @property
    def best_ask(self) -> Decimal | None:
        """Return the lowest ask price with quantity left, or None."""
        for price, qty in self.asks:
            if qty > 0:
                return price
        return None

    def levels(self, side: str) -> list[list[Decimal]]:
        """Return the levels a taker on ``side`` ("BUY" takes asks, "SELL" takes bids) walks."""
        return self.asks if side == "BUY" else self.bids


def best_prices(close: Decimal, rules: MarketRules) -> tuple[Decimal, Decimal]:
    """Return the best (bid, ask) of a fresh book whose candle closed at ``close``."""
    tick = rules.tick_size
    return rules.ceil_price(close) - tick, rules.floor_price(close) + tick


def build_book(candle: Candle, rules: MarketRules) -> Book:
    """Return the book for ``candle`` under ``rules``."""
    tick = rules.tick_size
    best_bid, best_ask = best_prices(candle.close, rules)
    spacing = max(tick, rules.floor_price((candle.high - candle.low) / (2 * LEVELS)))
    per_side = volume_of(candle) * DEPTH_FRACTION
    sizes = [max(rules.min_qty, rules.floor_qty(per_side * (i + 1) / _WEIGHT_TOTAL)) for i in range(LEVELS)]
    bids: list[list[Decimal]] = []
    asks: list[list[Decimal]] = []
    for i, size in enumerate(sizes):
        bid = best_bid - spacing * i
        if bid > 0:
            bids.append([bid, size])
        asks.append([best_ask + spacing * i, size])
    return Book(bids, asks)
