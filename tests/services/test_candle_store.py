"""The parquet candle store: one file per (exchange, pair, timeframe), merged without duplicates, sorted."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from bastion.errors import ValidationError
from bastion.services.candle_files import CandleArrays, read_candle_arrays
from bastion.services.candle_store import CandleStore, MergeCounts, load_candles

STEP = 300_000


@pytest.fixture
def btc() -> CandleArrays:
    path = Path(str(resources.files("bastion._data").joinpath("BTC_USDT-5m.csv")))
    return read_candle_arrays(path)


def test_merge_adds_replaces_and_keeps_one_row_per_open_time(tmp_path: Path, btc: CandleArrays) -> None:
    store = CandleStore(tmp_path / "data")
    assert store.merge("binance", "BTC/USDT", "5m", btc.take(slice(0, 600))) == MergeCounts(600, 0, 0)
    later = btc.take(slice(400, 1000))
    corrected = CandleArrays(
        later.ts, later.open, later.high + 1.0, later.low, later.close, later.volume, timeframe_ms=STEP
    )
    # 400..599 overlap: 200 replaced (high changed), 400 new
    assert store.merge("binance", "BTC/USDT", "5m", corrected) == MergeCounts(400, 200, 0)
    assert store.merge("binance", "BTC/USDT", "5m", corrected) == MergeCounts(0, 0, 600)
    loaded = store.load("binance", "BTC/USDT", "5m")
    assert len(loaded) == 1000
    assert loaded.timeframe_ms == STEP
    np.testing.assert_array_equal(loaded.ts, btc.ts[:1000])
    np.testing.assert_array_equal(loaded.high[:400], btc.high[:400])
    np.testing.assert_array_equal(loaded.high[400:], btc.high[400:1000] + 1.0)
    np.testing.assert_array_equal(loaded.close, btc.close[:1000])
    assert store.path("binance", "BTC/USDT", "5m") == tmp_path / "data" / "binance" / "BTC_USDT-5m.parquet"


def test_merge_of_older_candles_keeps_the_file_sorted(tmp_path: Path, btc: CandleArrays) -> None:
    store = CandleStore(tmp_path)
    store.merge("simulator", "BTC/USDT", "5m", btc.take(slice(500, 800)))
    store.merge("simulator", "BTC/USDT", "5m", btc.take(slice(0, 100)))
    loaded = store.load("simulator", "BTC/USDT", "5m")
    np.testing.assert_array_equal(loaded.ts, np.concatenate([btc.ts[:100], btc.ts[500:800]]))
    assert store.datasets()[0].gaps == ((int(btc.ts[100]), int(btc.ts[499])),)
    assert store.datasets()[0].missing == 400


def test_load_selects_a_window_and_names_what_the_store_holds(tmp_path: Path, btc: CandleArrays) -> None:
    store = CandleStore(tmp_path)
    store.merge("simulator", "BTC/USDT", "5m", btc)
    part = store.load("simulator", "BTC/USDT", "5m", start_ms=int(btc.ts[10]), end_ms=int(btc.ts[20]))
    np.testing.assert_array_equal(part.ts, btc.ts[10:20])
    with pytest.raises(
        ValidationError, match=r"no stored candles for simulator ETH/BTC 5m .* holds: simulator BTC/USDT 5m"
    ):
        store.load("simulator", "ETH/BTC", "5m")


def test_a_candle_off_the_stored_grid_is_refused_and_nothing_changes(tmp_path: Path, btc: CandleArrays) -> None:
    store = CandleStore(tmp_path)
    store.merge("simulator", "BTC/USDT", "5m", btc.take(slice(0, 10)))
    before = store.path("simulator", "BTC/USDT", "5m").read_bytes()
    shifted = btc.take(slice(10, 20))
    shifted = CandleArrays(shifted.ts + 60_000, *shifted.columns(), timeframe_ms=STEP)
    with pytest.raises(ValidationError, match="off the 5m grid of the stored candles"):
        store.merge("simulator", "BTC/USDT", "5m", shifted)
    assert store.path("simulator", "BTC/USDT", "5m").read_bytes() == before


def test_candles_with_bad_prices_are_refused_and_nothing_changes(tmp_path: Path, btc: CandleArrays) -> None:
    store = CandleStore(tmp_path)
    store.merge("simulator", "BTC/USDT", "5m", btc.take(slice(0, 10)))
    before = store.path("simulator", "BTC/USDT", "5m").read_bytes()
    later = btc.take(slice(10, 20))
    high = later.high.copy()
    high[3] = later.low[3] - 1  # high below low
    close = later.close.copy()
    close[5] = np.nan
    bad = CandleArrays(later.ts, later.open, high, later.low, close, later.volume, timeframe_ms=STEP)
    with pytest.raises(
        ValidationError, match=r"2 candle\(s\) not stored, nothing changed; the first at 2023-01-02 17:50"
    ):
        store.merge("simulator", "BTC/USDT", "5m", bad)
    assert store.path("simulator", "BTC/USDT", "5m").read_bytes() == before


def test_two_processes_merging_one_dataset_lose_nothing(tmp_path: Path, btc: CandleArrays) -> None:
    """Each merge reads, merges and replaces the file under a lock, so concurrent writers do not drop rows."""
    import subprocess

    store = CandleStore(tmp_path)
    halves = {0: (0, 5000), 1: (5000, 10999)}
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from importlib import resources\n"
        "from bastion.services.candle_files import read_candle_arrays\n"
        "from bastion.services.candle_store import CandleStore\n"
        "c = read_candle_arrays(Path(str(resources.files('bastion._data').joinpath('BTC_USDT-5m.csv'))))\n"
        "lo, hi = int(sys.argv[1]), int(sys.argv[2])\n"
        f"store = CandleStore(Path({str(tmp_path)!r}))\n"
        "for start in range(lo, hi, 500):\n"
        "    store.merge('simulator', 'BTC/USDT', '5m', c.take(slice(start, min(start + 500, hi))))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(lo), str(hi)]) for lo, hi in halves.values()]
    assert [p.wait(120) for p in procs] == [0, 0]
    np.testing.assert_array_equal(store.load("simulator", "BTC/USDT", "5m").ts, btc.ts)


def test_datasets_list_every_series(tmp_path: Path, btc: CandleArrays) -> None:
    store = CandleStore(tmp_path)
    assert store.datasets() == []
    store.merge("simulator", "BTC/USDT", "5m", btc)
    hourly = btc.take(slice(0, None, 12))
    store.merge("binance", "BTC/USDT:USDT", "1h", CandleArrays(hourly.ts, *hourly.columns(), timeframe_ms=3_600_000))
    listed = [(d.exchange, d.symbol, d.timeframe, d.rows, d.first_ms, len(d.gaps)) for d in store.datasets()]
    assert listed == [
        ("binance", "BTC/USDT:USDT", "1h", len(hourly), int(btc.ts[0]), 0),
        ("simulator", "BTC/USDT", "5m", 10999, int(btc.ts[0]), 0),
    ]
    assert store.datasets()[1].as_json()["last"] == "2023-02-09 21:15"


def test_a_store_file_loads_by_path_for_a_backtest(tmp_path: Path, btc: CandleArrays) -> None:
    store = CandleStore(tmp_path)
    store.merge("simulator", "BTC/USDT", "5m", btc)
    by_path = load_candles(store.path("simulator", "BTC/USDT", "5m"))
    np.testing.assert_array_equal(by_path.ts, btc.ts)
    np.testing.assert_array_equal(by_path.close, btc.close)
    assert by_path.timeframe_ms == STEP


def test_the_store_imports_neither_sqlalchemy_nor_ccxt(tmp_path: Path, btc: CandleArrays) -> None:
    """A backtest loads candles through the store; it must stay light (issue 10: start-up ≤ 1 s)."""
    import subprocess

    store = CandleStore(tmp_path)
    store.merge("simulator", "BTC/USDT", "5m", btc)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from bastion.services.candle_store import CandleStore, load_candles\n"
        f"store = CandleStore(Path({str(tmp_path)!r}))\n"
        "store.load('simulator', 'BTC/USDT', '5m')\n"
        "load_candles(store.path('simulator', 'BTC/USDT', '5m'))\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'ccxt', 'fastapi', 'starlette'))\n"
        "print(heavy)\n"
    )
    answer = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert answer.stdout.strip() == "[]"


def test_a_damaged_store_file_is_a_clear_error(tmp_path: Path, btc: CandleArrays) -> None:
    store = CandleStore(tmp_path)
    store.merge("simulator", "BTC/USDT", "5m", btc.take(slice(0, 10)))
    path = store.path("simulator", "BTC/USDT", "5m")
    path.write_bytes(path.read_bytes()[:100])
    for call in (store.datasets, lambda: store.load("simulator", "BTC/USDT", "5m")):
        with pytest.raises(ValidationError, match=r"not readable as a candle store file .* move it away"):
            call()
