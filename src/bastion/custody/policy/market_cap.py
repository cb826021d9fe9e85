"""Turn a market order into a limit IOC order capped at the reference +- the deviation limit.

A market order walks the book: on a thin or pumped market it fills far above the price the
policy judged. The signer therefore never sends one. It sends a LIMIT order with time in force
IOC at ``reference x (1 + max_deviation_pct / 100)`` for a buy, ``reference x (1 -
max_deviation_pct / 100)`` for a sell, rounded to the tick on the safe side (a buy down, a sell
up): it fills what the book offers within the cap now and expires the rest. The policy then
judges (and counts) that limit order, so the notional it counts is ``amount x cap``, the most the
order can spend.

A buy sized in quote (``quote_amount``) becomes ``floor_to_lot(quote_amount / cap)`` base: at the
cap price it spends at most ``quote_amount``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal, localcontext

from bastion.custody.policy.config import PolicyConfig
from bastion.custody.policy.request import OrderRequest, ReferenceMarket
from bastion.custody.policy.rules import EXACT
from bastion.domain.market import Market
from bastion.domain.order import OrderType
from bastion.errors import ValidationError

__all__ = ["CappedOrder", "cap_market_order", "market_cap_price"]

#: The time in force of every capped market order.
IOC = "IOC"


@dataclass(frozen=True, slots=True, kw_only=True)
class CappedOrder:
    """The limit IOC order that replaces a market order.

    Parameters
    ----------
    request
        The limit request to judge, send and record (same client order id as the market one).
    cap_price
        Its limit price: the worst price it can fill at.
    time_in_force
        Always ``"IOC"``.
    """

    request: OrderRequest
    cap_price: Decimal
    time_in_force: str = IOC

    def to_json(self) -> dict[str, str]:
        """Return what was sent instead of the market order, for the audit log."""
        assert self.request.amount is not None
        return {
            "type": "limit",
            "time_in_force": self.time_in_force,
            "price": format(self.cap_price, "f"),
            "amount": format(self.request.amount, "f"),
        }


def market_cap_price(side: str, reference: ReferenceMarket, config: PolicyConfig, market: Market) -> Decimal:
    """Return the cap of a market order: reference +- ``max_deviation_pct``, on the tick, on the safe side.

    Raises
    ------
    ValidationError
        The reference price is not positive, or a sell cap rounds to zero.
    """
    if not reference.price.is_finite() or reference.price <= 0:
        raise ValidationError(f"the reference price of {reference.symbol} must be positive, got {reference.price}")
    with localcontext(EXACT):
        if side == "buy":
            raw = reference.price * (100 + config.max_deviation_pct) / 100
            cap = Decimal(market.round_price(raw, "down"))
        else:
            raw = reference.price * (100 - config.max_deviation_pct) / 100
            cap = Decimal(market.round_price(raw, "up"))
    if cap <= 0:
        raise ValidationError(
            f"{reference.symbol}: the {side} cap {format(raw, 'f')} rounds to {cap} on tick {market.tick_size}; "
            "a market order cannot be capped there"
        )
    return cap


def cap_market_order(
    request: OrderRequest, reference: ReferenceMarket, config: PolicyConfig, market: Market
) -> CappedOrder:
    """Return the limit IOC order to send instead of the market order ``request``.

    ``request`` must be a well-formed market order (:func:`~bastion.custody.policy.rules.check_request`
    passes) for ``market``.

    Raises
    ------
    ValidationError
        ``request`` is not a market order, or its quote amount does not buy one lot at the cap.
    """
    if request.type != OrderType.MARKET:
        raise ValidationError(f"only a market order is capped, got a {request.type} order")
    cap = market_cap_price(request.side, reference, config, market)
    if request.quote_amount is not None:
        with localcontext(EXACT):
            amount = Decimal(market.floor_amount(request.quote_amount / cap))
        if amount <= 0:
            raise ValidationError(
                f"quote_amount {format(request.quote_amount, 'f')} {market.quote} buys less than one lot "
                f"({market.lot_step} {market.base}) at the cap price {format(cap, 'f')}"
            )
    else:
        assert request.amount is not None
        amount = request.amount
    limit = replace(request, type=OrderType.LIMIT, price=cap, amount=amount, quote_amount=None)
    return CappedOrder(request=limit, cap_price=cap)
