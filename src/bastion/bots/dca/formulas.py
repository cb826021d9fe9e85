"""The DCA arithmetic as pure Decimal functions (long; a short mirrors it around the base fill).

Safety order ``n`` (1-based) of a deal whose base order filled at ``P0``:

- size (quote): ``SO * vs**(n-1)``
- total deviation from ``P0`` (percent): ``d * (ss**n - 1) / (ss - 1)``, or ``d * n`` when ``ss == 1``
- price: ``P0 * (1 - D_n/100)`` for a long (``1 + D_n/100`` for a short), on the tick grid, rounded
  so the order is never worse than planned (down for a long's buy, up for a short's sell)
- amount: ``size / price`` floored to the lot step

After fills the entry is what the account really got: base bought **net** of base-currency fees,
quote spent **including** quote-currency fees (a short: base sold plus base fees, quote received
minus quote fees). The take-profit (``total``) is ``avg * (1 + tp/100)``; ``base`` targets
``tp/100 * BO`` of profit on the whole position: ``(cost + tp/100 * BO) / base``. Exit prices are
rounded to the tick in the direction that keeps at least the target (up for a long's sell).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise
from typing import Literal

from bastion.bots.interface import Direction, OrderView
from bastion.domain import Market
from bastion.errors import ValidationError

__all__ = [
    "EntryTotals",
    "average_entry_price",
    "base_change",
    "entry_totals",
    "order_amount",
    "quote_change",
    "rsi",
    "safety_order_deviation_pct",
    "safety_order_price",
    "safety_order_size",
    "stop_loss_price",
    "take_profit_price",
    "trailing_stop_price",
]

_HUNDRED = Decimal(100)
_ONE = Decimal(1)


def safety_order_size(safety_order_size: Decimal, volume_scale: Decimal, n: int) -> Decimal:
    """Return the quote size of safety order ``n`` (1-based): ``SO * vs**(n-1)``.

    Parameters
    ----------
    safety_order_size
        ``SO``, the first safety order's size in the quote currency.
    volume_scale
        ``vs``, the factor between consecutive safety orders' sizes.
    n
        Which safety order, from 1.
    """
    _check_index(n)
    return safety_order_size * volume_scale ** (n - 1)


def safety_order_deviation_pct(price_deviation_pct: Decimal, step_scale: Decimal, n: int) -> Decimal:
    """Return the total deviation (percent) of safety order ``n`` from the base fill price.

    ``d * (ss**n - 1) / (ss - 1)``: the first step is ``d``, each next step ``ss`` times the
    previous one; ``d * n`` when ``ss == 1``.
    """
    _check_index(n)
    if step_scale == _ONE:
        return price_deviation_pct * n
    return price_deviation_pct * (step_scale**n - _ONE) / (step_scale - _ONE)


def safety_order_price(base_price: Decimal, deviation_pct: Decimal, direction: Direction, market: Market) -> Decimal:
    """Return the limit price ``deviation_pct`` percent away from ``base_price``, on the tick grid.

    A long buys below (rounded down), a short sells above (rounded up).
    """
    if direction == "long":
        return market.round_price(base_price * (_ONE - deviation_pct / _HUNDRED), "down")
    return market.round_price(base_price * (_ONE + deviation_pct / _HUNDRED), "up")


def order_amount(quote_size: Decimal, price: Decimal, market: Market) -> Decimal:
    """Return the base amount worth ``quote_size`` at ``price``, floored to the lot step."""
    if price <= 0:
        raise ValidationError(f"{market.symbol}: price must be positive to size an order, got {price}")
    return market.floor_amount(quote_size / price)


def base_change(order: OrderView) -> Decimal:
    """Return how much base the order's fills added to the account (negative for a sell).

    A buy adds its fills net of base-currency fees; a sell removes its fills plus any base fee.
    """
    if order.side == "buy":
        return order.filled - order.fee_base
    return -(order.filled + order.fee_base)


def quote_change(order: OrderView) -> Decimal:
    """Return how much quote the order's fills added to the account (negative for a buy), after fees."""
    if order.side == "buy":
        return -(order.cost + order.fee_quote)
    return order.cost - order.fee_quote


@dataclass(frozen=True, slots=True)
class EntryTotals:
    """What a deal's entry orders did, both positive: quote spent (long) or received (short), and base held or owed."""

    quote: Decimal
    base: Decimal

    @property
    def average(self) -> Decimal:
        """Average entry price, ``quote / base``."""
        return average_entry_price(self.quote, self.base)


