"""Measure how fast a year of 1m candles (525,600) loads into float64 numpy arrays.

Run: ``.venv/bin/python bench/candle_load.py [--days 365] [--repeat 9] [--dir PATH]``.

Makes the candles with the synth generator (seed 1), merges them into a candle store in a
temporary folder, then times (median and best of ``--repeat``, each in this warm process):

* ``CandleStore.load``: the store's parquet file into arrays (what a backtest on stored data does);
* ``load_candles(PATH.parquet)``: a parquet file given by path, with the full row checks;
* ``load_candles(PATH.csv)``: our CSV through pyarrow's CSV reader, with the row checks;
* three new processes that import numpy and pyarrow, then the store module, then load the
  store file once: what a fresh ``bastion backtest`` pays for its candles, imports apart.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bastion.services.candle_files import CandleArrays, write_candle_arrays
from bastion.services.candle_store import CandleStore, load_candles
from bastion.services.candle_synth import SynthSpec, synth_candles

_COLD = """
import sys, time
t0 = time.perf_counter()
import numpy, pyarrow.parquet
t1 = time.perf_counter()
from pathlib import Path
from bastion.services.candle_store import CandleStore
store = CandleStore(Path(sys.argv[1]))
t2 = time.perf_counter()
candles = store.load("synth", "BTC/USDT", "1m")
t3 = time.perf_counter()
print(f"{t1 - t0:.4f} {t2 - t1:.4f} {t3 - t2:.4f} {len(candles)}")
"""


def _time(repeat: int, load: Callable[[], CandleArrays], expected: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        candles = load()
        times.append(time.perf_counter() - started)
        assert len(candles) == expected, len(candles)
    return statistics.median(times), min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--dir", type=Path, default=None, help="folder for the files (the disk the store lives on)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        candles = synth_candles(SynthSpec(timeframe_ms=60_000, days=args.days, seed=1))
        made = time.perf_counter() - started
        store = CandleStore(root / "data")
        started = time.perf_counter()
        store.merge("synth", "BTC/USDT", "1m", candles)
        stored = time.perf_counter() - started
        csv_path = root / "BTC_USDT-1m.csv"
        write_candle_arrays(candles, csv_path)
        parquet_path = store.path("synth", "BTC/USDT", "1m")
        n = len(candles)
        size = parquet_path.stat().st_size / 1e6
        print(f"{n} candles of 1m; synth {made:.2f} s, first store write {stored:.2f} s, parquet {size:.1f} MB")
        rows = [
            ("CandleStore.load (parquet)", lambda: store.load("synth", "BTC/USDT", "1m")),
            ("load_candles(.parquet), checked", lambda: load_candles(parquet_path)),
            ("load_candles(.csv), checked", lambda: load_candles(csv_path)),
        ]
        for name, load in rows:
            median, best = _time(args.repeat, load, n)
            print(f"{name:34s} median {median * 1000:7.1f} ms   best {best * 1000:7.1f} ms")
        for _ in range(3):
            answer = subprocess.run(
                [sys.executable, "-c", _COLD, str(root / "data")], capture_output=True, text=True, check=True
            ).stdout.split()
            libraries, bastion, first = (float(x) * 1000 for x in answer[:3])
            print(
                f"{'new process':34s} import numpy+pyarrow {libraries:5.0f} ms, bastion store {bastion:4.0f} ms, "
                f"first load {first:5.1f} ms"
            )


if __name__ == "__main__":
    main()
