"""Pre-flight: every order a bot config can produce, checked against the policy and the balance.

Pure: no I/O, no clock. :func:`plan` lists the orders a config can place at the current prices,
sized with the bots' own arithmetic (the DCA formulas, the grid's ladder and its first decision,
the SmartTrade and signal entry sizes); :func:`check` compares them with the account's policy
(as the signer reports it through ``policy_show``) and its free balances (``balances``) and
returns every breach with the numbers: what was asked, what the limit is and which rule.

Rules checked
-------------
``pair_not_allowed``
    A pair the policy's allowlist does not name: the signer would deny every order.
``no_quote_limits``
    A pair quoted in a currency the policy has no limits for (the signer denies it too).
``max_order_notional``
    One order's value (amount x price, in the quote) above the per-order limit.
``max_daily_notional``
    ``max deals x the largest deal's entries`` above the rolling 24 h budget: a bot that fills
    every deal it may hold would be denied before its ladders are complete.
``free_balance``
    What the bot can hold in orders at once (``max deals x the largest deal``: quote for a long,
    base for a short) above the account's free balance in that currency.

Exits (take-profit, stop-loss) sell what the entries bought, so they are not listed separately.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from bastion.bots.config import BotConfig
from bastion.bots.dca import DcaConfig
from bastion.bots.dca.formulas import order_amount, safety_order_price
from bastion.bots.grid import GridConfig
from bastion.bots.interface import BotView, PlaceOrder, PriceView
from bastion.bots.signal import SignalConfig
from bastion.bots.smart_trade import SmartTradeConfig
from bastion.domain import Market
from bastion.domain.market import Side
from bastion.errors import ValidationError

if TYPE_CHECKING:
    from bastion.custody.policy.config import PolicyConfig

__all__ = ["Breach", "Plan", "PlannedOrder", "Rule", "check", "plan"]

Rule = Literal["pair_not_allowed", "no_quote_limits", "max_order_notional", "max_daily_notional", "free_balance"]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedOrder:
    """One order a bot can place: which one, where, and its value in the quote currency."""

    what: str
    symbol: str
    side: Side
    amount: Decimal
    price: Decimal
    notional: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """What a config can put on the exchange at once.

    Parameters
    ----------
    orders
        Every order size it can produce (per pair).
    deals
        Per symbol, the orders of one full deal (its entries: base order and every safety order,
        a grid's start buy and level buys (and the sells they become), a SmartTrade or signal entry).
    max_deals
        How many deals it may hold at once.
    direction
        Per symbol, ``long`` (spends quote) or ``short`` (spends base).
    markets
        The markets of its symbols (for currency names).
    """

    orders: tuple[PlannedOrder, ...]
    deals: Mapping[str, tuple[PlannedOrder, ...]]
    max_deals: int
    direction: Mapping[str, Literal["long", "short"]]
    markets: Mapping[str, Market]


@dataclass(frozen=True, slots=True, kw_only=True)
class Breach:
    """A rule the bot would break: what was asked, the limit, and in which currency."""

    rule: Rule
    what: str
    asked: Decimal
    limit: Decimal
    currency: str

    def __str__(self) -> str:
        if self.rule == "pair_not_allowed":
            return f"{self.what}: the account's policy does not allow this pair (rule pair_not_allowed)"
        if self.rule == "no_quote_limits":
            return f"{self.what}: the account's policy has no limits in {self.currency} (rule no_quote_limits)"
        return (
            f"{self.what}: {_plain(self.asked)} {self.currency} asked, limit {_plain(self.limit)} "
            f"{self.currency} (rule {self.rule})"
        )


# --------------------------------------------------------------------------- planning


def plan(config: BotConfig, markets: Mapping[str, Market], prices: Mapping[str, Decimal]) -> Plan:
    """Return every order ``config`` can produce at ``prices`` on ``markets``.

    Raises
    ------
    ValidationError
        A pair has no market or no price.
    """
    for symbol in config.pairs:
        if symbol not in markets:
            raise ValidationError(f"{config.name}: pair {symbol} has no market on the account's exchange")
        if prices.get(symbol) is None:
            raise ValidationError(f"{config.name}: no current price for {symbol}; cannot size its orders")
    if isinstance(config, DcaConfig):
        deals = {s: _dca_deal(config, markets[s], prices[s]) for s in config.pairs}
        return _plan(deals, min(config.max_active_deals, len(config.pairs)), config.direction, markets)
    if isinstance(config, GridConfig):
        deals = {config.pair: _grid_orders(config, markets[config.pair], prices[config.pair])}
        return _plan(deals, 1, "long", markets)
    if isinstance(config, SmartTradeConfig):
        deals = {config.pair: (_smart_trade_entry(config, markets[config.pair], prices[config.pair]),)}
        return _plan(deals, 1, config.direction, markets)
    if isinstance(config, SignalConfig):
        return _signal_plan(config, markets, prices)
    raise ValidationError(f"no pre-flight for bot type {config.type!r}")


def _plan(
    deals: Mapping[str, tuple[PlannedOrder, ...]],
    max_deals: int,
    direction: Literal["long", "short"],
    markets: Mapping[str, Market],
    *,
    extra: Iterable[PlannedOrder] = (),
) -> Plan:
    orders = tuple(o for deal in deals.values() for o in deal) + tuple(extra)
    return Plan(
        orders=orders,
        deals=deals,
        max_deals=max_deals,
        direction=dict.fromkeys(deals, direction),
        markets={s: markets[s] for s in deals},
    )


def _order(
    what: str, symbol: str, side: Side, amount: Decimal, price: Decimal, *, quote: Decimal | None = None
) -> PlannedOrder:
    # ``quote``: the order's size in the quote currency when the config gives it (a DCA order).
    notional = amount * price if quote is None else quote
    return PlannedOrder(what=what, symbol=symbol, side=side, amount=amount, price=price, notional=notional)


def _dca_deal(config: DcaConfig, market: Market, price: Decimal) -> tuple[PlannedOrder, ...]:
    # The same arithmetic the bot uses: the base order at the current price, then each safety
    # order of the ladder at its deviation from there, floored to the lot.
    side: Side = "buy" if config.direction == "long" else "sell"
    base_price = Decimal(market.round_price(price))
    base_amount = order_amount(config.base_order_size, base_price, market)
    orders = [_order("base order", market.symbol, side, base_amount, base_price, quote=config.base_order_size)]
    for n in range(1, config.max_safety_orders + 1):
        so_price = safety_order_price(base_price, config.safety_order_deviation(n), config.direction, market)
        size = config.safety_order_size_at(n)
        amount = order_amount(size, so_price, market)
        orders.append(_order(f"safety order {n}", market.symbol, side, amount, so_price, quote=size))
    return tuple(orders)


def _grid_orders(config: GridConfig, market: Market, price: Decimal) -> tuple[PlannedOrder, ...]:
    # The grid's own first decision at this price gives its start buy and its level buys; the
    # ladder gives each interval's sell one level up (what a filled buy turns into).
    from bastion.bots.grid import GridBot

    view = BotView(
        bot=config.name,
        now_ms=0,
        markets={config.pair: market},
        prices={config.pair: PriceView(symbol=config.pair, last=price, high=price, low=price, time_ms=0)},
    )
    orders: list[PlannedOrder] = []
    for action in GridBot(config).decide(view).actions:
        if isinstance(action, PlaceOrder) and action.amount is not None:
            at = price if action.price is None else action.price
            what = "start buy (market)" if action.price is None else f"buy at {_plain(action.price)}"
            orders.append(_order(f"grid {what}", config.pair, action.side, action.amount, at))
    ladder = config.ladder(market)
    sells = [
        _order(
            f"grid sell at {_plain(ladder.price(i + 1))}", config.pair, "sell", ladder.amount(i), ladder.price(i + 1)
        )
        for i in range(config.grid_count)
    ]
    # The sells only return what the buys bought: they count per order, not in the deal's total.
    return (*orders, *sells)


def _smart_trade_entry(config: SmartTradeConfig, market: Market, price: Decimal) -> PlannedOrder:
    side: Side = "buy" if config.direction == "long" else "sell"
    at = config.entry.known_price or Decimal(market.round_price(price))
    if config.amount is not None:
        amount = Decimal(market.floor_amount(config.amount))
    else:
        assert config.amount_quote is not None  # the config guarantees exactly one
        amount = order_amount(config.amount_quote, at, market)
    return _order(f"entry ({config.entry.type})", config.pair, side, amount, at)


def _signal_plan(config: SignalConfig, markets: Mapping[str, Market], prices: Mapping[str, Decimal]) -> Plan:
    # The largest entry a signal may ask for (max_order_size, in order_currency), per pair; a
    # short is only possible when the config allows it, and then it spends base.
    size = config.max_order_size if config.max_order_size is not None else config.order_size
    deals: dict[str, tuple[PlannedOrder, ...]] = {}
    direction: dict[str, Literal["long", "short"]] = {}
    for symbol in config.pairs:
        market = markets[symbol]
        at = Decimal(market.round_price(prices[symbol]))
        if config.order_currency == "quote":
            amount = order_amount(size, at, market)
        else:
            amount = Decimal(market.floor_amount(size))
        short = config.directions == ("short",)
        side: Side = "sell" if short else "buy"
        deals[symbol] = (_order("largest signal entry", symbol, side, amount, at),)
        direction[symbol] = "short" if short else "long"
    extra: list[PlannedOrder] = []
    if "short" in config.directions and "long" in config.directions:
        extra = [
            _order("largest signal entry (short)", o.symbol, "sell", o.amount, o.price)
            for d in deals.values()
            for o in d
        ]
    result = _plan(deals, min(config.max_active_deals, len(config.pairs)), "long", markets, extra=extra)
    return Plan(
        orders=result.orders,
        deals=result.deals,
        max_deals=result.max_deals,
        direction=direction,
        markets=result.markets,
    )


# --------------------------------------------------------------------------- checking


def check(
    bot_plan: Plan,
    *,
    policy: PolicyConfig | None,
    balances: Mapping[str, Decimal] | None,
    open_deals: int = 0,
) -> tuple[Breach, ...]:
    """Return every rule ``bot_plan`` breaks (empty when it fits); None skips that side.

    ``open_deals``: deals the bot already holds (a restart); their funds are already out of the
    free balance, so only the deals it may still open are checked against it.
    """
    breaches: list[Breach] = []
    if policy is not None:
        breaches += _policy_breaches(bot_plan, policy)
    if balances is not None:
        breaches += _balance_breaches(bot_plan, balances, max(bot_plan.max_deals - open_deals, 0))
    return tuple(breaches)


def _policy_breaches(bot_plan: Plan, policy: PolicyConfig) -> list[Breach]:
    breaches: list[Breach] = []
    refused: set[str] = set()
    for symbol, market in bot_plan.markets.items():
        if symbol not in policy.pairs:
            breaches.append(Breach(rule="pair_not_allowed", what=symbol, asked=_ZERO, limit=_ZERO, currency=""))
            refused.add(symbol)
        elif policy.limits_for(market.quote) is None:
            breaches.append(
                Breach(rule="no_quote_limits", what=symbol, asked=_ZERO, limit=_ZERO, currency=market.quote)
            )
            refused.add(symbol)
    for order in bot_plan.orders:
        limits = policy.limits_for(bot_plan.markets[order.symbol].quote)
        if order.symbol in refused or limits is None:
            continue
        if order.notional > limits.max_order_notional:
            breaches.append(
                Breach(
                    rule="max_order_notional",
                    what=f"{order.symbol} {order.what} ({order.side} {_plain(order.amount)} at {_plain(order.price)})",
                    asked=order.notional,
                    limit=limits.max_order_notional,
                    currency=bot_plan.markets[order.symbol].quote,
                )
            )
    for quote, (deals, largest, symbol) in _by_quote(bot_plan, refused).items():
        limits = policy.limits_for(quote)
        assert limits is not None
        total = deals * largest
        if total > limits.max_daily_notional:
            breaches.append(
                Breach(
                    rule="max_daily_notional",
                    what=f"{deals} deal(s) x the largest deal ({symbol}, {_plain(largest)} {quote})",
                    asked=total,
                    limit=limits.max_daily_notional,
                    currency=quote,
                )
            )
    return breaches


def _by_quote(bot_plan: Plan, skip: set[str]) -> dict[str, tuple[int, Decimal, str]]:
    # Per quote currency: (deals it can hold at once, its largest deal, that deal's symbol).
    out: dict[str, tuple[int, Decimal, str]] = {}
    for quote in sorted({m.quote for s, m in bot_plan.markets.items() if s not in skip}):
        symbols = [s for s, m in bot_plan.markets.items() if m.quote == quote and s not in skip]
        largest = max(symbols, key=lambda s: (_entry_notional(bot_plan, s), s))
        out[quote] = (min(bot_plan.max_deals, len(symbols)), _entry_notional(bot_plan, largest), largest)
    return out


def _entry_notional(bot_plan: Plan, symbol: str) -> Decimal:
    # A deal's entries: what it buys (a long) or sells (a short), not the exits that undo them.
    opening: Side = "sell" if bot_plan.direction[symbol] == "short" else "buy"
    return sum((o.notional for o in bot_plan.deals[symbol] if o.side == opening), _ZERO)


def _entry_spend(bot_plan: Plan, symbol: str) -> tuple[str, Decimal]:
    market = bot_plan.markets[symbol]
    if bot_plan.direction[symbol] == "short":
        return market.base, sum((o.amount for o in bot_plan.deals[symbol] if o.side == "sell"), _ZERO)
    return market.quote, _entry_notional(bot_plan, symbol)


def _balance_breaches(bot_plan: Plan, balances: Mapping[str, Decimal], deals_left: int) -> list[Breach]:
    # Per currency: the largest deals the bot may hold at once (at most one per pair).
    needs: dict[str, list[tuple[Decimal, str]]] = {}
    for symbol in bot_plan.markets:
        currency, amount = _entry_spend(bot_plan, symbol)
        needs.setdefault(currency, []).append((amount, symbol))
    breaches = []
    for currency, deals in sorted(needs.items()):
        biggest = sorted(deals, reverse=True)[:deals_left]
        if not biggest:
            continue
        need = sum((amount for amount, _ in biggest), _ZERO)
        free = balances.get(currency, _ZERO)
        if need > free:
            names = ", ".join(symbol for _, symbol in biggest)
            breaches.append(
                Breach(
                    rule="free_balance",
                    what=f"{len(biggest)} deal(s) at once ({names}) against the free balance",
                    asked=need,
                    limit=free,
                    currency=currency,
                )
            )
    return breaches


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")
