"""The DCA bot's configuration: 3Commas field names, frozen, keyword-only, unknown fields refused.

Defaults (for every field left out) and why
-------------------------------------------
``type = "dca"``
    The only value this config takes; a table may omit it.
``direction = "long"``, ``base_order_type = "market"``
    What most DCA bots run.
``max_safety_orders = 0``
    No safety orders unless asked. ``safety_order_size`` and ``price_deviation_pct`` are then
    optional; with ``max_safety_orders >= 1`` both must be given (there is no safe guess for money).
``active_safety_orders = 1``
    One resting safety order at a time locks the least quote.
``safety_order_step_scale = 1``, ``safety_order_volume_scale = 1``
    Evenly spaced, equal safety orders.
``take_profit_type = "total"``
    Profit measured from the average entry.
``take_profit_pct``
    Required unless ``take_profit_steps`` are given (giving both is an error).
``trailing_enabled = false``; ``trailing_deviation_pct`` is required when it is true.
``stop_loss_pct = 0`` (off), ``stop_loss_type = "stop"``, ``stop_loss_timeout_s = 0``
``start_condition = {type = "asap"}``; an ``rsi`` table defaults to ``period = 14``,
    ``timeframe = "5m"``, ``threshold = 30``.
``max_active_deals = 1``, ``cooldown_s = 0``

Limits that are not in 3Commas' documentation: at most 100 safety orders, and a long's last
safety order must stay above zero (total deviation below 100 %).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from itertools import pairwise
from typing import Any, Literal

from bastion.bots import _fields as f
from bastion.bots.dca._market_check import check_markets
from bastion.bots.dca.formulas import safety_order_deviation_pct, safety_order_size
from bastion.bots.dca.start import (
    AsapStart,
    RsiStart,
    SignalStart,
    StartCondition,
    parse_start_condition,
)
from bastion.bots.interface import Direction
from bastion.domain import Market
from bastion.errors import ConfigError

__all__ = ["DcaConfig", "TakeProfitStep"]

_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_MAX_SAFETY_ORDERS = 100
_MAX_TP_STEPS = 4
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)

# --------------------------------------------------------------------------- take-profit steps


@dataclass(frozen=True, slots=True, kw_only=True)
class TakeProfitStep:
    """One take-profit target: sell ``amount_pct`` percent of the position at ``profit_pct`` profit."""

    amount_pct: Decimal
    profit_pct: Decimal

    def __post_init__(self) -> None:
        amount = f.decimal_in(self.amount_pct, "take_profit_steps.amount_pct", above=_ZERO)
        if amount > _HUNDRED:
            raise ConfigError(f"take_profit_steps.amount_pct must be at most 100, got {self.amount_pct!r}")
        object.__setattr__(self, "amount_pct", amount)
        profit = f.decimal_in(self.profit_pct, "take_profit_steps.profit_pct", above=_ZERO)
        object.__setattr__(self, "profit_pct", profit)


#: One 100 % step per ``take_profit_pct`` (by its exact digits), built and checked once: a bot reads
#: its targets on every decision.
_SINGLE_STEPS: dict[tuple[int, tuple[int, ...], int | str], tuple[TakeProfitStep, ...]] = {}


def _single_step(profit_pct: Decimal) -> tuple[TakeProfitStep, ...]:
    key = profit_pct.as_tuple()
    steps = _SINGLE_STEPS.get(key)
    if steps is None:
        if len(_SINGLE_STEPS) > 4096:
            _SINGLE_STEPS.clear()
        steps = _SINGLE_STEPS[key] = (TakeProfitStep(amount_pct=_HUNDRED, profit_pct=profit_pct),)
    return steps


def _steps(data: object) -> tuple[TakeProfitStep, ...]:
    if isinstance(data, (str, bytes, Mapping)) or not isinstance(data, list | tuple):
        raise ConfigError(f"take_profit_steps must be a list of tables {{amount_pct, profit_pct}}, got {data!r}")
    steps: list[TakeProfitStep] = []
    for index, item in enumerate(data, start=1):
        if isinstance(item, TakeProfitStep):
            steps.append(item)
            continue
        table = f.check_keys(item, ("amount_pct", "profit_pct"), f"take_profit_steps[{index}]")
        missing = [name for name in ("amount_pct", "profit_pct") if name not in table]
        if missing:
            raise ConfigError(f"take_profit_steps[{index}] must give amount_pct and profit_pct; missing {missing[0]}")
        steps.append(TakeProfitStep(amount_pct=table["amount_pct"], profit_pct=table["profit_pct"]))
    return tuple(steps)


# --------------------------------------------------------------------------- the config


@dataclass(frozen=True, slots=True, kw_only=True)
class DcaConfig:
    """A DCA bot's settings (3Commas names). See the module docstring for defaults.

    Parameters
    ----------
    name
        1-64 characters from ``A-Z a-z 0-9 _ . -``.
    type
        Always ``"dca"``.
    account
        The exchange account the bot trades.
    pairs
        Spot symbols ``"BASE/QUOTE"``; the bot runs at most one deal per pair at a time.
    direction
        ``long`` buys then sells higher; ``short`` (spot) sells base first and buys it back lower.
    base_order_size, safety_order_size
        In the quote currency.
    base_order_type
        ``market``, or ``limit`` at the current price rounded to the tick.
    max_safety_orders, active_safety_orders
        How many safety orders a deal may use, and how many rest on the exchange at once (1..max).
    price_deviation_pct, safety_order_step_scale, safety_order_volume_scale
        ``d``, ``ss`` and ``vs`` of :mod:`bastion.bots.dca.formulas`.
    take_profit_pct, take_profit_type
        Target profit, from the average entry (``total``) or as a share of the base order (``base``).
    take_profit_steps
        Up to 4 targets whose ``amount_pct`` sum to 100 and whose ``profit_pct`` rise; instead of
        ``take_profit_pct``.
    trailing_enabled, trailing_deviation_pct
        Trail the (last) take-profit: arm at its level, close at market after this pullback from the extreme.
    stop_loss_pct, stop_loss_type, stop_loss_timeout_s
        Close at market when the price stays this far beyond the average entry for the timeout
        (0 = off); ``stop_and_disable`` also stops the bot from opening new deals.
    start_condition
        :class:`AsapStart`, :class:`RsiStart` or :class:`SignalStart`.
    max_active_deals
        Open deals at once, across pairs.
    cooldown_s
        After a deal closes, no new deal before this many seconds.

    Raises
    ------
    ConfigError
        A value is out of range or inconsistent; the message names field, value and expectation.
    """

    name: str
    type: Literal["dca"] = "dca"
    account: str
    pairs: tuple[str, ...]
    direction: Direction = "long"
    base_order_size: Decimal
    base_order_type: Literal["market", "limit"] = "market"
    safety_order_size: Decimal | None = None
    max_safety_orders: int = 0
    active_safety_orders: int = 1
    price_deviation_pct: Decimal | None = None
    safety_order_step_scale: Decimal = Decimal(1)
    safety_order_volume_scale: Decimal = Decimal(1)
    take_profit_pct: Decimal | None = None
    take_profit_type: Literal["total", "base"] = "total"
    take_profit_steps: tuple[TakeProfitStep, ...] = ()
    trailing_enabled: bool = False
    trailing_deviation_pct: Decimal | None = None
    stop_loss_pct: Decimal = Decimal(0)
    stop_loss_type: Literal["stop", "stop_and_disable"] = "stop"
    stop_loss_timeout_s: int = 0
    start_condition: StartCondition = field(default_factory=AsapStart)
    max_active_deals: int = 1
    cooldown_s: int = 0

    def __post_init__(self) -> None:
        put = object.__setattr__
        f.text(self.name, "name", pattern=_NAME_RE, expected="1-64 characters from A-Z a-z 0-9 _ . -")
        f.choice(self.type, "type", ("dca",))
        f.text(self.account, "account")
        put(self, "pairs", f.symbols(self.pairs, "pairs"))
        f.choice(self.direction, "direction", ("long", "short"))
        put(self, "base_order_size", f.decimal_in(self.base_order_size, "base_order_size", above=_ZERO))
        f.choice(self.base_order_type, "base_order_type", ("market", "limit"))
        f.integer(self.max_safety_orders, "max_safety_orders", minimum=0, maximum=_MAX_SAFETY_ORDERS)
        f.integer(self.active_safety_orders, "active_safety_orders", minimum=1, maximum=max(self.max_safety_orders, 1))
        self._init_safety_orders()
        self._init_take_profit()
        if self.trailing_deviation_pct is not None:
            deviation = f.decimal_in(self.trailing_deviation_pct, "trailing_deviation_pct", above=_ZERO, below=_HUNDRED)
            put(self, "trailing_deviation_pct", deviation)
        if f.boolean(self.trailing_enabled, "trailing_enabled") and self.trailing_deviation_pct is None:
            raise ConfigError("trailing_deviation_pct must be given when trailing_enabled is true")
        put(self, "stop_loss_pct", f.decimal_in(self.stop_loss_pct, "stop_loss_pct", at_least=_ZERO, below=_HUNDRED))
        f.choice(self.stop_loss_type, "stop_loss_type", ("stop", "stop_and_disable"))
        f.integer(self.stop_loss_timeout_s, "stop_loss_timeout_s", minimum=0)
        put(self, "start_condition", parse_start_condition(self.start_condition))
        f.integer(self.max_active_deals, "max_active_deals", minimum=1)
        f.integer(self.cooldown_s, "cooldown_s", minimum=0)

    def _init_safety_orders(self) -> None:
        put = object.__setattr__
        for name, below in (("safety_order_size", None), ("price_deviation_pct", _HUNDRED)):
            value = getattr(self, name)
            if value is not None:
                put(self, name, f.decimal_in(value, name, above=_ZERO, below=below))
            elif self.max_safety_orders > 0:
                raise ConfigError(f"{name} must be given when max_safety_orders is {self.max_safety_orders}")
        for name in ("safety_order_step_scale", "safety_order_volume_scale"):
            put(self, name, f.decimal_in(getattr(self, name), name, above=_ZERO))
        if self.direction == "long" and self.max_safety_orders > 0:
            last = self.safety_order_deviation(self.max_safety_orders)
            if last >= _HUNDRED:
                raise ConfigError(
                    f"safety order {self.max_safety_orders} would be {last}% below the base fill, at or below "
                    "zero; lower max_safety_orders, price_deviation_pct or safety_order_step_scale "
                    "(expected a total deviation below 100%)"
                )

    def _init_take_profit(self) -> None:
        put = object.__setattr__
        f.choice(self.take_profit_type, "take_profit_type", ("total", "base"))
        below = _HUNDRED if self.direction == "short" else None
        if self.take_profit_pct is not None:
            profit = f.decimal_in(self.take_profit_pct, "take_profit_pct", above=_ZERO, below=below)
            put(self, "take_profit_pct", profit)
        steps = _steps(self.take_profit_steps)
        put(self, "take_profit_steps", steps)
        if steps and self.take_profit_pct is not None:
            raise ConfigError("give either take_profit_pct or take_profit_steps, not both")
        if not steps:
            if self.take_profit_pct is None:
                raise ConfigError("take_profit_pct must be given (or take_profit_steps)")
            return
        if len(steps) > _MAX_TP_STEPS:
            raise ConfigError(f"take_profit_steps may have at most {_MAX_TP_STEPS} steps, got {len(steps)}")
        total = sum((step.amount_pct for step in steps), _ZERO)
        if total != _HUNDRED:
            raise ConfigError(f"take_profit_steps amount_pct must sum to 100, got {total}")
        for earlier, later in pairwise(steps):
            if later.profit_pct <= earlier.profit_pct:
                raise ConfigError(
                    f"take_profit_steps profit_pct must rise from step to step, got {earlier.profit_pct} "
                    f"then {later.profit_pct}"
                )
        if below is not None and steps[-1].profit_pct >= below:
            raise ConfigError(f"take_profit_steps profit_pct must be below 100 for a short, got {steps[-1].profit_pct}")

    # --- derived values -----------------------------------------------------------------------

    @property
    def targets(self) -> tuple[TakeProfitStep, ...]:
        """The take-profit targets: ``take_profit_steps``, or one step of 100% at ``take_profit_pct``."""
        if self.take_profit_steps:
            return self.take_profit_steps
        assert self.take_profit_pct is not None  # __post_init__ guarantees one of the two
        return _single_step(self.take_profit_pct)

    @property
    def timeframe(self) -> str | None:
        """The candle timeframe the engine must put into ``BotView.candles``, or None."""
        return self.start_condition.timeframe if isinstance(self.start_condition, RsiStart) else None

    @property
    def candles_wanted(self) -> int:
        """How many completed candles the start condition reads (0 when it reads none).

        Wilder's RSI settles after a few periods, so an ``rsi`` condition asks for ten of them.
        """
        return 10 * self.start_condition.period + 1 if isinstance(self.start_condition, RsiStart) else 0

    @property
    def takes_signals(self) -> bool:
        """Whether its deals start on webhook signals (``start_condition.type = "signal"``)."""
        return isinstance(self.start_condition, SignalStart)

    def safety_order_size_at(self, n: int) -> Decimal:
        """Return the quote size of safety order ``n`` (1-based)."""
        assert self.safety_order_size is not None
        return safety_order_size(self.safety_order_size, self.safety_order_volume_scale, n)

    def safety_order_deviation(self, n: int) -> Decimal:
        """Return the total deviation (percent) of safety order ``n`` from the base fill."""
        assert self.price_deviation_pct is not None
        return safety_order_deviation_pct(self.price_deviation_pct, self.safety_order_step_scale, n)

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DcaConfig:
        """Build a config from a parsed TOML table.

        Decimal fields take strings, integers or floats (a float is read from its shortest repr,
        which is what the user wrote); never booleans.

        Raises
        ------
        ConfigError
            A field is unknown (the message names it and lists the valid ones), a required one is
            missing, or a value is invalid.
        """
        names = [item.name for item in fields(cls)]
        table = f.check_keys(data, names, "DCA bot config")
        required = ("name", "account", "pairs", "base_order_size")
        missing = [name for name in required if name not in table]
        if missing:
            raise ConfigError(f"DCA bot config must give {', '.join(required)}; missing {', '.join(missing)}")
        return cls(**{str(key): value for key, value in table.items()})

    def check_markets(self, markets: Mapping[str, Market], *, prices: Mapping[str, Decimal] | None = None) -> None:
        """Refuse a bot whose orders could not be placed on its markets.

        Every pair must have a market. Every order the bot can place (the base order, each safety
        order ``SO * vs**(n-1)`` and each take-profit step's share of the base order) must reach
        the market's minimum notional and minimum amount. Given ``prices`` (the pairs' current
        prices, as bot creation has them), each order is priced and rounded exactly as the bot
        would place it with the base order filling at that price. Without a price, only the
        quote sizes are compared with the minimum notional.

        Raises
        ------
        ConfigError
            A pair has no market, or an order would break the market's minimums; the message names
            the pair, the order, its size and the minimum.
        """
        check_markets(self, markets, prices)
