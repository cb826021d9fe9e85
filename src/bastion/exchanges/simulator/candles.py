"""Recorded candles: CSV loading, timeframe and tick inference, aggregation to larger intervals.

The CSV format is ``timestamp_ms,open,high,low,close,volume`` with a header line; the timestamp
is the candle's open time in epoch milliseconds. Everything is kept as Decimal.
"""

from __future__ import annotations

import csv
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path

from bastion.domain import TIMEFRAMES_MS, Candle
from bastion.errors import ConfigError

__all__ = [
    "CandleSeries",
    "aggregate",
    "bucket_start",
    "load_candles_csv",
    "parse_candles_csv",
    "timeframe_name",
    "volume_of",
]

_DAY = 86_400_000
# Weekly candles start on Monday 00:00 UTC; the epoch was a Thursday.
_WEEK_OFFSET = 4 * _DAY
_ZERO = Decimal(0)
_HEADER = ["timestamp_ms", "open", "high", "low", "close", "volume"]


@dataclass(frozen=True, slots=True, eq=False)
class CandleSeries:
    """A symbol's recorded candles, ascending and evenly spaced by ``timeframe_ms``."""

    candles: tuple[Candle, ...]
    timeframe_ms: int
    source: str = ""
    open_times: tuple[int, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.candles:
            raise ConfigError(f"{self.source or 'candle series'}: no candles; expected at least one row")
        object.__setattr__(self, "open_times", tuple(c.ts_ms for c in self.candles))

    def __len__(self) -> int:
        return len(self.candles)

    def __getitem__(self, index: int) -> Candle:
        return self.candles[index]

    @property
    def price_increment(self) -> Decimal:
        """Return the smallest decimal increment seen in the recorded prices (``0.01`` for 2 decimals)."""
        exponent = 0
        for c in self.candles:
            for price in (c.open, c.high, c.low, c.close):
                exp = price.normalize().as_tuple().exponent
                if isinstance(exp, int) and exp < exponent:
                    exponent = exp
        return Decimal(1).scaleb(exponent)

    def index_at_or_before(self, open_time: int) -> int:
        """Return the index of the last candle opening at or before ``open_time`` (-1 if none)."""
        return bisect_right(self.open_times, open_time) - 1

    def index_at_or_after(self, open_time: int) -> int:
        """Return the index of the first candle opening at or after ``open_time`` (len if none)."""
        return bisect_left(self.open_times, open_time)


def volume_of(candle: Candle) -> Decimal:
    """Return a candle's base volume (recorded candles always have one; zero when a source had none)."""
    return _ZERO if candle.volume is None else candle.volume


def timeframe_name(timeframe_ms: int) -> str:
    """Return the Binance interval name for ``timeframe_ms`` or ``"<n>ms"`` when it has none."""
    for name, ms in TIMEFRAMES_MS.items():
        if ms == timeframe_ms:
            return name
    return f"{timeframe_ms}ms"


def bucket_start(open_time: int, interval_ms: int) -> int:
    """Return the open time of the ``interval_ms`` candle containing ``open_time`` (Binance alignment)."""
    offset = _WEEK_OFFSET if interval_ms == TIMEFRAMES_MS["1w"] else 0
    return (open_time - offset) // interval_ms * interval_ms + offset


def aggregate(candles: Sequence[Candle], open_time: int) -> Candle:
    """Merge consecutive ``candles`` into one candle opening at ``open_time``."""
    high = candles[0].high
    low = candles[0].low
    volume = _ZERO
    for c in candles:
        if c.high > high:
            high = c.high
        if c.low < low:
            low = c.low
        volume += volume_of(c)
    return Candle(open_time, candles[0].open, high, low, candles[-1].close, volume)


def _decimal(text: str, what: str, where: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ConfigError(f"{where}: {what} must be a decimal number, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise ConfigError(f"{where}: {what} must be a finite non-negative number, got {text!r}")
    return value


def load_candles_csv(path: Path | str) -> CandleSeries:
    """Load a ``timestamp_ms,open,high,low,close,volume`` CSV file.

    Raises
    ------
    ConfigError
        The file cannot be read, or see :func:`parse_candles_csv`.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read candle file {str(path)!r}: {exc.strerror or exc}") from None
    return parse_candles_csv(text, str(path))


def parse_candles_csv(text: str, source: str = "candles") -> CandleSeries:
    """Parse CSV text whose first line is the header ``timestamp_ms,open,high,low,close,volume``.

    Parameters
    ----------
    text
        The file's content.
    source
        Its name, for error messages.

    Raises
    ------
    ConfigError
        A different header, a malformed row, prices with low above high, times that are not
        strictly increasing, or fewer than two candles.
    """
    path = source
    rows = csv.reader(text.lstrip("\ufeff").splitlines())
    header = next(rows, None)
    if header is None or [h.strip().lower() for h in header] != _HEADER:
        raise ConfigError(
            f"{path}: first line must be the header {','.join(_HEADER)!r}, got {','.join(header or [])!r}"
        )
    candles: list[Candle] = []
    for lineno, row in enumerate(rows, start=2):
        if not row or not "".join(row).strip():
            continue
        where = f"{path}:{lineno}"
        if len(row) != 6:
            raise ConfigError(f"{where}: expected 6 comma-separated fields ({','.join(_HEADER)}), got {len(row)}")
        try:
            open_time = int(row[0])
        except ValueError:
            raise ConfigError(f"{where}: timestamp_ms must be an integer, got {row[0]!r}") from None
        o, h, low, c, v = (_decimal(row[i].strip(), _HEADER[i], where) for i in range(1, 6))
        if low > h or not (low <= o <= h) or not (low <= c <= h):
            raise ConfigError(f"{where}: expected low <= open, close <= high, got o={o} h={h} l={low} c={c}")
        if candles and open_time <= candles[-1].ts_ms:
            raise ConfigError(
                f"{where}: timestamps must increase strictly, got {open_time} after {candles[-1].ts_ms}"
            )
        candles.append(Candle(open_time, o, h, low, c, v))
    if not candles:
        raise ConfigError(f"{path}: no candle rows after the header")
    if len(candles) == 1:
        raise ConfigError(f"{path}: one candle is not enough to infer the timeframe; expected at least two")
    timeframe = min(b.ts_ms - a.ts_ms for a, b in pairwise(candles))
    return CandleSeries(tuple(candles), timeframe, source=source)
