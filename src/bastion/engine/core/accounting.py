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

from bastion.domain import Order

__all__ = ["DealFigures", "deal_figures"]

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
    entry_side = "buy" if direction == "long" else "sell"
    entry_base = entry_cost = entry_fee_base = entry_fee_quote = exit_base = exit_cost = _ZERO
    spent = received = base_held = _ZERO
    other: dict[str, Decimal] = {}
    for order in orders:
        for fill in order.fills:
            fee_quote = fill.fee.amount if fill.fee.currency == quote else _ZERO
            fee_base = fill.fee.amount if fill.fee.currency == base else _ZERO
            if fill.fee.currency not in (base, quote) and fill.fee.amount:
                other[fill.fee.currency] = other.get(fill.fee.currency, _ZERO) + fill.fee.amount
            if order.side == entry_side:
                entry_base += fill.amount
                entry_cost += fill.cost
                entry_fee_base += fee_base
                entry_fee_quote += fee_quote
            else:
                exit_base += fill.amount
                exit_cost += fill.cost
            if order.side == "buy":
                spent += fill.cost + fee_quote
                base_held += fill.amount - fee_base
            else:
                received += fill.cost - fee_quote
                base_held -= fill.amount + fee_base
    return DealFigures(
        entry_base=entry_base,
        entry_cost=entry_cost,
        entry_fee_base=entry_fee_base,
        entry_fee_quote=entry_fee_quote,
        exit_base=exit_base,
        exit_cost=exit_cost,
        quote_spent=spent,
        quote_received=received,
        base_held=base_held,
        direction=direction,
        other_fees=other,
    )
