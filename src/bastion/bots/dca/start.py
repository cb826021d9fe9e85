"""Start conditions: when a DCA bot may open a deal on a free pair."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Literal

from bastion.bots import _fields as f
from bastion.domain import TIMEFRAMES_MS
from bastion.errors import ConfigError

__all__ = ["AsapStart", "RsiStart", "SignalStart", "StartCondition", "parse_start_condition"]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True, kw_only=True)
class AsapStart:
    """Open a deal as soon as the bot may."""

    type: Literal["asap"] = "asap"


@dataclass(frozen=True, slots=True, kw_only=True)
class RsiStart:
    """Open when the RSI of the completed candles is beyond the threshold.

    A long opens when ``RSI(period) < threshold``, a short when ``RSI(period) > 100 - threshold``.
    """

    type: Literal["rsi"] = "rsi"
    period: int = 14
    timeframe: str = "5m"
    threshold: Decimal = Decimal(30)

    def __post_init__(self) -> None:
        f.integer(self.period, "start_condition.period", minimum=2, maximum=500)
        f.choice(self.timeframe, "start_condition.timeframe", TIMEFRAMES_MS)
        threshold = f.decimal_in(self.threshold, "start_condition.threshold", above=_ZERO, below=_HUNDRED)
        object.__setattr__(self, "threshold", threshold)

    @property
    def timeframe_ms(self) -> int:
        """Length of one candle in milliseconds."""
        return TIMEFRAMES_MS[self.timeframe]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalStart:
    """Open only when a signal says ``enter_long`` (or ``enter_short``) for the pair."""

    type: Literal["signal"] = "signal"


StartCondition = AsapStart | RsiStart | SignalStart

_START_TYPES: Mapping[str, type[AsapStart] | type[RsiStart] | type[SignalStart]] = {
    "asap": AsapStart,
    "rsi": RsiStart,
    "signal": SignalStart,
}


def parse_start_condition(data: object) -> StartCondition:
    """Return the condition a ``start_condition`` table describes (or the condition itself)."""
    if isinstance(data, AsapStart | RsiStart | SignalStart):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f'start_condition must be a table such as {{type = "asap"}}, got {data!r}')
    kind = f.choice(data.get("type"), "start_condition.type", _START_TYPES)
    cls = _START_TYPES[kind]
    f.check_keys(data, [field.name for field in fields(cls)], f"start_condition (type {kind!r})")
    return cls(**{str(key): value for key, value in data.items()})
