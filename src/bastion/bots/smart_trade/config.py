"""The SmartTrade configuration (one ``[[bots]]`` table with ``type = "smart_trade"``).

Example::

    name = "btc-swing"
    type = "smart_trade"
    account = "main"
    pair = "BTC/USDT"
    direction = "long"
    amount_quote = 100
    entry = { type = "conditional", trigger_price = 16800, order_type = "market" }
    trailing_buy = { deviation_pct = 0.5 }
    take_profit = [
        { profit_pct = 1, amount_pct = 50 },
        { profit_pct = 2, amount_pct = 50, trailing_deviation_pct = 0.3 },
    ]
    stop_loss = { loss_pct = 2, timeout_s = 60, trailing = true, move_to_breakeven = true }

Defaults and limits
-------------------
``direction = "long"`` (buy first, sell to exit); ``short`` sells base first and buys it back.
``entry = {type = "market"}``. A conditional entry's limit ``price`` defaults to its trigger.
``take_profit = []`` and ``stop_loss`` absent, but at least one of them must be given: a
SmartTrade with neither never exits. At most 4 take-profit steps, their ``amount_pct`` summing
to exactly 100, all given by ``price`` or all by ``profit_pct`` (so their order is known when
the config is read), strictly further from the entry step by step. ``trailing_deviation_pct``
only on the last step. With ``trailing_buy`` the entry is a market order once the price
rebounds, so a conditional entry's ``order_type`` must be ``market``; a limit entry's price is
where the trailing starts. Percentages: ``loss_pct`` and deviations in (0, 100), a short's
``profit_pct`` in (0, 100), a long's in (0, 1000]. ``timeout_s`` 0 (none) to 7 days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from itertools import pairwise
from typing import Any, Literal

from bastion.bots import _fields as f
from bastion.bots.config import OnePair
from bastion.bots.interface import Direction
from bastion.domain import Market
from bastion.errors import ConfigError, MarketRuleError

__all__ = [
    "MAX_TAKE_PROFIT_STEPS",
    "Entry",
    "SmartTradeConfig",
    "StopLoss",
    "TakeProfitStep",
    "TrailingBuy",
]

#: The most take-profit steps a SmartTrade may have.
MAX_TAKE_PROFIT_STEPS = 4

_HUNDRED = Decimal(100)
_THOUSAND = Decimal(1000)
_MAX_TIMEOUT_S = 7 * 24 * 3600
_ENTRY_KEYS = {
    "market": ("type",),
    "limit": ("type", "price"),
    "conditional": ("type", "trigger_price", "order_type", "price"),
}


def _names(cls: type) -> list[str]:
    return [item.name for item in fields(cls)]


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """How the SmartTrade enters.

    Parameters
    ----------
    type
        ``market`` (at once), ``limit`` (a limit order at ``price``) or ``conditional`` (nothing
        until the price crosses ``trigger_price``, then an ``order_type`` order; a ``limit`` one
        at ``price``, which defaults to the trigger).
    price, trigger_price, order_type
        As above.
    """

    type: Literal["market", "limit", "conditional"] = "market"
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    order_type: Literal["market", "limit"] = "market"

    def __post_init__(self) -> None:
        setter = object.__setattr__
        kind = f.choice(self.type, "entry.type", tuple(_ENTRY_KEYS))
        f.choice(self.order_type, "entry.order_type", ("market", "limit"))
        setter(self, "price", f.optional_positive(self.price, "entry.price"))
        setter(self, "trigger_price", f.optional_positive(self.trigger_price, "entry.trigger_price"))
        if kind == "market" and (self.price is not None or self.trigger_price is not None):
            raise ConfigError("entry of type 'market' takes no price or trigger_price")
        if kind == "limit" and (self.price is None or self.trigger_price is not None):
            raise ConfigError(f"entry of type 'limit' needs a price and no trigger_price, got price {self.price}")
        if kind == "conditional":
            if self.trigger_price is None:
                raise ConfigError("entry of type 'conditional' needs a trigger_price")
            if self.order_type == "market" and self.price is not None:
                raise ConfigError(f"entry.price {self.price} is only for order_type 'limit', got order_type 'market'")
            if self.order_type == "limit" and self.price is None:
                setter(self, "price", self.trigger_price)
        elif self.order_type != "market":
            raise ConfigError(f"entry.order_type is only for a 'conditional' entry, got entry.type {kind!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Entry:
        """Build an entry from its TOML table; the keys allowed depend on ``type``."""
        data = f.check_keys(data, _names(cls), "entry")
        kind = f.choice(data.get("type", "market"), "entry.type", tuple(_ENTRY_KEYS))
        f.check_keys(data, _ENTRY_KEYS[kind], f"entry of type {kind!r}")
        return cls(**data)

    @property
    def known_price(self) -> Decimal | None:
        """The price the entry is expected at, when the config says (None for a market entry)."""
        return self.price if self.price is not None else self.trigger_price


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailingBuy:
    """After the entry condition, follow the price down and buy when it rebounds by ``deviation_pct``.

    For a short: follow it up and sell when it falls back by ``deviation_pct``.
    """

    deviation_pct: Decimal

    def __post_init__(self) -> None:
        pct = f.percent(self.deviation_pct, "trailing_buy.deviation_pct", maximum=_HUNDRED, inclusive=False)
        object.__setattr__(self, "deviation_pct", pct)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TrailingBuy:
        """Build it from its TOML table."""
        data = f.check_keys(data, _names(cls), "trailing_buy")
        f.require(data, ("deviation_pct",), "trailing_buy")
        return cls(**data)


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeProfitStep:
    """One take-profit target: sell ``amount_pct`` of the position at ``price`` or ``profit_pct``.

    Parameters
    ----------
    price
        Target price; or
    profit_pct
        Target as a percentage from the average entry price.
    amount_pct
        Share of the position this step closes, in (0, 100].
    trailing_deviation_pct
        Last step only: once the target is reached, follow the price and close when it
        falls back (a short: rises back) by this percentage from its best.
    """

    price: Decimal | None = None
    profit_pct: Decimal | None = None
    amount_pct: Decimal
    trailing_deviation_pct: Decimal | None = None

    def __post_init__(self) -> None:
        setter = object.__setattr__
        if (self.price is None) == (self.profit_pct is None):
            raise ConfigError("a take-profit step needs exactly one of price or profit_pct")
        setter(self, "price", f.optional_positive(self.price, "price"))
        if self.profit_pct is not None:
            setter(self, "profit_pct", f.percent(self.profit_pct, "profit_pct", maximum=_THOUSAND, inclusive=True))
        setter(self, "amount_pct", f.percent(self.amount_pct, "amount_pct", maximum=_HUNDRED, inclusive=True))
        deviation = self.trailing_deviation_pct
        if deviation is not None:
            pct = f.percent(deviation, "trailing_deviation_pct", maximum=_HUNDRED, inclusive=False)
            setter(self, "trailing_deviation_pct", pct)

    @property
    def target(self) -> Decimal:
        """The step's ``price`` or ``profit_pct``, whichever it gives."""
        target = self.price if self.price is not None else self.profit_pct
        assert target is not None
        return target

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "take_profit step") -> TakeProfitStep:
        """Build a step from its TOML table; ``where`` (such as ``take_profit[1]``) prefixes errors."""
        data = f.check_keys(data, _names(cls), where)
        f.require(data, ("amount_pct",), where)
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class StopLoss:
    """Exit at market when the price reaches the stop.

    Parameters
    ----------
    price
        Stop price; or
    loss_pct
        Stop as a percentage from the average entry price, in (0, 100).
    timeout_s
        Exit only once the price has stayed beyond the stop this many seconds (0: at once).
    trailing
        The stop follows the best price since entry at the same distance (never back).
    move_to_breakeven
        After the first target fills, move the stop to the average entry price.
    """

    price: Decimal | None = None
    loss_pct: Decimal | None = None
    timeout_s: int = 0
    trailing: bool = False
    move_to_breakeven: bool = False

    def __post_init__(self) -> None:
        setter = object.__setattr__
        if (self.price is None) == (self.loss_pct is None):
            raise ConfigError("stop_loss needs exactly one of price or loss_pct")
        setter(self, "price", f.optional_positive(self.price, "stop_loss.price"))
        if self.loss_pct is not None:
            pct = f.percent(self.loss_pct, "stop_loss.loss_pct", maximum=_HUNDRED, inclusive=False)
            setter(self, "loss_pct", pct)
        f.integer(self.timeout_s, "stop_loss.timeout_s", minimum=0, maximum=_MAX_TIMEOUT_S)
        f.boolean(self.trailing, "stop_loss.trailing")
        f.boolean(self.move_to_breakeven, "stop_loss.move_to_breakeven")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> StopLoss:
        """Build it from its TOML table."""
        return cls(**f.check_keys(data, _names(cls), "stop_loss"))


