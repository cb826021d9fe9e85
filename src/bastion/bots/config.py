"""What every bot config provides, whatever its type: :class:`BotConfig`.

The engine, the services and the CLI read a parsed config only through this protocol, never by
probing attributes: each config type (``DcaConfig``, ``GridConfig``, ``SmartTradeConfig``,
``SignalConfig``) implements it.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

from bastion.domain import Market

__all__ = ["BotConfig", "OnePair", "PricesOnly"]


class BotConfig(Protocol):
    """A bot's frozen, validated settings."""

    @property
    def name(self) -> str:
        """The bot's unique name."""
        ...

    @property
    def type(self) -> str:
        """Its type name (``dca``, ``grid``, ``smart_trade``, ``signal``)."""
        ...

    @property
    def account(self) -> str:
        """The exchange account it trades on."""
        ...

    @property
    def pairs(self) -> tuple[str, ...]:
        """The symbols it trades."""
        ...

    @property
    def timeframe(self) -> str | None:
        """The candle timeframe the engine must put into ``BotView.candles``, or None."""
        ...

    @property
    def candles_wanted(self) -> int:
        """How many completed candles it reads (0 when none)."""
        ...

    @property
    def takes_signals(self) -> bool:
        """Whether it acts on webhook signals."""
        ...

    def check_markets(self, markets: Mapping[str, Market], *, prices: Mapping[str, Decimal] | None = None) -> None:
        """Refuse (ConfigError) a config whose orders its markets would reject."""
        ...


class PricesOnly:
    """Mix-in for configs that read no candles and act on prices alone (override as needed)."""

    __slots__ = ()

    @property
    def timeframe(self) -> str | None:
        """None: it reads no candles."""
        return None

    @property
    def candles_wanted(self) -> int:
        """0: it reads no candles."""
        return 0

    @property
    def takes_signals(self) -> bool:
        """False: it acts on prices only."""
        return False


class OnePair(PricesOnly):
    """Mix-in for configs with a single ``pair`` field."""

    __slots__ = ()
    pair: str

    @property
    def pairs(self) -> tuple[str, ...]:
        """The one symbol it trades, as a tuple."""
        return (self.pair,)
