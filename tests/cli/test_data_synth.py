"""``bastion data synth`` and ``bastion data list``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bastion.cli.main import main
from bastion.services.candle_files import read_candle_arrays
from bastion.services.candle_store import CandleStore


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("BASTION_HOME", str(home))
    return home


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, " ".join(err.split())


def test_synth_writes_the_same_file_for_a_seed_and_stores_it(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.parquet"
    code, out, err = _run(capsys, "data", "synth", "--days", "2", "--seed", "5", "--out", str(first))
    assert code == 0, err
    assert out.startswith(
        "BTC/USDT 1m: 2880 candles, 2024-01-01 00:00 to 2024-01-02 23:59 UTC, no gaps; synthetic, seed 5; "
        f"written to {first}"
    )
    _run(capsys, "data", "synth", "--days", "2", "--seed", "5", "--out", str(second))
    assert first.read_bytes() == second.read_bytes()
    assert first.read_text().splitlines()[0] == "timestamp_ms,open,high,low,close,volume"
    code, out, err = _run(
        capsys, "data", "synth", "--days", "2", "--seed", "5", "--out", str(other), "--store", "--pair", "ETH/USDT"
    )
    assert code == 0, err
    assert "synth: 2880 new, 0 updated, 0 unchanged" in out
    stored = CandleStore(home / "data").load("synth", "ETH/USDT", "1m")
    from_csv = read_candle_arrays(first)
    np.testing.assert_array_equal(stored.ts, from_csv.ts)
    np.testing.assert_array_equal(stored.close, from_csv.close)
    # the store and `data import` accept the parquet file: the same candles, nothing new
    code, out, err = _run(
        capsys, "data", "import", str(other), "--exchange", "synth", "--symbol", "ETH/USDT", "--timeframe", "1m"
    )
    assert code == 0, err
    assert out.strip().endswith("synth: 0 new, 0 updated, 2880 unchanged")


def test_list_shows_rows_span_and_gaps(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "data", "list")
    assert code == 0
    assert out.startswith("no candles stored in ")
    _run(capsys, "data", "synth", "--days", "1", "--seed", "1", "--store", "--timeframe", "5m")
    code, out, _ = _run(capsys, "data", "list")
    assert code == 0
    assert "synth" in out
    assert "│ BTC/USDT │ 5m" in out
    assert "2024-01-01 23:55" in out
    code, out, _ = _run(capsys, "data", "list", "--json")
    assert json.loads(out) == [
        {
            "exchange": "synth",
            "pair": "BTC/USDT",
            "timeframe": "5m",
            "path": str(home / "data" / "synth" / "BTC_USDT-5m.parquet"),
            "rows": 288,
            "first_ms": 1_704_067_200_000,
            "last_ms": 1_704_067_200_000 + 287 * 300_000,
            "first": "2024-01-01 00:00",
            "last": "2024-01-01 23:55",
            "gaps": 0,
            "missing": 0,
            "gap_ranges": [],
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "1", "--seed", "1"], "give --out FILE (.parquet or .csv), --store, or both"),
        (["--days", "1", "--seed", "1", "--out", "x.txt"], "--out x.txt: expected a .parquet or .csv file name"),
        (["--days", "1", "--seed", "1", "--store", "--price", "abc"], "--price 'abc' is not a number"),
        (["--days", "0", "--seed", "1", "--store"], "days must be at least 1"),
        (["--days", "1", "--seed", "1", "--store", "--pair", "btc-usdt"], "pair 'btc-usdt' is not valid"),
    ],
)
def test_bad_synth_options_are_one_line_and_exit_2(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = _run(capsys, "data", "synth", *args)
    assert code == 2
    assert message in err
    assert not (home / "data").exists()
