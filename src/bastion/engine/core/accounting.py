"""Deal figures from fills: average entry, amounts, fees and realised profit, exact Decimals.

For a long deal the entry side is *buy* and the exit side *sell*; a (spot) short mirrors it.
Fees count where they were paid: a fee in the base currency reduces the base received (Binance
charges a buy's fee in the asset bought), a fee in the quote currency adds to what was spent or
subtracts from what was received. A fee in a third currency (BNB) is reported but not converted.

Profit = quote received minus quote spent, fees included, plus the base still held valued at the
close price. A closing order sells what the lot step allows, so a few satoshi of base stay on
the account (``base_held``); they are the user's, and leaving them out would show a take-profit
deal as a loss.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from bastion.domain import Fill, Order

__all__ = ["DealFigures", "FigureTotals", "deal_figures"]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class DealFigures:
    """What a deal's fills add up to."""

    entry_base: Decimal
    entry_cost: Decimal
    entry_fee_base: Decimal
    entry_fee_quote: Decimal
    exit_base: Decimal
    exit_cost: Decimal
    quote_spent: Decimal
    quote_received: Decimal
    base_held: Decimal
    direction: str = "long"
    other_fees: dict[str, Decimal] = field(default_factory=dict)

    @property
    def average_entry(self) -> Decimal | None:
        """Average entry net of fees, or None before any entry fill.

        Long: (cost + quote fees) / (base bought - base fees), the price the base held cost;
        short: (proceeds - quote fees) / (base sold + base fees). The DCA take-profit is computed
        from the same figure.
        """
        if self.direction == "long":
            base, quote = self.entry_base - self.entry_fee_base, self.entry_cost + self.entry_fee_quote
        else:
            base, quote = self.entry_base + self.entry_fee_base, self.entry_cost - self.entry_fee_quote
        return None if base <= 0 else quote / base

    @property
    def average_exit(self) -> Decimal | None:
        """Exit cost / exit base, or None before any exit fill."""
        return None if self.exit_base == 0 else self.exit_cost / self.exit_base

    @property
    def quote_flow(self) -> Decimal:
        """Quote received minus quote spent, fees included."""
        return self.quote_received - self.quote_spent

    def profit_quote(self, close_price: Decimal) -> Decimal:
        """Quote flow plus the base still held (positive or negative) valued at ``close_price``."""
        return self.quote_flow + self.base_held * close_price


class FigureTotals:
    """Running sums of a deal's fills: :meth:`add` each fill once, read :meth:`figures` any time.

    The engine core keeps one per deal and adds only the fills it has not seen (a deal's figures
    cost O(new fills), not O(all fills), per change); :func:`deal_figures` adds them all at once.
    """

    __slots__ = (
        "_base",
        "_entry_side",
        "_quote",
        "base_held",
        "direction",
        "entry_base",
        "entry_cost",
        "entry_fee_base",
        "entry_fee_quote",
        "exit_base",
        "exit_cost",
        "made",
        "other",
        "received",
        "spent",
    )

    def __init__(self, *, direction: str, base: str, quote: str) -> None:
        self.direction = direction
        self._entry_side = "buy" if direction == "long" else "sell"
        self._base, self._quote = base, quote
        self.entry_base = self.entry_cost = self.entry_fee_base = self.entry_fee_quote = _ZERO
        self.exit_base = self.exit_cost = self.spent = self.received = self.base_held = _ZERO
        self.other: dict[str, Decimal] = {}
        self.made: DealFigures | None = None

    def add(self, side: str, fill: Fill) -> None:
        """Count one fill of an order on ``side`` (``buy`` or ``sell``)."""
        self.made = None
        fee = fill.fee
        fee_quote = fee.amount if fee.currency == self._quote else _ZERO
        fee_base = fee.amount if fee.currency == self._base else _ZERO
        if fee.currency not in (self._base, self._quote) and fee.amount:
            self.other[fee.currency] = self.other.get(fee.currency, _ZERO) + fee.amount
        cost = fill.cost
        if side == self._entry_side:
            self.entry_base += fill.amount
            self.entry_cost += cost
            self.entry_fee_base += fee_base
            self.entry_fee_quote += fee_quote
        else:
            self.exit_base += fill.amount
            self.exit_cost += cost
        if side == "buy":
            self.spent += cost + fee_quote
            self.base_held += fill.amount - fee_base
        else:
            self.received += cost - fee_quote
            self.base_held -= fill.amount + fee_base

    def figures(self) -> DealFigures:
        """What the fills added so far make (the same frozen figures until the next fill)."""
        if self.made is not None:
            return self.made
        self.made = DealFigures(
            entry_base=self.entry_base,
            entry_cost=self.entry_cost,
            entry_fee_base=self.entry_fee_base,
            entry_fee_quote=self.entry_fee_quote,
            exit_base=self.exit_base,
            exit_cost=self.exit_cost,
            quote_spent=self.spent,
            quote_received=self.received,
            base_held=self.base_held,
            direction=self.direction,
            other_fees=dict(self.other),
        )
        return self.made


def deal_figures(orders: Iterable[Order], *, direction: str, base: str, quote: str) -> DealFigures:
    """Add up the fills of a deal's orders.

    Parameters
    ----------
    orders
        Every order of the deal (any status; only fills count).
    direction
        ``long`` or ``short``.
    base, quote
        The pair's currencies.
    """
    totals = FigureTotals(direction=direction, base=base, quote=quote)
    for order in orders:
        for fill in order.fills:
            totals.add(order.side, fill)
    return totals.figures()
