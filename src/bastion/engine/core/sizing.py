"""Quote-to-base sizing: a market order sized in quote leaves sized in base at the touch price."""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.interface import PriceView
from bastion.domain import Market
from bastion.domain.market import Side

__all__ = ["base_amount", "too_small"]


def base_amount(market: Market, side: Side, quote_amount: Decimal, price: PriceView) -> Decimal:
    """Return ``quote_amount`` in base at the price the order would meet, floored to the lot.

    A buy meets the ask, a sell the bid (the last price when the book side is unknown).
    """
    touch = (price.ask if side == "buy" else price.bid) or price.last
    if touch <= 0:
        return Decimal(0)
    return Decimal(market.floor_amount(quote_amount / touch))


def too_small(market: Market, amount: Decimal, price: Decimal) -> bool:
    """Whether ``amount`` at about ``price`` is below the market's minimum amount or notional."""
    if amount <= 0:
        return True
    if market.min_amount is not None and amount < market.min_amount:
        return True
    return market.min_notional is not None and amount * price < market.min_notional