def entry_totals(orders: Iterable[OrderView], direction: Direction) -> EntryTotals:
    """Sum the entry orders' fills net of fees.

    A long's base is what the account holds (bought minus base fees) and its quote what it paid
    (cost plus quote fees); a short's base is what it owes back (sold plus base fees) and its
    quote what it received (proceeds minus quote fees).
    """
    sign = 1 if direction == "long" else -1
    quote = Decimal(0)
    base = Decimal(0)
    for order in orders:
        quote -= sign * quote_change(order)
        base += sign * base_change(order)
    return EntryTotals(quote=quote, base=base)


def average_entry_price(quote: Decimal, base: Decimal) -> Decimal:
    """Return ``quote / base``: total quote spent over total base bought (net of fees)."""
    if base <= 0:
        raise ValidationError(f"an average entry price needs a positive base amount, got {base}")
    return quote / base


def take_profit_price(
    *,
    direction: Direction,
    take_profit_type: Literal["total", "base"],
    profit_pct: Decimal,
    entry: EntryTotals,
    base_order_size: Decimal,
    market: Market,
) -> Decimal:
    """Return the take-profit price for the position ``entry``, on the tick grid.

    Parameters
    ----------
    direction
        ``long`` sells above the entry, ``short`` buys back below it.
    take_profit_type
        ``total``: ``profit_pct`` above the average entry (``avg * (1 + tp/100)``; a short
        ``avg * (1 - tp/100)``). ``base``: a profit of ``profit_pct`` of the base order size on
        the whole position (``(quote + tp/100 * BO) / base``; a short ``(quote - tp/100 * BO) / base``).
    profit_pct
        ``tp``, percent.
    entry
        The position's quote and base totals, net of fees.
    base_order_size
        ``BO`` in the quote currency (used by ``base`` only).
    market
        Its tick; the price is rounded up for a long and down for a short so the target is kept.
    """
    rate = profit_pct / _HUNDRED
    if take_profit_type == "total":
        average = entry.average
        target = average * (_ONE + rate) if direction == "long" else average * (_ONE - rate)
    else:
        if entry.base <= 0:
            raise ValidationError(f"a take-profit needs a positive base amount, got {entry.base}")
        profit = rate * base_order_size
        target = (entry.quote + profit if direction == "long" else entry.quote - profit) / entry.base
    if target <= 0:
        raise ValidationError(f"{market.symbol}: take-profit price {target} is not positive")
    return market.round_price(target, "up" if direction == "long" else "down")


def stop_loss_price(average: Decimal, stop_loss_pct: Decimal, direction: Direction, market: Market) -> Decimal:
    """Return the stop level ``stop_loss_pct`` percent beyond the average entry, on the tick grid.

    Rounded away from the entry (down for a long, up for a short): the loss is at least the one asked for.
    """
    if direction == "long":
        return market.round_price(average * (_ONE - stop_loss_pct / _HUNDRED), "down")
    return market.round_price(average * (_ONE + stop_loss_pct / _HUNDRED), "up")


def trailing_stop_price(extreme: Decimal, deviation_pct: Decimal, direction: Direction, market: Market) -> Decimal:
    """Return the level at which a trailing take-profit closes: ``deviation_pct`` back from the extreme.

    ``extreme`` is the highest price since arming for a long (the lowest for a short). Rounded
    away from the extreme, so the pullback is at least ``deviation_pct``.
    """
    if direction == "long":
        return market.round_price(extreme * (_ONE - deviation_pct / _HUNDRED), "down")
    return market.round_price(extreme * (_ONE + deviation_pct / _HUNDRED), "up")


def rsi(closes: Sequence[Decimal], period: int) -> Decimal | None:
    """Return Wilder's RSI of ``closes`` (oldest first), or None with fewer than ``period + 1`` closes.

    The first average gain and loss are simple means over the first ``period`` changes; each later
    change is smoothed in as ``(avg * (period - 1) + change) / period``. A series with no losses
    gives 100, one with no change at all 50.
    """
    if period < 1:
        raise ValidationError(f"an RSI period must be at least 1, got {period}")
    if len(closes) < period + 1:
        return None
    changes = [later - earlier for earlier, later in pairwise(closes)]
    gain = sum((max(c, Decimal(0)) for c in changes[:period]), Decimal(0)) / period
    loss = sum((max(-c, Decimal(0)) for c in changes[:period]), Decimal(0)) / period
    for change in changes[period:]:
        gain = (gain * (period - 1) + max(change, Decimal(0))) / period
        loss = (loss * (period - 1) + max(-change, Decimal(0))) / period
    if loss == 0:
        return _HUNDRED if gain > 0 else Decimal(50)
    return _HUNDRED - _HUNDRED / (_ONE + gain / loss)


def _check_index(n: int) -> None:
    if n < 1:
        raise ValidationError(f"safety orders are numbered from 1, got {n}")
