"""The columnar candle reader: every format to the same float64 arrays; bad rows named like ``data import``."""

from __future__ import annotations

import csv
import gzip
import json
from decimal import Decimal
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import feather

from bastion.errors import ValidationError
from bastion.services.candle_files import (
    CandleArrays,
    RowProblems,
    missing_ranges,
    read_candle_arrays,
    read_raw_candles,
    write_candle_arrays,
)

HEADER = "timestamp_ms,open,high,low,close,volume"
STEP = 300_000


def bundled(name: str = "ETH_BTC-5m.csv") -> list[list[str]]:
    text = resources.files("bastion._data").joinpath(name).read_text()
    return list(csv.reader(text.splitlines()))[1:]


def _number(text: str) -> float:
    return float(text) if text else float("nan")


def write_csv(path: Path, rows: list[list[str]], *, blank_line_after: int | None = None) -> Path:
    lines = [HEADER, *(",".join(r) for r in rows)]
    if blank_line_after is not None:
        lines.insert(blank_line_after + 1, "")
    path.write_text("\n".join(lines) + "\n")
    return path


def write_feather(path: Path, rows: list[list[str]]) -> Path:
    columns = {"date": pa.array([int(r[0]) * 1_000_000 for r in rows], pa.timestamp("ns", tz="UTC"))}
    for index, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        columns[name] = pa.array([_number(r[index]) for r in rows], pa.float64())
    feather.write_feather(pa.table(columns), str(path))
    return path


def write_freqtrade_parquet(path: Path, rows: list[list[str]]) -> Path:
    columns = {"date": pa.array([int(r[0]) for r in rows], pa.timestamp("ms", tz="UTC"))}
    for index, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        columns[name] = pa.array([_number(r[index]) for r in rows], pa.float64())
    pq.write_table(pa.table(columns), str(path))
    return path


def write_json(path: Path, rows: list[list[str]]) -> Path:
    text = json.dumps([[int(r[0]), *(_number(v) if v else None for v in r[1:])] for r in rows])
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _assert_same(a: CandleArrays, b: CandleArrays) -> None:
    assert a.ts.dtype == np.int64
    assert a.open.dtype == np.float64
    np.testing.assert_array_equal(a.ts, b.ts)
    for left, right in zip(a.columns(), b.columns(), strict=True):
        np.testing.assert_array_equal(left, right)  # NaN == NaN here


def test_every_format_gives_the_same_arrays_as_the_exact_decimal_reader(tmp_path: Path) -> None:
    rows = bundled()
    rows[7][5] = ""  # one candle without volume
    expected_rows = read_raw_candles(write_csv(tmp_path / "exact.csv", rows), RowProblems())
    expected = np.array([[float(v) if v is not None else np.nan for v in r.values] for r in expected_rows])
    files = [
        write_csv(tmp_path / "a.csv", rows),
        write_feather(tmp_path / "a.feather", rows),
        write_json(tmp_path / "a.json", rows),
        write_json(tmp_path / "a.json.gz", rows),
        write_freqtrade_parquet(tmp_path / "freqtrade.parquet", rows),
    ]
    loaded = [read_candle_arrays(path) for path in files]
    ours = tmp_path / "ours.parquet"
    write_candle_arrays(loaded[0], ours)
    loaded.append(read_candle_arrays(ours))
    for candles in loaded:
        assert len(candles) == 5760
        assert candles.timeframe_ms == STEP
        np.testing.assert_array_equal(candles.ts, [r.ts_ms for r in expected_rows])
        np.testing.assert_array_equal(np.column_stack(candles.columns()), expected)
        assert np.isnan(candles.volume[7])
        _assert_same(candles, loaded[0])


def test_written_csv_reads_back_as_the_same_text(tmp_path: Path) -> None:
    rows = bundled("BTC_USDT-5m.csv")[:500]
    rows[3][5] = ""
    candles = read_candle_arrays(write_csv(tmp_path / "in.csv", rows))
    out = tmp_path / "out.csv"
    write_candle_arrays(candles, out)
    # the same numbers as decimals; floats print their shortest form (16726 for 16726.0)
    written = list(csv.reader(out.read_text().splitlines()))
    assert ",".join(written[0]) == HEADER
    for got, want in zip(written[1:], rows, strict=True):
        assert got[0] == want[0]
        assert [Decimal(v) if v else None for v in got[1:]] == [Decimal(v) if v else None for v in want[1:]]


def test_unsorted_rows_are_sorted(tmp_path: Path) -> None:
    rows = bundled()[:50]
    candles = read_candle_arrays(write_csv(tmp_path / "a.csv", list(reversed(rows))))
    assert list(candles.ts) == [int(r[0]) for r in rows]
    assert candles.close[0] == float(rows[0][4])


