"""Building the bot's orders, already rounded and checked against the market's rules."""

from __future__ import annotations

import re
from decimal import Decimal

from bastion.bots.dca.config import DcaConfig
from bastion.bots.dca.formulas import order_amount
from bastion.bots.interface import DealView, Direction, OrderRole, OrderView, PlaceOrder
from bastion.domain import Market, OrderType
from bastion.domain.market import Side
from bastion.errors import MarketRuleError

SAFETY_LEG = re.compile(r"so([1-9][0-9]*)")
EXIT_PREFIXES = ("tp.", "trail.", "sl", "px.")


def entry_side(direction: Direction) -> Side:
    return "buy" if direction == "long" else "sell"


def exit_side(direction: Direction) -> Side:
    return "sell" if direction == "long" else "buy"


def is_exit(order: OrderView) -> bool:
    return order.leg.startswith(EXIT_PREFIXES)


def safety_orders(deal: DealView) -> dict[int, OrderView]:
    found = {}
    for order in deal.orders:
        if not order.leg.startswith("so"):
            continue
        match = SAFETY_LEG.fullmatch(order.leg)
        if match is not None:
            found[int(match.group(1))] = order
    return found


def fresh_leg(deal: DealView, stem: str) -> str:
    """``stem``, or ``stem.2``, ``stem.3``... when an earlier order already used it."""
    if deal.order(stem) is None:
        return stem
    n = 2
    while deal.order(f"{stem}.{n}") is not None:
        n += 1
    return f"{stem}.{n}"


def unfilled(order: OrderView) -> Decimal:
    return max(order.amount - order.filled, Decimal(0))


def too_small(market: Market, amount: Decimal, price: Decimal) -> bool:
    """Whether an order of ``amount`` at about ``price`` is below the market's minimums."""
    if amount <= 0:
        return True
    if market.min_amount is not None and amount < market.min_amount:
        return True
    return market.min_notional is not None and amount * price < market.min_notional


def limit_order(
    deal: int | str, leg: str, market: Market, side: Side, price: Decimal, amount: Decimal, role: OrderRole
) -> tuple[PlaceOrder | None, str]:
    """A limit order, or None and why the market would refuse it."""
    try:
        market.check_order(price, amount)
    except MarketRuleError as exc:
        return None, str(exc)
    order = PlaceOrder(
        deal=deal,
        leg=leg,
        role=role,
        symbol=market.symbol,
        side=side,
        type=OrderType.LIMIT,
        amount=amount,
        price=price,
    )
    return order, ""


def market_order(deal: int | str, leg: str, market: Market, side: Side, amount: Decimal, role: OrderRole) -> PlaceOrder:
    return PlaceOrder(
        deal=deal, leg=leg, role=role, symbol=market.symbol, side=side, type=OrderType.MARKET, amount=amount
    )


def base_order(
    config: DcaConfig, deal: int | str, market: Market, direction: Direction, last: Decimal
) -> tuple[PlaceOrder | None, str]:
    """The base order at the current price ``last``, or None and why the market would refuse it.

    A long market order is sized in quote (``quote_amount = BO``); a short market order sells
    ``BO / last`` floored to the lot; a limit order rests at ``last`` rounded to the tick.
    """
    side = entry_side(direction)
    size = config.base_order_size
    if config.base_order_type == "limit":
        price = market.round_price(last)
        return limit_order(deal, "base", market, side, price, order_amount(size, price, market), OrderRole.ENTRY)
    amount = order_amount(size, last, market)
    try:
        market.check_amount(amount)
        market.check_notional(last, amount)  # as check_markets does: what the lot-floored amount is worth
    except MarketRuleError as exc:
        return None, str(exc)
    if direction == "long":
        by_quote = PlaceOrder(
            deal=deal,
            leg="base",
            role=OrderRole.ENTRY,
            symbol=market.symbol,
            side=side,
            type=OrderType.MARKET,
            amount=None,
            quote_amount=size,
        )
        return by_quote, ""
    return market_order(deal, "base", market, side, amount, OrderRole.ENTRY), ""
