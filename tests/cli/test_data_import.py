"""``bastion data import``: one summary line on success, one error line and exit 2 on bad input.

By default the candles go into the candle store (``$BASTION_HOME/data``, shared with ``data
download`` and backtests); ``--to-db`` writes the database's candles table, ``--out`` a CSV.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pyarrow as pa
import pytest
from pyarrow import feather
from sqlalchemy import select

from bastion.cli.main import main
from bastion.services.candle_store import CandleStore
from bastion.storage import CandleRepository, create_engine_for, session_factory
from bastion.storage.models import CandleRow

HEADER = "timestamp_ms,open,high,low,close,volume"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point Bastion at an empty home with the default SQLite database."""
    home = tmp_path / "home"
    monkeypatch.setenv("BASTION_HOME", str(home))
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    return home


def _rows(count: int) -> list[list[str]]:
    text = resources.files("bastion._data").joinpath("ETH_BTC-5m.csv").read_text()
    return list(csv.reader(text.splitlines()))[1 : count + 1]


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join([HEADER, *(",".join(r) for r in rows)]) + "\n")
    return path


def _in_store(home: Path, symbol: str = "ETH/BTC") -> list[tuple[int, Decimal]]:
    candles = CandleStore(home / "data").load("simulator", symbol, "5m")
    return [(int(t), Decimal(repr(float(c)))) for t, c in zip(candles.ts, candles.close, strict=True)]


def _stored(home: Path, symbol: str = "ETH/BTC") -> list[tuple[int, Decimal]]:
    engine = create_engine_for(f"sqlite:///{home / 'bastion.db'}")
    try:
        with session_factory(engine)() as session:
            return [(c.ts_ms, c.close) for c in CandleRepository(session).series("simulator", symbol, "5m")]
    finally:
        engine.dispose()


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(["data", "import", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), " ".join(err.split())  # rich wraps long lines at 80 columns


def test_import_into_the_store_is_idempotent(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_csv(tmp_path / "ETH_BTC-5m.csv", _rows(300))
    code, out, _ = _run(capsys, str(path))
    assert code == 0
    assert out == (
        "ETH/BTC 5m: 300 candles, 2018-01-10 04:55 to 2018-01-11 05:50 UTC, no gaps; "
        "simulator: 300 new, 0 updated, 0 unchanged"
    )
    code, out, _ = _run(capsys, str(path))
    assert code == 0
    assert out.endswith("simulator: 0 new, 0 updated, 300 unchanged")
    stored = _in_store(home)
    assert len(stored) == 300
    assert stored[0] == (1515560100000, Decimal("0.0994766"))
    assert not (home / "bastion.db").exists()


def test_import_merges_an_overlapping_file_into_the_store(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _rows(300)
    _run(capsys, str(_write_csv(tmp_path / "ETH_BTC-5m.csv", rows[:200])))
    changed = [list(r) for r in rows[150:300]]
    changed[0][4] = changed[0][3]  # close = low: a corrected candle replaces the stored one
    code, out, _ = _run(capsys, str(_write_csv(tmp_path / "ETH_BTC-5m.csv", changed)))
    assert code == 0
    assert out.endswith("simulator: 100 new, 1 updated, 49 unchanged")
    stored = _in_store(home)
    assert [t for t, _ in stored] == [int(r[0]) for r in rows]
    assert stored[150][1] == Decimal(changed[0][3])


def test_import_into_the_database_is_idempotent(home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write_csv(tmp_path / "ETH_BTC-5m.csv", _rows(300))
    code, out, _ = _run(capsys, str(path), "--to-db")
    assert code == 0
    assert out == (
        "ETH/BTC 5m: 300 candles, 2018-01-10 04:55 to 2018-01-11 05:50 UTC, no gaps; "
        "simulator: 300 new, 0 updated, 0 unchanged"
    )
    code, out, _ = _run(capsys, str(path), "--to-db")
    assert code == 0
    assert out.endswith("simulator: 0 new, 0 updated, 300 unchanged")
    stored = _stored(home)
    assert len(stored) == 300
    assert stored[0] == (1515560100000, Decimal("0.0994766"))
    assert not (home / "data").exists()


def test_import_of_a_freqtrade_feather_file_with_explicit_symbol(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _rows(12)
    table = pa.table(
        {
            "date": pa.array([int(r[0]) * 1_000_000 for r in rows], pa.timestamp("ns", tz="UTC")),
            **{
                name: pa.array([float(r[i]) for r in rows], pa.float64())
                for i, name in enumerate(("open", "high", "low", "close", "volume"), start=1)
            },
        }
    )
    path = tmp_path / "recorded.feather"
    feather.write_feather(table, str(path))
    code, out, _ = _run(capsys, str(path), "--symbol", "BTC/USDT", "--timeframe", "5m")
    assert code == 0
    assert out.startswith("BTC/USDT 5m: 12 candles")
    assert [close for _, close in _in_store(home, "BTC/USDT")] == [Decimal(r[4]) for r in rows]
    code, out, _ = _run(capsys, str(path), "--symbol", "BTC/USDT", "--timeframe", "5m", "--to-db")
    assert code == 0
    assert [close for _, close in _stored(home, "BTC/USDT")] == [Decimal(r[4]) for r in rows]


def test_out_writes_a_normalised_csv_and_not_the_database(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _rows(5)
    out_file = tmp_path / "normalised.csv"
    code, out, _ = _run(capsys, str(_write_csv(tmp_path / "ETH_BTC-5m.csv", rows)), "--out", str(out_file))
    assert code == 0
    assert out.endswith(f"; written to {out_file}")
    assert out_file.read_text().splitlines() == [HEADER, *(",".join(r) for r in rows)]
    assert not (home / "bastion.db").exists()


@pytest.mark.parametrize("target", [[], ["--to-db"]], ids=["store", "database"])
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_written(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], target: list[str]
) -> None:
    rows = _rows(100)
    rows[41][2] = "0.0001"  # line 43: high below open and close
    code, out, err = _run(capsys, str(_write_csv(tmp_path / "ETH_BTC-5m.csv", rows)), *target)
    assert code == 2
    assert out == ""
    assert err.startswith(
        "error: ETH_BTC-5m.csv: 1 bad row, nothing imported: line 43: high 0.0001 is below max(open, close) 0.09"
    )
    assert "Traceback" not in err
    assert not (home / "data").exists() or not any((home / "data").rglob("*.parquet"))
    if (home / "bastion.db").exists():
        engine = create_engine_for(f"sqlite:///{home / 'bastion.db'}")
        with engine.connect() as conn:
            assert conn.execute(select(CandleRow.ts_ms)).first() is None
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "missing.csv does not exist"),
        (["{csv}", "--to-db", "--out", "x.csv"], "--to-db and --out x.csv were both given; expected one of them"),
        (["{csv}", "--exchange", "Binance"], "exchange id 'Binance' is not valid"),
        (["{csv}", "--exchange", "Binance", "--to-db"], "exchange id 'Binance' is not valid"),
        (["{csv}", "--symbol", "../ETC"], "pair '../ETC' is not valid"),
        (["{plain}"], "cannot tell the market and timeframe from the file name 'candles.csv'"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    csv_path = _write_csv(tmp_path / "ETH_BTC-5m.csv", _rows(3))
    plain = _write_csv(tmp_path / "candles.csv", _rows(3))
    args = [a.format(csv=csv_path, plain=plain) for a in args]
    code, _, err = _run(capsys, *args)
    assert code == 2
    assert message in err
