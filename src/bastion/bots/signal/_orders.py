"""Orders of a signal deal, built rounded and checked against the market's rules."""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.interface import Direction, OrderRole, OrderView, PlaceOrder
from bastion.domain import Market, OrderType
from bastion.domain.market import Side
from bastion.errors import MarketRuleError, ValidationError

#: Legs, one of each per deal (a closing order refused without a fill is tried again as ``exit.2``...);
#: a partial exit sells as ``px.<signal id>``, and the take-profit it displaced rests again as ``tp.2``...
ENTRY, EXIT, TAKE_PROFIT, STOP_LOSS, PARTIAL_EXIT = "entry", "exit", "tp", "sl", "px"
EXIT_STEMS = (EXIT, TAKE_PROFIT, STOP_LOSS, PARTIAL_EXIT)


def entry_side(direction: Direction) -> Side:
    return "buy" if direction == "long" else "sell"


def exit_side(direction: Direction) -> Side:
    return "sell" if direction == "long" else "buy"


def has_stem(leg: str, stem: str) -> bool:
    return leg == stem or leg.startswith(stem + ".")


def is_exit(order: OrderView) -> bool:
    return any(has_stem(order.leg, stem) for stem in EXIT_STEMS)


def fresh_leg(legs: list[str], stem: str) -> str:
    """``stem``, or ``stem.2``, ``stem.3``... when an earlier order already used it."""
    if stem not in legs:
        return stem
    n = 2
    while f"{stem}.{n}" in legs:
        n += 1
    return f"{stem}.{n}"


def base_change(order: OrderView) -> Decimal:
    """How much base the order's fills added to the account (negative for a sell), after base fees."""
    if order.side == "buy":
        return order.filled - order.fee_base
    return -(order.filled + order.fee_base)


def too_small(market: Market, amount: Decimal, price: Decimal) -> bool:
    """Whether an order of ``amount`` at about ``price`` is below the market's minimums."""
    if amount <= 0:
        return True
    if market.min_amount is not None and amount < market.min_amount:
        return True
    return market.min_notional is not None and amount * price < market.min_notional


def entry_order(
    deal: int | str, market: Market, direction: Direction, size: Decimal, currency: str, last: Decimal
) -> tuple[PlaceOrder | None, str]:
    """The market entry order of ``size`` (quote or base) at about ``last``, or None and why not.

    A long sized in quote buys with ``quote_amount = size``; every other entry names a base
    amount floored to the lot step (a short sized in quote sells ``size / last``).
    """
    side = entry_side(direction)
    try:
        if last <= 0:
            raise ValidationError(f"{market.symbol}: price must be positive to size an order, got {last}")
        if currency == "quote" and direction == "long":
            market.check_notional(last, size / last)
            market.check_amount(market.floor_amount(size / last))
            order = PlaceOrder(
                deal=deal, leg=ENTRY, role=OrderRole.ENTRY, symbol=market.symbol, side=side, type=OrderType.MARKET,
                amount=None, quote_amount=size,
            )  # fmt: skip
            return order, ""
        amount = market.floor_amount(size / last if currency == "quote" else size)
        market.check_amount(amount)
        market.check_notional(last, amount)
    except ValidationError as exc:  # MarketRuleError is one
        return None, str(exc)
    entry = PlaceOrder(
        deal=deal,
        leg=ENTRY,
        role=OrderRole.ENTRY,
        symbol=market.symbol,
        side=side,
        type=OrderType.MARKET,
        amount=amount,
    )
    return entry, ""


def limit_order(
    deal: int, leg: str, market: Market, side: Side, price: Decimal, amount: Decimal, role: OrderRole
) -> tuple[PlaceOrder | None, str]:
    """A limit order, or None and why the market would refuse it."""
    try:
        market.check_order(price, amount)
    except MarketRuleError as exc:
        return None, str(exc)
    order = PlaceOrder(
        deal=deal, leg=leg, role=role, symbol=market.symbol, side=side, type=OrderType.LIMIT, amount=amount, price=price
    )
    return order, ""


def market_order(deal: int, leg: str, market: Market, side: Side, amount: Decimal, role: OrderRole) -> PlaceOrder:
    return PlaceOrder(
        deal=deal, leg=leg, role=role, symbol=market.symbol, side=side, type=OrderType.MARKET, amount=amount
    )
