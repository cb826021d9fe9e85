"""One OHLCV candle and the one table of candle timeframes (pure; no I/O)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from bastion.errors import ValidationError

__all__ = ["MONTH", "TIMEFRAMES_MS", "Candle", "timeframe_ms"]

_MIN = 60_000
_HOUR = 60 * _MIN
_DAY = 24 * _HOUR

#: Candle timeframes (Binance kline interval names) and their length in milliseconds.
TIMEFRAMES_MS: Mapping[str, int] = MappingProxyType(
    {
        "1s": 1_000,
        "1m": _MIN,
        "3m": 3 * _MIN,
        "5m": 5 * _MIN,
        "15m": 15 * _MIN,
        "30m": 30 * _MIN,
        "1h": _HOUR,
        "2h": 2 * _HOUR,
        "4h": 4 * _HOUR,
        "6h": 6 * _HOUR,
        "8h": 8 * _HOUR,
        "12h": 12 * _HOUR,
        "1d": _DAY,
        "3d": 3 * _DAY,
        "1w": 7 * _DAY,
    }
)

#: The monthly timeframe: a valid name with no fixed length.
MONTH = "1M"


def timeframe_ms(timeframe: str) -> int:
    """Return the length of ``timeframe`` (``1m``, ``5m``, ``1h``, ``1d``, ``1w``...) in milliseconds.

    Raises
    ------
    ValidationError
        ``timeframe`` is not one of :data:`TIMEFRAMES_MS` (the message lists them).
    """
    length = TIMEFRAMES_MS.get(timeframe)
    if length is None:
        raise ValidationError(f"timeframe {timeframe!r} is not valid; expected one of {', '.join(TIMEFRAMES_MS)}")
    return length


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV candle; ``ts_ms`` is its open time in epoch milliseconds (UTC).

    ``volume`` is the base volume, or None when the source had none (NaN), e.g. mark-price candles.
    """

    ts_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal | None
