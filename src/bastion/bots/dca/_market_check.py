"""Bot-creation checks of a DCA config against its markets' minimums (see ``DcaConfig.check_markets``)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from bastion.bots.dca.formulas import EntryTotals, order_amount, safety_order_price, take_profit_price
from bastion.domain import Market
from bastion.errors import ConfigError, MarketRuleError

if TYPE_CHECKING:
    from bastion.bots.dca.config import DcaConfig

_HUNDRED = Decimal(100)


def check_markets(config: DcaConfig, markets: Mapping[str, Market], prices: Mapping[str, Decimal] | None) -> None:
    for pair in config.pairs:
        market = markets.get(pair)
        if market is None:
            known = ", ".join(sorted(markets)) or "none"
            raise ConfigError(f"pair {pair} has no market on the account's exchange; markets known: {known}")
        price = None if prices is None else prices.get(pair)
        if price is None:
            _check_sizes(config, market)
        else:
            _check_orders(config, market, price)


def _orders(config: DcaConfig) -> list[tuple[str, Decimal, Decimal]]:
    # (label, quote size, deviation %) of the base order and every safety order.
    orders = [("base order", config.base_order_size, Decimal(0))]
    orders += [
        (f"safety order {n}", config.safety_order_size_at(n), config.safety_order_deviation(n))
        for n in range(1, config.max_safety_orders + 1)
    ]
    return orders


def _check_sizes(config: DcaConfig, market: Market) -> None:
    # Without a price: a quote size below the minimum notional can never be placed.
    minimum = market.min_notional
    if minimum is None:
        return
    prefix = f"{config.name} {market.symbol}"
    for label, size, _deviation in _orders(config):
        if size < minimum:
            raise ConfigError(
                f"{prefix}: {label} of {size} {market.quote} is below the market's minimum notional "
                f"{minimum} {market.quote}"
            )
    for index, step in enumerate(config.targets, start=1):
        value = config.base_order_size * step.amount_pct / _HUNDRED * (1 + step.profit_pct / _HUNDRED)
        if value < minimum:
            raise ConfigError(
                f"{prefix}: take-profit step {index} ({step.amount_pct}% of the base order, about "
                f"{value:.8f} {market.quote}) is below the market's minimum notional {minimum} {market.quote}"
            )


def _check_orders(config: DcaConfig, market: Market, price: Decimal) -> None:
    # With a price: round every order as the bot would and let the market's own checks judge it.
    prefix = f"{config.name} {market.symbol}"
    base_price = market.round_price(price)
    base_amount = Decimal(0)
    for label, size, deviation in _orders(config):
        order_price = safety_order_price(base_price, deviation, config.direction, market) if deviation else base_price
        amount = order_amount(size, order_price, market)
        if not deviation:
            base_amount = amount
        try:
            market.check_order(order_price, amount)
        except MarketRuleError as exc:
            raise ConfigError(
                f"{prefix}: {label} of {size} {market.quote} at {order_price} (base order filling at "
                f"{base_price}) cannot be placed: {exc}"
            ) from None
    entry = EntryTotals(quote=base_amount * base_price, base=base_amount)
    for index, step in enumerate(config.targets, start=1):
        amount = market.floor_amount(base_amount * step.amount_pct / _HUNDRED)
        target = take_profit_price(
            direction=config.direction,
            take_profit_type=config.take_profit_type,
            profit_pct=step.profit_pct,
            entry=entry,
            base_order_size=config.base_order_size,
            market=market,
        )
        try:
            market.check_order(target, amount)
        except MarketRuleError as exc:
            raise ConfigError(
                f"{prefix}: take-profit step {index} ({step.amount_pct}% of the base order, {amount} at "
                f"{target}) cannot be placed: {exc}"
            ) from None
