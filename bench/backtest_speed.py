"""Backtest speed on one year of 1m candles (525,600) made by ``bastion data synth`` (seeded).

Run: ``.venv/bin/python bench/backtest_speed.py [--days 365] [--seed 1] [--repeat 5] [--dir PATH]``.

Measures (median and best of ``--repeat``):

* the DCA bot (BO = SO = 10, price deviation 1 %, step scale 1.2, volume scale 1.5, 6 safety
  orders, take profit 1.5 %, asap, one deal at a time) in process, after loading (target 0.05 s);
* the whole ``bastion backtest`` process for that run, start-up and loading included (target 1.0 s);
* a geometric grid of 50 levels from 20 % below to 20 % above the first price, in process (target 2 s);
* a sweep of 1,000 DCA parameter sets (10 take profits x 10 deviations x 10 step scales) on two
  Ray workers, Ray's start-up included (target 60 s; ``--sweep-workers``, ``--no-sweep`` to skip).

Each figure is given as wall time and as CPU time (``time.process_time``, or the child's user +
system time for the whole process): on a shared machine the wall time also counts the time other
work held the cores. The machine's load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

DCA = """
name = "bench-dca"
type = "dca"
account = "main"
pairs = ["BTC/USDT"]
base_order_size = "10"
safety_order_size = "10"
max_safety_orders = 6
active_safety_orders = 6
price_deviation_pct = "1"
safety_order_step_scale = "1.2"
safety_order_volume_scale = "1.5"
take_profit_pct = "1.5"
max_active_deals = 1
start_condition = {type = "asap"}
"""

GRID = """
name = "bench-grid"
type = "grid"
account = "main"
pair = "BTC/USDT"
lower_price = "{lower}"
upper_price = "{upper}"
grid_count = 49
spacing = "geometric"
investment_quote = "10000"
"""


def _stats(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s, best {min(times):.3f} s"


def _in_process(config: str, data: str, repeat: int) -> tuple[list[float], list[float], object]:
    from bastion.backtest import Backtest, load_market
    from bastion.backtest.report import report

    market = load_market(data)
    times = []
    cpu = []
    summary: dict[str, object] = {}
    for _ in range(repeat):
        run = Backtest(config, [market]).run()
        times.append(run.elapsed_s)
        cpu.append(run.cpu_s)
        summary = report(run, bot="bench")
    return times, cpu, {k: summary[k] for k in ("closed_deals", "profit_quote", "events", "decisions")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--grid-repeat", type=int, default=3, help="runs of the grid")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--sweep-workers", type=int, default=2)
    parser.add_argument("--no-sweep", action="store_true")
    parser.add_argument("--sweep-sets", type=int, default=1000, help="a multiple of 100 (10 x 10 x N/100)")
    parser.add_argument("--only-sweep", action="store_true", help="skip the other figures")
    args = parser.parse_args()
    bastion = [sys.executable, "-m", "bastion"]
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        tmp = Path(folder)
        candles = tmp / "BTC_USDT-1m.parquet"
        subprocess.run(
            [*bastion, "data", "synth", "--days", str(args.days), "--seed", str(args.seed), "--out", str(candles)],
            check=True,
            capture_output=True,
        )
        data = f"BTC/USDT={candles}"
        print(f"load average before: {os.getloadavg()}")
        print(f"{args.days} days of 1m candles, seed {args.seed}: {candles.stat().st_size / 1e6:.1f} MB parquet")

        if args.only_sweep:
            _sweep(data, args.sweep_workers, args.sweep_sets)
            return
        times, cpu, summary = _in_process(DCA, data, args.repeat)
        print(f"DCA in process (target 0.05 s): wall {_stats(times)}; CPU {_stats(cpu)}; {summary}")

        config = tmp / "dca.toml"
        config.write_text(DCA, encoding="utf-8")
        command = [*bastion, "backtest", "--config", str(config), "--data", data, "--json", str(tmp / "r.json")]
        # As installed, Python reads Bastion's modules from cached bytecode; with PYTHONDONTWRITEBYTECODE
        # set (as on some shells) an editable install compiles every module at every start (~0.15 s).
        # One untimed run writes the caches (__pycache__, ignored by git), as any first run would.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cold = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        print(f"`bastion backtest` first run (writes missing bytecode caches): {time.perf_counter() - cold:.3f} s")
        walls = []
        cpus = []
        for _ in range(args.repeat):
            before = os.times()
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            walls.append(time.perf_counter() - started)
            after = os.times()
            cpus.append(after.children_user + after.children_system - before.children_user - before.children_system)
        print(f"`bastion backtest` whole process (target 1.0 s): wall {_stats(walls)}; CPU {_stats(cpus)}")

        from bastion.backtest import load_market

        first = Decimal(repr(float(load_market(data).arrays.open[0])))
        grid = GRID.format(lower=(first * Decimal("0.8")).quantize(Decimal("0.01")),
                           upper=(first * Decimal("1.2")).quantize(Decimal("0.01")))  # fmt: skip
        times, cpu, summary = _in_process(grid, data, args.grid_repeat)
        print(f"grid, 50 geometric levels +-20 % (target 2 s): wall {_stats(times)}; CPU {_stats(cpu)}; {summary}")
        if not args.no_sweep:
            _sweep(data, args.sweep_workers, args.sweep_sets)
        print(f"load average after: {os.getloadavg()}")


def _sweep(data: str, workers: int, sets: int) -> None:
    from bastion.backtest.sweep import SweepData, parse_param, run_sweep, sort_rows

    params = [
        parse_param("take_profit_pct=" + ",".join(str(Decimal("0.6") + Decimal("0.2") * i) for i in range(10))),
        parse_param("price_deviation_pct=" + ",".join(str(Decimal("0.5") + Decimal("0.25") * i) for i in range(10))),
        parse_param(
            "safety_order_step_scale=" + ",".join(str(Decimal("1") + Decimal("0.05") * i) for i in range(sets // 100))
        ),
    ]
    started = time.perf_counter()
    rows = run_sweep(SweepData(data=(data,)), DCA, params, workers=workers)
    wall = time.perf_counter() - started
    best = sort_rows(rows, "profit_pct")[0]
    print(f"sweep of {len(rows)} DCA parameter sets on {workers} worker(s) (target 60 s): wall {wall:.1f} s; "
          f"best {dict(best)}")  # fmt: skip


if __name__ == "__main__":
    main()
