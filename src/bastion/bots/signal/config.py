"""The signal bot's configuration: frozen, keyword-only, unknown fields refused.

Defaults (for every field left out) and why
-------------------------------------------
``type = "signal"``
    The only value this config takes; a table may omit it.
``directions = ["long"]``
    Spot long only unless short selling (sell base first, buy it back) is asked for.
``order_currency = "quote"``
    ``order_size`` is a quote amount (e.g. 25 USDT), what most signal senders think in.
``max_order_size = order_size``
    A signal may ask for less than the default size or exactly it, never more, unless a larger
    limit is configured. A sender holding the webhook secret can then not size orders up.
``max_lag_s = 60``
    A signal older than this when it arrives, or still waiting for the engine after this long,
    is refused. A signal's own ``max_lag`` may only lower it.
``take_profit_pct``, ``stop_loss_pct``: off.
``max_active_deals = 1``
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Literal

from bastion.bots import _fields as f
from bastion.bots.config import PricesOnly
from bastion.bots.interface import Direction
from bastion.domain import Market
from bastion.errors import ConfigError

__all__ = ["ACTIONS", "SignalAction", "SignalConfig", "action_direction"]

SignalAction = Literal["enter_long", "exit_long", "enter_short", "exit_short"]
#: Every action a signal may carry.
ACTIONS: tuple[SignalAction, ...] = ("enter_long", "exit_long", "enter_short", "exit_short")

_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_MAX_LAG_S = 86_400


def action_direction(action: str) -> Direction:
    """Return the direction a signal action is about (``enter_long`` -> ``long``).

    Raises
    ------
    ConfigError
        ``action`` is not one of :data:`ACTIONS`.
    """
    if action not in ACTIONS:
        raise ConfigError(f"signal action must be one of {', '.join(ACTIONS)}; got {action!r}")
    return "long" if action.endswith("_long") else "short"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalConfig(PricesOnly):
    """A signal bot's settings. See the module docstring for defaults.

    Parameters
    ----------
    name
        1-64 characters from ``A-Z a-z 0-9 _ . -``.
    type
        Always ``"signal"``.
    account
        The exchange account the bot trades.
    pairs
        Spot symbols ``"BASE/QUOTE"`` signals may name; at most one open deal per pair.
    directions
        ``long`` and/or ``short`` (spot: sell base first, buy it back on exit).
    order_size, order_currency
        The entry size when a signal names none, in the quote or the base currency.
    max_order_size
        The largest entry a signal may ask for, in ``order_currency``; a signal asking more, or
        sized in the other currency, is refused.
    max_lag_s
        How old (seconds) a signal may be when it arrives and when the bot acts on it.
    take_profit_pct, stop_loss_pct
        After the entry fills: rest a limit order this far beyond the average entry, and close at
        market once the price touches this far against it (None: off).
    max_active_deals
        Open deals at once, across pairs.

    Raises
    ------
    ConfigError
        A value is out of range or inconsistent; the message names field, value and expectation.
    """

    name: str
    type: Literal["signal"] = "signal"
    account: str
    pairs: tuple[str, ...]
    directions: tuple[Direction, ...] = ("long",)
    order_size: Decimal
    order_currency: Literal["quote", "base"] = "quote"
    max_order_size: Decimal | None = None
    max_lag_s: int = 60
    take_profit_pct: Decimal | None = None
    stop_loss_pct: Decimal | None = None
    max_active_deals: int = 1

    def __post_init__(self) -> None:
        put = object.__setattr__
        f.text(self.name, "name", pattern=_NAME_RE, expected="1-64 characters from A-Z a-z 0-9 _ . -")
        f.choice(self.type, "type", ("signal",))
        f.text(self.account, "account")
        put(self, "pairs", f.symbols(self.pairs, "pairs"))
        put(self, "directions", f.choices(self.directions, "directions", ("long", "short")))
        put(self, "order_size", f.decimal_in(self.order_size, "order_size", above=_ZERO))
        f.choice(self.order_currency, "order_currency", ("quote", "base"))
        if self.max_order_size is None:
            put(self, "max_order_size", self.order_size)
        else:
            limit = f.decimal_in(self.max_order_size, "max_order_size", above=_ZERO)
            if limit < self.order_size:
                raise ConfigError(
                    f"max_order_size must be at least order_size {self.order_size}, got {self.max_order_size!r}"
                )
            put(self, "max_order_size", limit)
        f.integer(self.max_lag_s, "max_lag_s", minimum=1, maximum=_MAX_LAG_S)
        if self.take_profit_pct is not None:
            below = _HUNDRED if "short" in self.directions else None
            take_profit = f.decimal_in(self.take_profit_pct, "take_profit_pct", above=_ZERO, below=below)
            put(self, "take_profit_pct", take_profit)
        if self.stop_loss_pct is not None:
            below = _HUNDRED if "long" in self.directions else None
            put(self, "stop_loss_pct", f.decimal_in(self.stop_loss_pct, "stop_loss_pct", above=_ZERO, below=below))
        f.integer(self.max_active_deals, "max_active_deals", minimum=1)

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SignalConfig:
        """Build a config from a parsed TOML table.

        Decimal fields take strings, integers or floats (a float is read from its shortest repr,
        which is what the user wrote); never booleans.

        Raises
        ------
        ConfigError
            A field is unknown (the message names it and lists the valid ones), a required one is
            missing, or a value is invalid.
        """
        names = [field.name for field in fields(cls)]
        table = f.check_keys(data, names, "signal bot config")
        required = ("name", "account", "pairs", "order_size")
        missing = [name for name in required if name not in table]
        if missing:
            raise ConfigError(f"signal bot config must give {', '.join(required)}; missing {', '.join(missing)}")
        return cls(**{str(key): value for key, value in table.items()})

    @classmethod
    def from_toml(cls, text: str) -> SignalConfig:
        """Build a config from TOML text (a bot's stored ``config_toml``).

        Raises
        ------
        ConfigError
            The text is not valid TOML, or :meth:`from_mapping` refuses the table.
        """
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"signal bot config is not valid TOML: {exc}") from None
        return cls.from_mapping(data)

    # --- what signals may ask ------------------------------------------------------------------

    @property
    def size_limit(self) -> Decimal:
        """The largest entry a signal may ask for, in ``order_currency``."""
        return self.order_size if self.max_order_size is None else self.max_order_size

    def refusal(
        self, *, pair: str, action: str, amount: Decimal | None = None, currency_type: str | None = None
    ) -> str | None:
        """Return why this bot refuses a signal, or None when it may act on it.

        The web layer asks before it stores a signal, the bot again before it acts: a pair the bot
        does not trade, a direction it does not trade, or an entry size it does not allow (in the
        other currency than ``order_currency``, not positive, or above ``max_order_size``). An
        exit's amount is a share of the position: ``percent`` (above 0, at most 100), ``base``, or
        ``quote`` (worth that much at the last price).

        Parameters
        ----------
        pair
            The symbol the signal is for.
        action
            One of :data:`ACTIONS`.
        amount, currency_type
            The entry size the signal asks for; None for the bot's ``order_size``.
        """
        if pair not in self.pairs:
            return f"pair {pair!r} is not traded by bot {self.name!r}; expected one of {', '.join(self.pairs)}"
        try:
            direction = action_direction(action)
        except ConfigError as exc:
            return str(exc)
        if direction not in self.directions:
            return (
                f"action {action!r} is {direction}, which bot {self.name!r} does not trade; "
                f"expected a {' or '.join(self.directions)} action"
            )
        if amount is not None and action.startswith("exit_"):
            return _exit_refusal(amount, currency_type)
        if amount is None:
            return None
        if currency_type == "percent":
            return "currency_type 'percent' (3Commas position_percent) is for exits; expected base or quote"
        if currency_type != self.order_currency:
            return (
                f"order amount is in {currency_type!r} but bot {self.name!r} sizes orders in {self.order_currency!r}; "
                f"expected currency_type {self.order_currency!r}"
            )
        if amount <= 0:
            return f"order amount must be positive, got {amount}"
        if amount > self.size_limit:
            return (
                f"order amount {amount} ({self.order_currency}) is above the max_order_size {self.size_limit} of bot "
                f"{self.name!r}; expected at most {self.size_limit}"
            )
        return None

    # --- markets -------------------------------------------------------------------------------

    @property
    def takes_signals(self) -> bool:
        """True: it acts on webhook signals."""
        return True

    def check_markets(self, markets: Mapping[str, Market], *, prices: Mapping[str, Decimal] | None = None) -> None:
        """Refuse a bot whose default entry could not be placed on its markets.

        Every pair must have a market. A quote ``order_size`` must reach the market's minimum
        notional; a base ``order_size`` floored to the lot step must reach the minimum amount and,
        given the pair's current price in ``prices``, the minimum notional.

        Raises
        ------
        ConfigError
            A pair has no market, or the default entry is below its minimums; the message names
            the pair, the size and the minimum.
        """
        for pair in self.pairs:
            market = markets.get(pair)
            if market is None:
                known = ", ".join(sorted(markets)) or "none"
                raise ConfigError(f"pair {pair} has no market on the account's exchange; markets known: {known}")
            size = self.order_size
            if self.order_currency == "quote":
                notional: Decimal | None = size
            else:
                amount = market.floor_amount(size)
                minimum = market.min_amount if market.min_amount is not None else market.lot_step
                if amount < minimum:
                    raise ConfigError(
                        f"{self.name} {pair}: order_size {size} {market.base} is below the market's minimum amount "
                        f"{minimum} {market.base}"
                    )
                price = None if prices is None else prices.get(pair)
                notional = None if price is None else amount * price
            if notional is not None and market.min_notional is not None and notional < market.min_notional:
                raise ConfigError(
                    f"{self.name} {pair}: order_size {size} {self.order_currency} (about {notional} {market.quote}) "
                    f"is below the market's minimum notional {market.min_notional} {market.quote}"
                )


def _exit_refusal(amount: Decimal, currency_type: str | None) -> str | None:
    """Why an exit of ``amount`` in ``currency_type`` is refused (a share of the position), or None."""
    if currency_type == "percent":
        if not 0 < amount <= 100:
            return f"an exit of {amount} percent of the position is not possible; expected above 0 and at most 100"
        return None
    if currency_type in ("base", "quote"):
        return None if amount > 0 else f"an exit amount must be positive, got {amount}"
    return (
        f"an exit sized in {currency_type!r} is not supported; expected currency_type 'position_percent', 'base' or "
        "'quote', or no amount to close the whole deal"
    )
