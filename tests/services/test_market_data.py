"""Reading, checking and storing recorded candles."""

from __future__ import annotations

import csv
import gzip
import json
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import feather
from sqlalchemy import func, select

from bastion.domain import Candle
from bastion.errors import ValidationError
from bastion.services.market_data import (
    CandleSeries,
    import_candles,
    infer_series,
    read_candle_file,
    summary,
    write_candles_csv,
)
from bastion.storage import ColumnValueError, create_engine_for
from bastion.storage.models import CandleRow

HEADER = "timestamp_ms,open,high,low,close,volume"


def bundled_rows() -> list[list[str]]:
    """Return the rows of the ETH/BTC 5m CSV shipped in ``bastion._data``."""
    text = resources.files("bastion._data").joinpath("ETH_BTC-5m.csv").read_text()
    rows = list(csv.reader(text.splitlines()))
    assert ",".join(rows[0]) == HEADER
    return rows[1:]


def _number(text: str) -> float:
    return float(text) if text else float("nan")


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n")
    return path


def write_feather(path: Path, rows: list[list[str]]) -> Path:
    """Write rows the way freqtrade does: date as ns UTC timestamps, OHLCV as float64."""
    columns = {"date": pa.array([int(r[0]) * 1_000_000 for r in rows], pa.timestamp("ns", tz="UTC"))}
    for index, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        columns[name] = pa.array([_number(r[index]) for r in rows], pa.float64())
    feather.write_feather(pa.table(columns), str(path))
    return path


def write_json(path: Path, rows: list[list[str]]) -> Path:
    """Write rows as freqtrade's JSON: [[ts_ms, o, h, l, c, v], ...], gzipped for .gz."""
    text = json.dumps([[int(r[0]), *(_number(v) for v in r[1:])] for r in rows])
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _tuples(series: CandleSeries) -> list[tuple[object, ...]]:
    return [
        (c.ts_ms, *(None if v is None else v.as_tuple() for v in (c.open, c.high, c.low, c.close, c.volume)))
        for c in series.candles
    ]


def test_the_same_candles_give_identical_decimals_in_every_format(tmp_path: Path) -> None:
    rows = bundled_rows()
    rows[7][5] = ""  # one candle without volume (NaN in feather/JSON)
    files = [
        write_csv(tmp_path / "ETH_BTC-5m.csv", rows),
        write_feather(tmp_path / "ETH_BTC-5m.feather", rows),
        write_json(tmp_path / "ETH_BTC-5m.json", rows),
        write_json(tmp_path / "ETH_BTC-5m.json.gz", rows),
    ]
    series = [read_candle_file(path) for path in files]
    assert {(s.symbol, s.timeframe, len(s.candles)) for s in series} == {("ETH/BTC", "5m", len(rows))}
    reference = _tuples(series[0])
    for other in series[1:]:
        assert _tuples(other) == reference
    assert series[0].candles[7].volume is None
    assert series[0].first.open == Decimal("0.0984")


def test_values_keep_their_decimal_digits_and_lose_float_artefacts(tmp_path: Path) -> None:
    rows = [["1672677900000", "16727.3", "16728.8", "16726", "16726.1", "0.1"]]
    from_feather = read_candle_file(write_feather(tmp_path / "BTC_USDT-5m.feather", rows)).first
    from_csv = read_candle_file(write_csv(tmp_path / "BTC_USDT-5m.csv", rows)).first
    assert from_feather == from_csv
    assert from_feather.low.as_tuple() == Decimal("16726").as_tuple()  # 16726.0 in the float
    assert str(from_feather.volume) == "0.1"  # repr(0.1), not 0.1000000000000000055511151231257827


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ETH_BTC-5m.feather", ("ETH/BTC", "5m")),
        ("XRP_USDT_USDT-1h-futures.json.gz", ("XRP/USDT:USDT", "1h")),
        ("UNITTEST_BTC-1m.json", ("UNITTEST/BTC", "1m")),
        ("candles.csv", None),
        ("XRP_USDT_USDT-8h-funding_rate.feather", None),
    ],
)
def test_symbol_and_timeframe_come_from_freqtrade_file_names(name: str, expected: object) -> None:
    assert infer_series(Path(name)) == expected


def test_a_file_name_without_market_needs_symbol_and_timeframe(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "candles.csv", bundled_rows()[:3])
    with pytest.raises(ValidationError, match="give --symbol and --timeframe"):
        read_candle_file(path)
    series = read_candle_file(path, symbol="ETH/BTC", timeframe="5m")
    assert summary(series) == "ETH/BTC 5m: 3 candles, 2018-01-10 04:55 to 2018-01-10 05:05 UTC, no gaps"


@pytest.mark.parametrize(
    ("symbol", "timeframe", "message"),
    [("btcusdt", "5m", "expected BASE/QUOTE"), ("BTC/USDT", "5x", "timeframe '5x' is not valid")],
)
def test_bad_symbol_or_timeframe_is_refused(tmp_path: Path, symbol: str, timeframe: str, message: str) -> None:
    path = write_csv(tmp_path / "candles.csv", bundled_rows()[:3])
    with pytest.raises(ValidationError, match=message):
        read_candle_file(path, symbol=symbol, timeframe=timeframe)


