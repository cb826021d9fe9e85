"""Grid level prices: arithmetic or geometric spacing, rounded to the market's tick.

Levels are numbered from the lower price: level 0 is ``lower``, level ``count`` is ``upper``.
Any integer index is a level, so a trailing grid extends the same sequence beyond the
configured range (index -1 is one step below ``lower``, ``count + 1`` one step above ``upper``).

The arithmetic is done in a private decimal context, so a caller's context cannot change a
level, and every level is rounded once, to the nearest tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Literal

from bastion.domain import Market

__all__ = ["Spacing", "grid_levels", "level_price"]

Spacing = Literal["arithmetic", "geometric"]

_CTX = Context(prec=34)


def level_price(lower: Decimal, upper: Decimal, count: int, spacing: Spacing, index: int, market: Market) -> Decimal:
    """Return the price of grid level ``index``, rounded to the nearest tick.

    Parameters
    ----------
    lower, upper
        The configured range (``lower < upper``, both positive).
    count
        Number of intervals N (N + 1 levels from ``lower`` to ``upper``).
    spacing
        ``arithmetic``: ``lower + index * (upper - lower) / count``;
        ``geometric``: ``lower * r ** index`` with ``r = (upper / lower) ** (1 / count)``.
    index
        The level; may lie outside ``0..count`` (a trailing grid).
    market
        Whose tick size rounds the price.

    Returns
    -------
    Decimal
        The rounded price; zero or negative below the range of an arithmetic grid.
    """
    if spacing == "arithmetic":
        raw = _CTX.add(lower, _CTX.divide(_CTX.multiply(upper - lower, Decimal(index)), Decimal(count)))
    else:
        ratio = _CTX.divide(upper, lower)
        raw = _CTX.multiply(lower, _CTX.power(ratio, _CTX.divide(Decimal(index), Decimal(count))))
    if raw <= 0:
        return raw
    return Decimal(market.round_price(raw))


def grid_levels(lower: Decimal, upper: Decimal, count: int, spacing: Spacing, market: Market) -> tuple[Decimal, ...]:
    """Return the ``count + 1`` level prices from ``lower`` to ``upper``, rounded to the tick.

    Examples
    --------
    ``grid_levels(100, 200, 4, "arithmetic", m)`` is 100, 125, 150, 175, 200;
    ``grid_levels(100, 200, 4, "geometric", m)`` with a 0.1 tick is 100.0, 118.9, 141.4, 168.2, 200.0.
    """
    return tuple(level_price(lower, upper, count, spacing, i, market) for i in range(count + 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class Ladder:
    """Level prices and per-interval order sizes of one grid on one market.

    Interval ``k`` spans levels ``k`` and ``k + 1``: its buy sits at level ``k`` and the sell
    of what that buy bought at level ``k + 1``. Every interval trades the same quote value,
    ``quote_per_grid``, so its base amount is ``floor(quote_per_grid / price(k))``.
    """

    lower: Decimal
    upper: Decimal
    count: int
    spacing: Spacing
    market: Market
    quote_per_grid: Decimal
    _prices: dict[int, Decimal] = field(default_factory=dict, init=False, repr=False, compare=False)
    _amounts: dict[int, Decimal] = field(default_factory=dict, init=False, repr=False, compare=False)

    def price(self, index: int) -> Decimal:
        """Return the rounded price of level ``index`` (not positive if it does not exist); computed once."""
        price = self._prices.get(index)
        if price is None:
            price = self._prices[index] = level_price(
                self.lower, self.upper, self.count, self.spacing, index, self.market
            )
        return price

    def amount(self, interval: int) -> Decimal:
        """Return the base amount interval ``interval`` buys at its lower level, floored to the lot."""
        amount = self._amounts.get(interval)
        if amount is None:
            price = self.price(interval)
            if price <= 0:
                amount = Decimal(0)
            else:
                amount = Decimal(self.market.floor_amount(_CTX.divide(self.quote_per_grid, price)))
            self._amounts[interval] = amount
        return amount