@pytest.mark.parametrize("blank", [False, True], ids=["fast", "fallback"])
def test_a_bad_row_is_named_by_its_line_in_both_paths(tmp_path: Path, blank: bool) -> None:
    rows = bundled()[:100]
    rows[41][2] = "0.0001"  # high below open and close
    rows[60][3] = "0.5"  # low above open and close
    rows[70][5] = "-1"  # negative volume
    path = write_csv(tmp_path / "a.csv", rows, blank_line_after=90 if blank else None)
    with pytest.raises(ValidationError) as caught:
        read_candle_arrays(path)
    message = str(caught.value)
    assert message.startswith("a.csv: 3 bad rows, nothing imported: line 43: high 0.0001 is below max(open, close) ")
    assert "; line 62: low 0.5 is above min(open, close) " in message
    assert "; line 72: volume -1 is negative" in message


def test_duplicate_off_grid_and_second_timestamps_are_refused(tmp_path: Path) -> None:
    rows = bundled()[:20]
    rows[5][0] = rows[4][0]  # repeats line 6
    rows[9][0] = str(int(rows[9][0]) + 60_000)  # one minute off the 5m grid
    rows[15][0] = str(int(rows[15][0]) // 1000)  # seconds
    with pytest.raises(ValidationError) as caught:
        read_candle_arrays(write_csv(tmp_path / "a.csv", rows), timeframe_ms=STEP, timeframe="5m")
    message = str(caught.value)
    assert "line 17: timestamp 1515564600 looks like seconds" in message
    assert "line 7: candle time 2018-01-10 05:15 (1515561300000) repeats line 6" in message
    assert "line 11: 2018-01-10 05:41 is 6 min after line 10, not a multiple of the timeframe 5m" in message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("timestamp,open,high,low,close,volume\n", "CSV header is"),
        (f"{HEADER}\n1515560100000,1,2,0.5,x,3\n", "line 2: 'x' is not a number"),
        (f"{HEADER}\n1515560100000,1,2,,1,3\n", "line 2: open, high, low and close are required"),
        (f"{HEADER}\n1515560100000,1,inf,0.5,1,3\n", "line 2: 'inf' is not a finite number"),
        (f"{HEADER}\n", "no candles in the file"),
    ],
)
def test_unreadable_csv_content_is_explained(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "a.csv"
    path.write_text(content)
    with pytest.raises(ValidationError, match=r"a\.csv") as caught:
        read_candle_arrays(path)
    assert message in str(caught.value)


def test_a_parquet_without_the_columns_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"timestamp_ms": pa.array([1], pa.int64()), "open": [1.0]}), str(path))
    with pytest.raises(ValidationError, match=r"lack \['high', 'low', 'close', 'volume'\]"):
        read_candle_arrays(path)
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValidationError, match=r"unknown candle file type; expected \.csv, \.parquet"):
        read_candle_arrays(tmp_path / "a.txt")


def test_between_selects_by_open_time(tmp_path: Path) -> None:
    candles = read_candle_arrays(write_csv(tmp_path / "a.csv", bundled()[:10]))
    first = int(candles.ts[0])
    part = candles.between(first + 2 * STEP, first + 5 * STEP)
    assert list(part.ts) == [first + k * STEP for k in (2, 3, 4)]
    assert len(candles.between(first + 100 * STEP, None)) == 0


def test_missing_ranges_inside_before_and_after() -> None:
    ts = np.array([10, 11, 12, 15, 16, 20], np.int64) * STEP
    assert missing_ranges(ts, STEP) == [(13 * STEP, 14 * STEP), (17 * STEP, 19 * STEP)]
    assert missing_ranges(ts, STEP, start_ms=7 * STEP + 5, end_ms=23 * STEP) == [
        (8 * STEP, 9 * STEP),
        (13 * STEP, 14 * STEP),
        (17 * STEP, 19 * STEP),
        (21 * STEP, 22 * STEP),
    ]
    assert missing_ranges(ts, STEP, start_ms=10 * STEP, end_ms=21 * STEP) == missing_ranges(ts, STEP)
    assert missing_ranges(np.empty(0, np.int64), STEP, start_ms=0, end_ms=3 * STEP) == [(0, 2 * STEP)]


@pytest.mark.parametrize("name", ["BTC_USDT-5m.csv", "ETH_BTC-5m.csv"])
def test_price_increment_and_decimals_match_the_simulators_decimal_reading(name: str) -> None:
    from bastion.exchanges.simulator.candles import load_candles_csv

    path = Path(str(resources.files("bastion._data").joinpath(name)))
    exact = load_candles_csv(path)
    candles = read_candle_arrays(path)
    assert candles.price_increment() == exact.price_increment
    for index in (0, 1, 777, len(candles) - 1):
        c = exact[index]
        assert candles.decimals(index) == (c.ts_ms, c.open, c.high, c.low, c.close, c.volume)


def test_price_increment_of_whole_and_fine_prices() -> None:
    def arrays(*prices: float) -> CandleArrays:
        column = np.array(prices)
        return CandleArrays(np.arange(len(prices), dtype=np.int64), column, column, column, column, column)

    assert arrays(16726.0, 100.0).price_increment() == Decimal(1)
    assert arrays(0.0714, 0.07).price_increment() == Decimal("0.0001")
    assert arrays(0.00000123, 1.5).price_increment() == Decimal("0.00000001")
    assert arrays(1.0000000000001).price_increment() == Decimal("1E-13")  # past the vectorised search