def test_bad_rows_are_reported_with_their_line_numbers(tmp_path: Path) -> None:
    rows = bundled_rows()[:10]
    rows[2][2] = "0.01"  # line 4: high below open and close
    rows[4][3] = "0.2"  # line 6: low above open and close
    rows[5][5] = "-1"  # line 7: negative volume
    rows[6][1] = "abc"  # line 8: not a number
    rows[8][0] = rows[7][0]  # line 10: same time as line 9
    with pytest.raises(ValidationError) as info:
        read_candle_file(write_csv(tmp_path / "ETH_BTC-5m.csv", rows))
    message = str(info.value)
    assert message.startswith("ETH_BTC-5m.csv: 5 bad rows, nothing imported: line 4: ")
    for expected in (
        "line 4: high 0.01 is below max(open, close)",
        "line 6: low 0.2 is above min(open, close)",
        "line 7: volume -1 is negative",
        "line 8: 'abc' is not a number",
        "line 10: candle time 2018-01-10 05:30 (1515562200000) repeats line 9",
    ):
        assert expected in message


def test_bad_rows_in_json_and_feather_are_reported_by_row_number(tmp_path: Path) -> None:
    rows = bundled_rows()[:5]
    rows[3][2] = "0.01"
    for path in (write_json(tmp_path / "ETH_BTC-5m.json", rows), write_feather(tmp_path / "ETH_BTC-5m.feather", rows)):
        with pytest.raises(ValidationError, match=r"row 4: high 0\.01 is below"):
            read_candle_file(path)


def test_unsorted_rows_are_sorted_and_gaps_are_counted(tmp_path: Path) -> None:
    rows = bundled_rows()[:20]
    kept = rows[:5] + rows[8:]  # three candles missing after the fifth
    series = read_candle_file(write_csv(tmp_path / "ETH_BTC-5m.csv", list(reversed(kept))))
    assert [c.ts_ms for c in series.candles] == [int(r[0]) for r in kept]
    assert (series.gaps, series.missing) == (1, 3)
    assert summary(series).endswith("1 gap (3 missing candles)")


def test_a_wrong_timeframe_is_noticed(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="line 3: 2018-01-10 05:00 is 5 min after line 2, not a multiple of"):
        read_candle_file(write_csv(tmp_path / "ETH_BTC-1h.csv", bundled_rows()[:3]))


def test_timestamps_in_seconds_are_refused(tmp_path: Path) -> None:
    rows = [[str(int(r[0]) // 1000), *r[1:]] for r in bundled_rows()[:2]]
    with pytest.raises(ValidationError, match="looks like seconds"):
        read_candle_file(write_csv(tmp_path / "ETH_BTC-5m.csv", rows))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("ETH_BTC-5m.csv", "time,o,h,l,c,v\n", "CSV header is 'time,o,h,l,c,v'; expected 'timestamp_ms,"),
        ("ETH_BTC-5m.csv", HEADER + "\n", "no candles"),
        ("ETH_BTC-5m.json", "{not json", "not readable as JSON"),
        ("ETH_BTC-5m.feather", "not arrow", "not readable as a feather file"),
        ("ETH_BTC-5m.parquet", "", "unknown candle file type"),
    ],
)
def test_unreadable_files_are_one_clear_error(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ValidationError, match=message):
        read_candle_file(path)


def test_normalised_csv_reads_back_identically(tmp_path: Path) -> None:
    rows = bundled_rows()[:50]
    rows[3][5] = ""
    series = read_candle_file(write_feather(tmp_path / "ETH_BTC-5m.feather", rows))
    out = tmp_path / "out" / "ETH_BTC-5m.csv"
    out.parent.mkdir()
    write_candles_csv(series, out)
    assert out.read_text().splitlines()[0] == HEADER
    assert _tuples(read_candle_file(out)) == _tuples(series)
    assert [p.name for p in out.parent.iterdir()] == ["ETH_BTC-5m.csv"]  # no temporary file left


def test_import_writes_all_candles_or_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bastion.db'}"
    good = read_candle_file(write_csv(tmp_path / "ETH_BTC-5m.csv", bundled_rows()[:1200]))
    candles = list(good.candles)
    broken = Candle(candles[-1].ts_ms, candles[-1].open, candles[-1].high, candles[-1].low, candles[-1].close, 1.5)  # type: ignore[arg-type]
    series = CandleSeries(symbol="ETH/BTC", timeframe="5m", candles=(*candles[:-1], broken), gaps=0, missing=0)
    with pytest.raises(ColumnValueError):
        import_candles(series, database=url)  # fails in the third batch of 500
    engine = create_engine_for(url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CandleRow)) == 0
    engine.dispose()
    assert import_candles(good, database=url).new == 1200
