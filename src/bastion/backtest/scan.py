"""Vectorised searches over float64 candle columns: the next candle that can change anything.

Floats only decide *where to look*: a level ``L`` (a Decimal) is compared as ``float(L)``, and
rounding to the nearest float never moves a price across it the wrong way
(``Decimal high >= L`` implies ``float(high) >= float(L)``), so no true event is skipped; a
candle found by the float test is then walked in Decimal and may turn out quiet.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["Levels", "RsiCandidates", "first_reach", "rsi_candidates"]

_FIRST_CHUNK = 256
_MAX_CHUNK = 65_536


@dataclass(frozen=True, slots=True)
class Levels:
    """Per market: the lowest price above which something happens (a sell, a watch above) and the
    highest below which something happens (a buy, a watch below); +-inf when none."""

    above: float = math.inf
    below: float = -math.inf

    @property
    def empty(self) -> bool:
        """Whether nothing waits for a price."""
        return self.above == math.inf and self.below == -math.inf


def first_reach(
    columns: Sequence[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], Levels]], start: int, stop: int
) -> int | None:
    """Return the first index in ``[start, stop)`` whose high reaches a market's ``above`` level or
    whose low reaches its ``below`` level (``columns`` is ``(high, low, levels)`` per market).

    The search looks at growing chunks (256 candles, then four times more each time), so a near
    event costs little and a far one a few large ``np.flatnonzero`` calls.
    """
    import numpy as np

    wanted = [(h, lo, lv) for h, lo, lv in columns if not lv.empty]
    if not wanted or start >= stop:
        return None
    size = _FIRST_CHUNK
    i = start
    while i < stop:
        end = min(stop, i + size)
        mask: npt.NDArray[np.bool_] | None = None
        for high, low, levels in wanted:
            if levels.above != math.inf:
                part = high[i:end] >= levels.above
                mask = part if mask is None else mask | part
            if levels.below != -math.inf:
                part = low[i:end] <= levels.below
                mask = part if mask is None else mask | part
        if mask is not None:
            hits = np.flatnonzero(mask)
            if hits.size:
                return i + int(hits[0])
        i = end
        size = min(size * 4, _MAX_CHUNK)
    return None


@dataclass(frozen=True, slots=True)
class RsiCandidates:
    """When an RSI start condition may hold: intervals ``[since, until)`` of the clock (epoch ms).

    Outside them the float RSI of the completed candles is beyond the threshold by more than
    :data:`MARGIN`, so the bot's Decimal RSI is too; inside them the bot decides and checks.
    """

    since: npt.NDArray[np.int64]
    until: npt.NDArray[np.int64]

    def next_time(self, after_ms: int) -> int | None:
        """The first time at or after ``after_ms`` inside a candidate interval, or None."""
        import numpy as np

        pos = int(np.searchsorted(self.until, after_ms, "right"))
        if pos >= self.since.shape[0]:
            return None
        return max(after_ms, int(self.since[pos]))


#: RSI points of slack between the float figure and the threshold.
MARGIN = 1e-6


def windowed_rsi(closes: npt.NDArray[np.float64], period: int, window: int) -> npt.NDArray[np.float64]:
    """Wilder's RSI of the last ``window`` closes ending at each index (NaN where fewer exist).

    The bot's RSI over ``window`` closes seeds with the mean of the first ``period`` changes and
    smooths the rest; that is a fixed linear filter of the window's gains (and losses), applied
    here as one convolution.
    """
    import numpy as np

    changes = np.diff(closes)
    n = window - 1  # changes in a window
    out = np.full(closes.shape[0], np.nan)
    if changes.shape[0] < n or n < period:
        return out
    a = 1.0 / period
    weights = np.empty(n)
    weights[:period] = (1.0 - a) ** (n - period) / period
    later = np.arange(period, n)
    weights[period:] = a * (1.0 - a) ** (n - 1 - later)
    gains = np.convolve(np.maximum(changes, 0.0), weights[::-1], "valid")
    losses = np.convolve(np.maximum(-changes, 0.0), weights[::-1], "valid")
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + gains / losses)
    rsi = np.where(losses == 0.0, np.where(gains > 0.0, 100.0, 50.0), rsi)
    out[n:] = rsi
    return out


def rsi_candidates(
    bucket_ts: npt.NDArray[np.int64],
    closes: npt.NDArray[np.float64],
    *,
    timeframe_ms: int,
    period: int,
    window: int,
    threshold: float,
    long: bool,
) -> RsiCandidates:
    """The clock intervals in which an RSI start condition may hold.

    Candle ``e`` (of the bot's timeframe) is complete from ``bucket_ts[e] + timeframe_ms`` until
    the next one is; during that interval the bot sees candles up to ``e``. With fewer than
    ``window`` candles the interval is a candidate whatever the float says (the bot checks).
    """
    import numpy as np

    rsi = windowed_rsi(closes, period, window)
    hold = rsi < threshold + MARGIN if long else rsi > 100.0 - threshold - MARGIN
    early = np.arange(closes.shape[0]) < window - 1
    mask = hold | early
    done = bucket_ts + timeframe_ms
    until = np.append(done[1:], np.iinfo(np.int64).max)
    picked = np.flatnonzero(mask)
    return RsiCandidates(since=done[picked], until=until[picked])
