"""``bastion data download`` against the real simulator process (ccxt ``fetch_ohlcv`` over loopback).

The simulator replays the bundled BTC/USDT 5m candles with seven candles cut out (a hole on the
"exchange"); its replay is moved to the last candle so that all of them are public.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from bastion.cli.main import main
from bastion.exchanges.ccxt.factory import create_client
from bastion.services.candle_download import DownloadRequest, download_candles
from bastion.services.candle_files import CandleArrays, read_candle_arrays, utc_text
from bastion.services.candle_store import CandleStore
from support.simulator import SimulatorProcess

STEP = 300_000
ROWS = 3000
HOLE = range(1200, 1207)  # data rows removed: 7 missing candles


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CandleArrays]:
    """The simulator's CSV (3000 candles less the hole) and the same candles as arrays."""
    lines = resources.files("bastion._data").joinpath("BTC_USDT-5m.csv").read_text().splitlines()
    kept = [lines[0], *(line for i, line in enumerate(lines[1 : ROWS + 1]) if i not in HOLE)]
    path = tmp_path_factory.mktemp("recorded") / "BTC_USDT-5m.csv"
    path.write_text("\n".join(kept) + "\n")
    return path, read_candle_arrays(path)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory, recorded: tuple[Path, CandleArrays]) -> Iterator[SimulatorProcess]:
    with SimulatorProcess(tmp_path_factory.mktemp("sim"), markets={"BTC/USDT": recorded[0]}, start=10**6) as process:
        yield process


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("BASTION_HOME", str(home))
    return home


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, [" ".join(line.split()) for line in out.splitlines()], " ".join(err.split())


def _download(sim: SimulatorProcess, first: int, *extra: str) -> list[str]:
    market = ["--exchange", "simulator", "--url", sim.url, "--pair", "BTC/USDT", "--timeframe", "5m"]
    return ["data", "download", *market, "--since", str(first), *extra]


def test_download_resumes_and_reports_the_hole(
    sim: SimulatorProcess, recorded: tuple[Path, CandleArrays], home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candles = recorded[1]
    first = int(candles.ts[0])
    code, out, err = _run(capsys, *_download(sim, first, "--until", str(first + 1500 * STEP)))
    assert code == 0, err
    assert out == [
        "BTC/USDT 5m from simulator: fetched 1493 candles in 2 requests; 1493 new, 0 updated, 0 unchanged",
        f"stored: 1493 candles, 2023-01-02 16:45 to {utc_text(first + 1499 * STEP)} UTC, 1 gap (7 missing candles)",
        "gap: 2023-01-06 20:45 to 2023-01-06 21:15 UTC (7 candles)",
    ]
    # resume: only what comes after the stored candles is fetched (nothing updated or unchanged)
    code, out, err = _run(capsys, *_download(sim, first))
    assert code == 0, err
    assert out[0] == "BTC/USDT 5m from simulator: fetched 1500 candles in 3 requests; 1500 new, 0 updated, 0 unchanged"
    assert out[1] == (
        f"stored: 2993 candles, 2023-01-02 16:45 to {utc_text(first + 2999 * STEP)} UTC, 1 gap (7 missing candles)"
    )
    stored = CandleStore(home / "data").load("simulator", "BTC/USDT", "5m")
    np.testing.assert_array_equal(stored.ts, candles.ts)
    for got, want in zip(stored.columns(), candles.columns(), strict=True):
        np.testing.assert_array_equal(got, want)
    # everything is there: nothing to fetch
    code, out, _ = _run(capsys, *_download(sim, first, "--until", str(first + 1000 * STEP)))
    assert code == 0
    assert out[0] == "BTC/USDT 5m from simulator: the store already holds this window; nothing fetched"
    code, out, _ = _run(capsys, "data", "list", "--json")
    listed = json.loads("\n".join(out))
    assert [(d["exchange"], d["pair"], d["rows"], d["gaps"], d["missing"]) for d in listed] == [
        ("simulator", "BTC/USDT", 2993, 1, 7)
    ]
    assert listed[0]["gap_ranges"] == [[first + 1200 * STEP, first + 1206 * STEP]]


def test_an_interrupted_download_keeps_its_pages_and_the_rerun_fetches_the_rest(
    sim: SimulatorProcess, recorded: tuple[Path, CandleArrays], tmp_path: Path
) -> None:
    candles = recorded[1]
    store = CandleStore(tmp_path / "data")
    client = create_client("simulator", url=sim.url)
    request = DownloadRequest(exchange="simulator", symbol="BTC/USDT", timeframe="5m", since_ms=int(candles.ts[0]))
    calls: list[int] = []

    def interrupt_after_three_pages(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 4:  # the first call announces the total; then one per page
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download_candles(
            client, store, request, now_ms=client.fetch_time(), progress=interrupt_after_three_pages, page_limit=200
        )
    kept = store.open_times("simulator", "BTC/USDT", "5m")
    np.testing.assert_array_equal(kept, candles.ts[:600])  # three pages of 200, flushed on the way out
    report = download_candles(client, store, request, now_ms=client.fetch_time(), page_limit=1000)
    assert report.ranges == ((int(candles.ts[599]) + STEP, report.ranges[0][1]),)
    assert (report.counts.new, report.counts.updated, report.counts.unchanged) == (len(candles) - 600, 0, 0)
    assert report.gaps == ((int(candles.ts[0]) + 1200 * STEP, int(candles.ts[0]) + 1206 * STEP),)
    np.testing.assert_array_equal(store.load("simulator", "BTC/USDT", "5m").ts, candles.ts)


def test_older_candles_are_fetched_before_the_stored_ones(
    sim: SimulatorProcess, recorded: tuple[Path, CandleArrays], home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    candles = recorded[1]
    first = int(candles.ts[0])
    _run(capsys, *_download(sim, first + 100 * STEP, "--until", str(first + 300 * STEP)))
    code, out, err = _run(capsys, *_download(sim, first - 10 * STEP, "--until", str(first + 300 * STEP)))
    assert code == 0, err
    assert out[0] == "BTC/USDT 5m from simulator: fetched 100 candles in 1 request; 100 new, 0 updated, 0 unchanged"
    # the exchange has nothing before its first candle: reported as a hole at the start
    assert out[1] == (
        f"stored: 300 candles, 2023-01-02 16:45 to {utc_text(first + 299 * STEP)} UTC, 1 gap (10 missing candles)"
    )
    assert out[2] == "gap: 2023-01-02 15:55 to 2023-01-02 16:40 UTC (10 candles)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pair", "DOGE/USDT"], "simulator has no market DOGE/USDT"),
        (["--since", "yesterday"], "--since 'yesterday' is not a date; expected YYYY-MM-DD"),
        (["--timeframe", "5x"], "timeframe '5x' is not valid"),
        (["--until", "2023-01-01"], "--until must be later than --since"),
        (["--url", "http://192.0.2.1:1"], "the simulator URL must be on loopback"),
    ],
)
def test_bad_requests_are_one_line_and_exit_2(
    sim: SimulatorProcess, home: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    base = {"--pair": "BTC/USDT", "--timeframe": "5m", "--since": "2023-01-02", "--url": sim.url}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = ["data", "download", "--exchange", "simulator", *(x for kv in base.items() for x in kv)]
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert not (home / "data").exists()
