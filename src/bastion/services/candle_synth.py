"""Synthetic candles for scale tests and benchmarks: realistic returns, deterministic for a seed.

The model (all draws from one seeded ``numpy.random.Generator``, in a fixed order):

* log-volatility is the sum of two AR(1) processes, a fast one (half-life about two hours of 1m
  candles) and a slow one (about ten days), so calm and wild periods cluster as in real markets;
* a daily cycle scales volatility and volume (busiest around 15:00 UTC);
* returns are that volatility times a Student-t shock with 4 degrees of freedom (fat tails);
* each candle opens at the previous close; high and low reach beyond the body by a half-normal
  multiple of the candle's volatility; every price is rounded to the tick (high up, low down, so
  ``low <= min(open, close) <= max(open, close) <= high`` holds exactly) and stays at least one tick;
* volume is log-normal, larger on larger moves, rounded to the lot and at least one lot.

Prices are built as whole ticks and divided by the tick's denominator, so every value is the
float nearest to its decimal (``30000.01``, not ``30000.010000000002``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from bastion.errors import ValidationError
from bastion.services.candle_files import CandleArrays

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = ["SynthSpec", "synth_candles"]

_YEAR_MS = 365 * 86_400_000
_DAY_MS = 86_400_000
_MAX_CANDLES = 20_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class SynthSpec:
    """What to generate.

    ``volatility`` is annualised (0.6 is 60 % a year, about Bitcoin's); ``volume`` is the mean
    base volume of a one-minute candle (scaled by the timeframe).
    """

    timeframe_ms: int
    days: int
    seed: int
    start_ms: int = 1_704_067_200_000  # 2024-01-01 00:00 UTC
    price: Decimal = Decimal(30000)
    tick: Decimal = Decimal("0.01")
    lot: Decimal = Decimal("0.001")
    volatility: float = 0.6
    volume: float = 12.0

    def __post_init__(self) -> None:
        if self.timeframe_ms <= 0 or (_DAY_MS % self.timeframe_ms and self.timeframe_ms % _DAY_MS):
            raise ValidationError(f"timeframe of {self.timeframe_ms} ms does not divide a day; expected 1m, 5m, 1h...")
        if self.days <= 0:
            raise ValidationError(f"days must be at least 1, got {self.days}")
        if self.candles > _MAX_CANDLES:
            raise ValidationError(f"{self.candles} candles is too many; expected at most {_MAX_CANDLES}")
        if self.seed < 0:
            raise ValidationError(f"seed must be a non-negative integer, got {self.seed}")
        for name in ("price", "tick", "lot"):
            value = getattr(self, name)
            if not value.is_finite() or value <= 0:
                raise ValidationError(f"{name} must be a positive number, got {value}")
        if self.price < self.tick * 100:
            raise ValidationError(f"price {self.price} is less than 100 ticks of {self.tick}; expected a larger price")
        if not 0 < self.volatility <= 5:
            raise ValidationError(f"volatility must be in (0, 5] (annualised, 0.6 = 60 %), got {self.volatility}")

    @property
    def candles(self) -> int:
        """How many candles the spec makes."""
        return self.days * _DAY_MS // self.timeframe_ms


def _ratio(step: Decimal) -> tuple[int, int]:
    numerator, denominator = step.as_integer_ratio()
    return numerator, denominator


def _scaled(units: npt.NDArray[np.int64], step: Decimal) -> npt.NDArray[np.float64]:
    """Return ``units * step`` as the floats nearest to the exact decimals."""
    numerator, denominator = _ratio(step)
    return (units * numerator) / denominator


def _ar1(shocks: npt.NDArray[np.float64], phi: float, start: float, block: int = 256) -> npt.NDArray[np.float64]:
    """Return ``x[k] = phi * x[k-1] + shocks[k]`` with ``x[-1] = start``, vectorised block by block."""
    import numpy as np

    out = np.empty_like(shocks)
    k = np.arange(block, dtype=np.float64)
    powers = phi**k
    inverse = phi**-k
    carry = start
    for lo in range(0, len(shocks), block):
        chunk = shocks[lo : lo + block]
        m = len(chunk)
        values = powers[:m] * (phi * carry + np.cumsum(chunk * inverse[:m]))
        out[lo : lo + m] = values
        carry = float(values[-1])
    return out


def synth_candles(spec: SynthSpec) -> CandleArrays:
    """Return ``spec.candles`` synthetic candles; the same spec always gives the same candles."""
    import numpy as np

    n = spec.candles
    step = spec.timeframe_ms
    rng = np.random.default_rng(spec.seed)
    ts = spec.start_ms + np.arange(n, dtype=np.int64) * step

    # volatility: two AR(1) log-volatility components and a daily cycle
    minutes = step / 60_000
    fast_phi = 0.5 ** (minutes / 120)
    slow_phi = 0.5 ** (minutes / 14_400)
    fast_sd, slow_sd = 0.45, 0.35
    fast = _ar1(rng.standard_normal(n) * fast_sd * np.sqrt(1 - fast_phi**2), fast_phi, rng.standard_normal() * fast_sd)
    slow = _ar1(rng.standard_normal(n) * slow_sd * np.sqrt(1 - slow_phi**2), slow_phi, rng.standard_normal() * slow_sd)
    log_vol = fast + slow - (fast_sd**2 + slow_sd**2)  # E[exp(2 * log_vol)] = 1
    hour = (ts % _DAY_MS) / 3_600_000
    daily = 1 + 0.35 * np.cos(2 * np.pi * (hour - 15) / 24)
    vol = spec.volatility * np.sqrt(step / _YEAR_MS) * np.exp(log_vol) * daily

    # returns: Student-t (4 degrees of freedom) scaled to unit variance
    shocks = rng.standard_t(4, n) / np.sqrt(2)
    returns = vol * shocks
    wick_up = np.abs(rng.standard_normal(n)) * 0.7
    wick_down = np.abs(rng.standard_normal(n)) * 0.7
    volume_noise = rng.standard_normal(n)

    # prices in whole ticks
    tick_num, tick_den = _ratio(spec.tick)
    tick = tick_num / tick_den
    start_ticks = int(spec.price / spec.tick)
    close_float = start_ticks * tick * np.exp(np.cumsum(returns))
    close = np.maximum(np.rint(close_float / tick).astype(np.int64), 1)
    open_ = np.empty(n, np.int64)
    open_[0] = start_ticks
    open_[1:] = close[:-1]
    body_top = np.maximum(open_, close)
    body_bottom = np.minimum(open_, close)
    high = np.maximum(np.ceil(body_top * tick * np.exp(vol * wick_up) / tick - 1e-9).astype(np.int64), body_top)
    low = np.minimum(
        np.floor(body_bottom * tick * np.exp(-vol * wick_down) / tick + 1e-9).astype(np.int64), body_bottom
    )
    low = np.maximum(low, 1)

    # volume in whole lots
    lot_num, lot_den = _ratio(spec.lot)
    lot = lot_num / lot_den
    mean_volume = spec.volume * minutes
    size = np.abs(shocks) / 0.8 + 0.5
    volume_float = mean_volume * daily * size * np.exp(0.6 * volume_noise - 0.18)
    volume = np.maximum(np.rint(volume_float / lot).astype(np.int64), 1)

    return CandleArrays(
        ts,
        _scaled(open_, spec.tick),
        _scaled(high, spec.tick),
        _scaled(low, spec.tick),
        _scaled(close, spec.tick),
        _scaled(volume, spec.lot),
        timeframe_ms=step,
    )
