"""Long or short: which side enters and exits, and which way is "better" for each."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Literal

from bastion.bots.interface import Direction, PriceView
from bastion.domain import Market
from bastion.domain.market import Side

_CTX = Context(prec=34)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class Way:
    """Direction-dependent arithmetic; every method reads naturally for a long."""

    direction: Direction

    @property
    def long(self) -> bool:
        """Whether this is a long (buy first)."""
        return self.direction == "long"

    @property
    def entry_side(self) -> Side:
        """The entry order's side."""
        return "buy" if self.long else "sell"

    @property
    def exit_side(self) -> Side:
        """The exit orders' side."""
        return "sell" if self.long else "buy"

    @property
    def favourable_rounding(self) -> Literal["up", "down"]:
        """Rounding that favours the position's profit (up for a long)."""
        return "up" if self.long else "down"

    def gain(self, price: Decimal, pct: Decimal) -> Decimal:
        """``price`` moved ``pct`` percent in the profitable direction."""
        factor = 1 + _CTX.divide(pct, _HUNDRED) if self.long else 1 - _CTX.divide(pct, _HUNDRED)
        return _CTX.multiply(price, factor)

    def loss(self, price: Decimal, pct: Decimal) -> Decimal:
        """``price`` moved ``pct`` percent in the losing direction."""
        factor = 1 - _CTX.divide(pct, _HUNDRED) if self.long else 1 + _CTX.divide(pct, _HUNDRED)
        return _CTX.multiply(price, factor)

    def best(self, price: PriceView) -> Decimal:
        """The best price for the position since the last decision (the high for a long)."""
        return price.high if self.long else price.low

    def worst(self, price: PriceView) -> Decimal:
        """The worst price for the position since the last decision (the low for a long)."""
        return price.low if self.long else price.high

    def better(self, a: Decimal, b: Decimal) -> Decimal:
        """The better of two prices for the position (the higher for a long)."""
        return max(a, b) if self.long else min(a, b)

    def reached(self, price: Decimal, target: Decimal) -> bool:
        """Whether ``price`` is at or beyond a profit ``target``."""
        return price >= target if self.long else price <= target

    def stopped(self, price: Decimal, stop: Decimal) -> bool:
        """Whether ``price`` is at or beyond a ``stop`` (at or below it for a long)."""
        return price <= stop if self.long else price >= stop

    def towards_loss(self, price: Decimal, distance: Decimal) -> Decimal:
        """``price`` moved ``distance`` in the losing direction."""
        return price - distance if self.long else price + distance

    def step_beyond(self, price: Decimal, market: Market) -> Decimal:
        """One tick past ``price`` in the profitable direction."""
        return price + market.tick_size if self.long else price - market.tick_size

    def step_back(self, price: Decimal, market: Market) -> Decimal:
        """One tick past ``price`` in the losing direction."""
        return price - market.tick_size if self.long else price + market.tick_size