@dataclass(frozen=True, slots=True, kw_only=True)
class SmartTradeConfig(OnePair):
    """One trade with an entry, take-profit targets and a stop loss. See the module docstring.

    Parameters
    ----------
    name
        The bot's unique name: 1-64 characters of letters, digits, ``_``, ``.`` and ``-``.
    account
        The exchange account it trades on.
    pair
        Spot symbol such as ``"BTC/USDT"``.
    direction
        ``long`` buys first; ``short`` sells first.
    amount, amount_quote
        Size of the entry in base, or in quote: exactly one.
    entry, trailing_buy, take_profit, stop_loss
        See :class:`Entry`, :class:`TrailingBuy`, :class:`TakeProfitStep`, :class:`StopLoss`.
    type
        Always ``"smart_trade"``.

    Raises
    ------
    ConfigError
        A value is missing, of the wrong type, out of range, or inconsistent with another.
    """

    name: str
    account: str
    pair: str
    direction: Direction = "long"
    amount: Decimal | None = None
    amount_quote: Decimal | None = None
    entry: Entry = field(default_factory=Entry)
    trailing_buy: TrailingBuy | None = None
    take_profit: tuple[TakeProfitStep, ...] = ()
    stop_loss: StopLoss | None = None
    type: Literal["smart_trade"] = "smart_trade"

    def __post_init__(self) -> None:
        setter = object.__setattr__
        f.choice(self.type, "type", ("smart_trade",))
        f.name(self.name, "name")
        f.name(self.account, "account")
        f.pair(self.pair)
        chosen = f.choice(self.direction, "direction", ("long", "short"))
        direction: Direction = "short" if chosen == "short" else "long"
        if (self.amount is None) == (self.amount_quote is None):
            raise ConfigError(
                f"give exactly one of amount (base) or amount_quote, got amount {self.amount!r} "
                f"and amount_quote {self.amount_quote!r}"
            )
        setter(self, "amount", f.optional_positive(self.amount, "amount"))
        setter(self, "amount_quote", f.optional_positive(self.amount_quote, "amount_quote"))
        for name, kind in (("entry", Entry), ("trailing_buy", TrailingBuy), ("stop_loss", StopLoss)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                raise ConfigError(f"{name} must be a {kind.__name__}, got {type(value).__name__}")
        setter(self, "take_profit", self._steps(self.take_profit, direction))
        if not self.take_profit and self.stop_loss is None:
            raise ConfigError("a SmartTrade needs take_profit steps or a stop_loss (or both): it would never exit")
        if self.trailing_buy is not None and self.entry.type == "conditional" and self.entry.order_type == "limit":
            raise ConfigError(
                "trailing_buy enters with a market order when the price rebounds; "
                "a conditional entry with it needs order_type 'market', got 'limit'"
            )
        self._check_price_order()

    @staticmethod
    def _steps(steps: object, direction: Direction) -> tuple[TakeProfitStep, ...]:
        if isinstance(steps, (str, Mapping)) or not isinstance(steps, (tuple, list)):
            raise ConfigError(f"take_profit must be a list of steps, got {steps!r}")
        if len(steps) > MAX_TAKE_PROFIT_STEPS:
            raise ConfigError(f"take_profit has at most {MAX_TAKE_PROFIT_STEPS} steps, got {len(steps)}")
        checked = tuple(steps)
        for index, step in enumerate(checked):
            if not isinstance(step, TakeProfitStep):
                raise ConfigError(f"take_profit[{index}] must be a TakeProfitStep, got {type(step).__name__}")
            if direction == "short" and step.profit_pct is not None and step.profit_pct >= _HUNDRED:
                raise ConfigError(
                    f"take_profit[{index}]: profit_pct must be a percentage in (0, 100) for a short "
                    f"(the price cannot fall below zero), got {step.profit_pct}"
                )
        if not checked:
            return ()
        total = sum((s.amount_pct for s in checked), Decimal(0))
        if total != _HUNDRED:
            raise ConfigError(f"take_profit amount_pct must sum to 100, got {total}")
        for index, step in enumerate(checked[:-1]):
            if step.trailing_deviation_pct is not None:
                raise ConfigError(
                    f"take_profit[{index}].trailing_deviation_pct: only the last step may trail, "
                    f"this is step {index} of {len(checked)}"
                )
        by_price = {s.price is not None for s in checked}
        if len(by_price) != 1:
            raise ConfigError("take_profit steps must all give price or all give profit_pct, not a mix")
        targets = [s.target for s in checked]
        ascending = by_price == {False} or direction == "long"
        if not all((a < b) if ascending else (a > b) for a, b in pairwise(targets)):
            listed = ", ".join(str(t) for t in targets)
            raise ConfigError(
                f"take_profit targets must each be further from the entry than the one before "
                f"({'higher' if ascending else 'lower'}), got {listed}"
            )
        return checked

    def _check_price_order(self) -> None:
        """For a long: stop < entry < first target wherever the config fixes those prices."""
        sign = 1 if self.direction == "long" else -1
        chain: list[tuple[str, Decimal]] = []
        if self.stop_loss is not None and self.stop_loss.price is not None:
            chain.append(("stop_loss.price", self.stop_loss.price))
        known = self.entry.known_price
        if known is not None:
            chain.append(("entry price", known))
        if self.take_profit and self.take_profit[0].price is not None:
            chain.append(("take_profit[0].price", self.take_profit[0].price))
        for (low_name, low), (high_name, high) in pairwise(chain):
            if sign * (high - low) <= 0:
                relation = "below" if self.direction == "long" else "above"
                raise ConfigError(f"{low_name} {low} must be {relation} {high_name} {high} for a {self.direction}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SmartTradeConfig:
        """Build a config from a parsed TOML table.

        Decimal fields accept strings, ints and TOML floats (read through their repr); bools
        are refused. ``entry``, ``trailing_buy`` and ``stop_loss`` are tables, ``take_profit``
        an array of tables.

        Raises
        ------
        ConfigError
            A field is unknown (the message names it and the valid ones), missing or invalid.
        """
        data = f.check_keys(data, _names(cls), "smart_trade config")
        f.require(data, ("name", "account", "pair"), "smart_trade config")
        kwargs = dict(data)
        if "entry" in kwargs:
            kwargs["entry"] = Entry.from_mapping(kwargs["entry"])
        if kwargs.get("trailing_buy") is not None:
            kwargs["trailing_buy"] = TrailingBuy.from_mapping(kwargs["trailing_buy"])
        if kwargs.get("stop_loss") is not None:
            kwargs["stop_loss"] = StopLoss.from_mapping(kwargs["stop_loss"])
        if "take_profit" in kwargs:
            steps = kwargs["take_profit"]
            if not isinstance(steps, (list, tuple)):
                raise ConfigError(f"take_profit must be an array of tables, got {steps!r}")
            kwargs["take_profit"] = tuple(
                TakeProfitStep.from_mapping(step, f"take_profit[{i}]") for i, step in enumerate(steps)
            )
        return cls(**kwargs)

    def check_markets(self, markets: Mapping[str, Market], *, prices: Mapping[str, Decimal] | None = None) -> None:
        """Refuse, at creation, a SmartTrade whose orders the market would reject.

        Orders are checked at the prices the config fixes (a limit or conditional entry, target
        prices, a stop price) or, for a market entry, at the current price when ``prices`` gives
        it; percentage targets and stops are placed from that entry price. Without any price,
        an ``amount`` is checked against the minimum amount and an ``amount_quote`` (and each
        target's share of it) against the minimum notional.

        Parameters
        ----------
        markets
            Rules per symbol.
        prices
            Current price per symbol, when known.

        Raises
        ------
        ConfigError
            The pair has no rules or an order would be below its minimum amount or notional.
        """
        market = f.market_for(markets, self.pair)
        reference = self.entry.known_price
        if reference is None and prices is not None:
            reference = prices.get(self.pair)
        entry_price = None if reference is None else Decimal(market.round_price(reference))
        base: Decimal | None = None
        if self.amount is not None:
            base = Decimal(market.floor_amount(self.amount))
        elif entry_price is not None and self.amount_quote is not None:
            base = Decimal(market.floor_amount(self.amount_quote / entry_price))
        self._check_size(market, "entry", entry_price, base, self.amount_quote)
        up: Literal["up", "down"] = "up" if self.direction == "long" else "down"
        down: Literal["up", "down"] = "down" if self.direction == "long" else "up"
        for index, step in enumerate(self.take_profit):
            price = None if step.price is None else Decimal(market.round_price(step.price))
            if price is None and step.profit_pct is not None and entry_price is not None:
                price = Decimal(market.round_price(_move(entry_price, step.profit_pct, up), up))
            share = None if base is None else Decimal(market.floor_amount(base * step.amount_pct / _HUNDRED))
            quote = None if self.amount_quote is None else self.amount_quote * step.amount_pct / _HUNDRED
            self._check_size(market, f"take_profit[{index}] ({step.amount_pct}% of the position)", price, share, quote)
        stop = self.stop_loss
        if stop is not None and base is not None:
            stop_price = stop.price
            if stop_price is None and stop.loss_pct is not None and entry_price is not None:
                stop_price = _move(entry_price, stop.loss_pct, down)
            if stop_price is not None:
                self._check_size(market, "stop_loss exit", Decimal(market.round_price(stop_price)), base, None)

    @staticmethod
    def _check_size(
        market: Market, what: str, price: Decimal | None, base: Decimal | None, quote: Decimal | None
    ) -> None:
        if base is not None and price is not None:
            f.check_order(market, price, base, f"{what} order")
            return
        if base is not None:
            try:
                market.check_amount(base)
            except MarketRuleError as exc:
                raise ConfigError(f"{what} order: {exc}") from None
            return
        if quote is not None and market.min_notional is not None and quote < market.min_notional:
            raise ConfigError(
                f"{what} order: about {quote} {market.quote} is below the minimum notional "
                f"{market.min_notional} {market.quote}"
            )


def _move(price: Decimal, pct: Decimal, way: str) -> Decimal:
    return price * (1 + pct / _HUNDRED) if way == "up" else price * (1 - pct / _HUNDRED)
