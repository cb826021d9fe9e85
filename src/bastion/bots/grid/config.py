"""The grid bot's configuration (one ``[[bots]]`` table with ``type = "grid"``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Context, Decimal
from itertools import pairwise
from typing import Any, Literal

from bastion.bots import _fields as f
from bastion.bots.config import OnePair
from bastion.bots.grid.levels import Ladder, Spacing, grid_levels
from bastion.domain import Market
from bastion.errors import ConfigError, MarketRuleError

__all__ = ["MAX_GRID_COUNT", "GridConfig", "OnStop"]

OnStop = Literal["keep", "sell_base", "cancel_only"]

#: The most intervals a grid may have (hosted grid bots stop between 100 and 200).
MAX_GRID_COUNT = 200

_CTX = Context(prec=34)
_SPACINGS: tuple[Spacing, ...] = ("arithmetic", "geometric")
_ON_STOP: tuple[OnStop, ...] = ("keep", "sell_base", "cancel_only")
_REQUIRED = ("name", "account", "pair", "lower_price", "upper_price", "grid_count", "investment_quote")


@dataclass(frozen=True, slots=True, kw_only=True)
class GridConfig(OnePair):
    """A grid bot: buy low and sell one level higher, over and over, inside a price range.

    Parameters
    ----------
    name
        The bot's unique name: 1-64 characters of letters, digits, ``_``, ``.`` and ``-``.
    account
        The exchange account it trades on (same character set as ``name``).
    pair
        Spot symbol such as ``"BTC/USDT"``.
    lower_price, upper_price
        The range; ``grid_count + 1`` levels run from one to the other.
    grid_count
        Number of intervals N, 1..:data:`MAX_GRID_COUNT`.
    investment_quote
        Quote currency the grid works with, split evenly over the N intervals (each interval's
        buy level gets ``investment_quote / N``).
    spacing
        ``arithmetic`` (equal price steps) or ``geometric`` (equal ratios).
    trailing_up, trailing_down
        When the price leaves the range upward (downward), shift the grid one level that way.
    stop_loss_price, take_profit_price
        Stop the grid when the price trades at or below (at or above) this price. The stop loss
        must lie below ``lower_price`` and the take profit above ``upper_price``.
    on_stop
        What a stop does: ``keep`` cancels the orders, keeps the assets and closes the deal;
        ``sell_base`` also sells the grid's base at market before closing; ``cancel_only``
        cancels the orders and does nothing else, leaving the deal open for the user.
    type
        Always ``"grid"``.

    Raises
    ------
    ConfigError
        A value is missing, of the wrong type or out of range.
    """

    name: str
    account: str
    pair: str
    lower_price: Decimal
    upper_price: Decimal
    grid_count: int
    investment_quote: Decimal
    spacing: Spacing = "arithmetic"
    trailing_up: bool = False
    trailing_down: bool = False
    stop_loss_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    on_stop: OnStop = "keep"
    type: Literal["grid"] = "grid"

    def __post_init__(self) -> None:
        setter = object.__setattr__
        f.choice(self.type, "type", ("grid",))
        f.name(self.name, "name")
        f.name(self.account, "account")
        f.pair(self.pair)
        setter(self, "lower_price", f.positive(self.lower_price, "lower_price"))
        setter(self, "upper_price", f.positive(self.upper_price, "upper_price"))
        if self.upper_price <= self.lower_price:
            raise ConfigError(
                f"upper_price must be above lower_price, got lower_price {self.lower_price} "
                f"and upper_price {self.upper_price}"
            )
        f.integer(self.grid_count, "grid_count", minimum=1, maximum=MAX_GRID_COUNT)
        setter(self, "investment_quote", f.positive(self.investment_quote, "investment_quote"))
        f.choice(self.spacing, "spacing", _SPACINGS)
        f.boolean(self.trailing_up, "trailing_up")
        f.boolean(self.trailing_down, "trailing_down")
        setter(self, "stop_loss_price", f.optional_positive(self.stop_loss_price, "stop_loss_price"))
        setter(self, "take_profit_price", f.optional_positive(self.take_profit_price, "take_profit_price"))
        if self.stop_loss_price is not None and self.stop_loss_price >= self.lower_price:
            raise ConfigError(
                f"stop_loss_price must be below lower_price {self.lower_price}, got {self.stop_loss_price}"
            )
        if self.take_profit_price is not None and self.take_profit_price <= self.upper_price:
            raise ConfigError(
                f"take_profit_price must be above upper_price {self.upper_price}, got {self.take_profit_price}"
            )
        f.choice(self.on_stop, "on_stop", _ON_STOP)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> GridConfig:
        """Build a config from a parsed TOML table.

        Decimal fields accept strings, ints and TOML floats (read through their repr, so
        ``0.1`` is exactly ``0.1``); bools are refused.

        Raises
        ------
        ConfigError
            A field is unknown (the message names it and the valid ones), missing or invalid.
        """
        data = f.check_keys(data, [field.name for field in fields(cls)], "grid bot config")
        f.require(data, _REQUIRED, "grid bot config")
        return cls(**data)

    @property
    def quote_per_grid(self) -> Decimal:
        """Quote value each interval's buy level works with: ``investment_quote / grid_count``."""
        return _CTX.divide(self.investment_quote, Decimal(self.grid_count))

    def ladder(self, market: Market) -> Ladder:
        """Return the grid's levels and order sizes on ``market``."""
        return Ladder(
            lower=self.lower_price,
            upper=self.upper_price,
            count=self.grid_count,
            spacing=self.spacing,
            market=market,
            quote_per_grid=self.quote_per_grid,
        )

    def check_markets(self, markets: Mapping[str, Market], *, prices: Mapping[str, Decimal] | None = None) -> None:
        """Refuse, at creation, a grid whose orders the market would reject (``prices`` is not needed).

        Checks that every level survives tick rounding as a distinct valid price and that every
        interval's order (``investment_quote / grid_count`` worth of base at its buy level, floored
        to the lot) meets the market's minimum amount and notional, for the buy and for the sell.

        Raises
        ------
        ConfigError
            The pair has no rules, two levels round to the same price, or an order is too small.
        """
        market = f.market_for(markets, self.pair)
        levels = grid_levels(self.lower_price, self.upper_price, self.grid_count, self.spacing, market)
        for index, (low, high) in enumerate(pairwise(levels)):
            if high <= low:
                raise ConfigError(
                    f"grid_count {self.grid_count} is too fine for the tick size {market.tick_size}: levels "
                    f"{index} and {index + 1} both round to {low}; use fewer grids or a wider range"
                )
        ladder = self.ladder(market)
        per_grid = self.quote_per_grid
        for index, price in enumerate(levels):
            try:
                market.check_price(price)
            except MarketRuleError as exc:
                raise ConfigError(f"grid level {index} ({price}): {exc}") from None
        for interval in range(self.grid_count):
            amount = ladder.amount(interval)
            what = (
                f"investment_quote {self.investment_quote} over {self.grid_count} grids is {_show(per_grid)} "
                f"{market.quote} per grid; the order of interval {interval}"
            )
            f.check_order(market, levels[interval], amount, f"{what} (buy at {levels[interval]})")
            f.check_order(market, levels[interval + 1], amount, f"{what} (sell at {levels[interval + 1]})")


def _show(value: Decimal) -> str:
    return format(value.quantize(Decimal("1e-8")).normalize(), "f")
