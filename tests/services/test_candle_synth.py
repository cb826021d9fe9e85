"""Synthetic candles: deterministic for a seed, consistent OHLC on the tick, realistic returns."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from bastion.errors import ValidationError
from bastion.services.candle_files import CandleArrays, read_candle_arrays, write_candle_arrays
from bastion.services.candle_synth import SynthSpec, synth_candles

MINUTE = 60_000


def _spec(**changes: object) -> SynthSpec:
    fields: dict[str, object] = {"timeframe_ms": MINUTE, "days": 30, "seed": 7}
    fields.update(changes)
    return SynthSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def month() -> CandleArrays:
    return synth_candles(_spec())


def _same(a: CandleArrays, b: CandleArrays) -> bool:
    return bool(np.array_equal(a.ts, b.ts)) and all(
        np.array_equal(x, y) for x, y in zip(a.columns(), b.columns(), strict=True)
    )


def test_the_same_seed_gives_the_same_candles_and_files(month: CandleArrays, tmp_path: Path) -> None:
    again = synth_candles(_spec())
    assert _same(month, again)
    assert not _same(month, synth_candles(_spec(seed=8)))
    for name in ("a.csv", "a.parquet"):
        write_candle_arrays(month, tmp_path / f"1-{name}")
        write_candle_arrays(again, tmp_path / f"2-{name}")
        assert (tmp_path / f"1-{name}").read_bytes() == (tmp_path / f"2-{name}").read_bytes()
        assert _same(read_candle_arrays(tmp_path / f"1-{name}"), month)


def test_candles_are_consistent_and_on_the_tick(month: CandleArrays) -> None:
    n = 30 * 1440
    assert len(month) == n
    assert month.ts[0] == 1_704_067_200_000
    assert np.all(np.diff(month.ts) == MINUTE)
    assert month.open[0] == 30000.0
    np.testing.assert_array_equal(month.open[1:], month.close[:-1])  # each candle opens at the last close
    assert np.all(month.low <= np.minimum(month.open, month.close))
    assert np.all(month.high >= np.maximum(month.open, month.close))
    assert np.all(month.low > 0)
    assert np.all(month.high > month.low)  # some range in every candle
    assert np.all(month.volume >= 0.001)
    for column, step in (
        (month.open, 100),
        (month.high, 100),
        (month.low, 100),
        (month.close, 100),
        (month.volume, 1000),
    ):
        units = np.rint(column * step)
        np.testing.assert_array_equal(units / step, column)  # exactly the float of a decimal on the tick / lot
    # the text of every value is a decimal with at most the tick's places
    assert all(abs(Decimal(repr(float(x))).as_tuple().exponent) <= 2 for x in month.close[:1000])  # type: ignore[arg-type]


def test_returns_have_fat_tails_and_volatility_clusters(month: CandleArrays) -> None:
    r = np.diff(np.log(month.close))
    z = (r - r.mean()) / r.std()
    kurtosis = float(np.mean(z**4))
    assert kurtosis > 6  # a normal distribution has 3
    a = np.abs(r) - np.abs(r).mean()
    lag = {k: float(np.mean(a[:-k] * a[k:]) / a.var()) for k in (1, 30)}
    assert lag[1] > 0.1  # large moves follow large moves
    assert lag[30] > 0.05
    signed = float(np.mean((r[:-1] - r.mean()) * (r[1:] - r.mean())) / r.var())
    assert abs(signed) < 0.05  # but their direction is not predictable
    annual = float(r.std() * np.sqrt(365 * 1440))
    assert 0.3 < annual < 1.2  # near the asked 60 %
    assert np.corrcoef(np.abs(r), month.volume[1:])[0, 1] > 0.2  # volume rises with the move


def test_other_tick_price_and_timeframe(tmp_path: Path) -> None:
    candles = synth_candles(_spec(timeframe_ms=5 * MINUTE, days=3, price=Decimal("0.0714"), tick=Decimal("0.000001")))
    assert len(candles) == 3 * 288
    assert np.all(np.diff(candles.ts) == 5 * MINUTE)
    np.testing.assert_array_equal(np.rint(candles.close * 1_000_000) / 1_000_000, candles.close)
    assert candles.open[0] == 0.0714


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"days": 0}, "days must be at least 1"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"tick": Decimal(0)}, "tick must be a positive number"),
        ({"price": Decimal("0.5")}, "less than 100 ticks"),
        ({"timeframe_ms": 7 * MINUTE}, "does not divide a day"),
        ({"volatility": 0.0}, "volatility must be in"),
    ],
)
def test_bad_specs_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _spec(**changes)
