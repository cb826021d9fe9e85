"""Where the time of the DCA backtest goes, against the 0.05 s target of ``backtest_speed.py``.

Run: ``.venv/bin/python bench/backtest_parts.py [--days 365] [--seed 1] [--repeat 5] [--data PAIR=PATH]``.

The run is the bench's DCA bot on one year of 1m candles made by ``bastion data synth`` (or on
``--data``). The script runs it once to record every view the bot decided on, then times, as CPU
time, best of ``--repeat``:

* the whole run in process (what ``backtest_speed.py`` reports);
* the bot's ``decide`` alone, replayed on the recorded views (no engine, no matching);
* building those views: the run with every view built ``EXTRA`` more times, minus the run, divided
  by ``EXTRA`` (no timer per call, whose own cost would count; the extra builds outweigh the noise).
  An extra build finds the deal cache fresh, so this is the cost of a view once the cache is
  refreshed; refreshing it after the orders changed counts in the rest.

The rest (engine core, matching, event search) is the run minus those two. It prints the number of
decisions, each part per decision, and the budget per decision that the target leaves.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.05
EXTRA = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", default=None, help="PAIR=PATH instead of synthetic candles")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = args.data
        if data is None:
            candles = Path(folder) / "BTC_USDT-1m.parquet"
            subprocess.run(
                [sys.executable, "-m", "bastion", "data", "synth", "--days", str(args.days), "--seed", str(args.seed),
                 "--out", str(candles)],
                check=True,
                capture_output=True,
            )  # fmt: skip
            data = f"BTC/USDT={candles}"
        _measure(data, args.repeat)


def _measure(data: str, repeat: int) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from backtest_speed import DCA
    from bastion.backtest import Backtest, load_market
    from bastion.backtest.report import summary
    from bastion.bots.dca.bot import DcaBot
    from bastion.bots.interface import BotView
    from bastion.engine.core.core import EngineCore

    market = load_market(data)
    runs = [Backtest(DCA, [market]).run() for _ in range(repeat)]
    run_cpu = min(r.cpu_s for r in runs)
    figures = summary(runs[-1])

    recorded: list[tuple[DcaBot, BotView]] = []
    decide, view = DcaBot.decide, EngineCore.view

    def recording_decide(bot: DcaBot, seen: BotView) -> object:
        recorded.append((bot, seen))
        return decide(bot, seen)

    def view_more(core: EngineCore, *a: object, **k: object) -> BotView:
        for _ in range(EXTRA):
            view(core, *a, **k)  # type: ignore[arg-type]
        return view(core, *a, **k)  # type: ignore[arg-type]

    DcaBot.decide = recording_decide  # type: ignore[method-assign,assignment]
    try:
        Backtest(DCA, [market]).run()
    finally:
        DcaBot.decide = decide  # type: ignore[method-assign]
    EngineCore.view = view_more  # type: ignore[method-assign,assignment]
    try:
        more_cpu = min(Backtest(DCA, [market]).run().cpu_s for _ in range(repeat))
    finally:
        EngineCore.view = view  # type: ignore[method-assign]

    decide_cpu = []
    for _ in range(repeat):
        started = time.process_time()
        for bot, seen in recorded:
            bot.decide(seen)
        decide_cpu.append(time.process_time() - started)
    n = len(recorded)
    bot_s, views_s = min(decide_cpu), max(more_cpu - run_cpu, 0.0) / EXTRA
    rest_s = max(run_cpu - bot_s - views_s, 0.0)
    print(f"{len(market.arrays)} candles; {n} decisions; {figures['closed_deals']} deals closed")
    print(f"whole run in process:  {run_cpu * 1000:7.1f} ms  {run_cpu / n * 1e6:6.1f} us per decision")
    print(f"bot decide alone:      {bot_s * 1000:7.1f} ms  {bot_s / n * 1e6:6.1f} us per decision")
    print(f"building the views:    {views_s * 1000:7.1f} ms  {views_s / n * 1e6:6.1f} us per decision")
    print(f"the rest (core, match):{rest_s * 1000:7.1f} ms  {rest_s / n * 1e6:6.1f} us per decision")
    print(f"target {TARGET_S * 1000:.0f} ms: {TARGET_S / n * 1e6:.1f} us per decision for everything")


if __name__ == "__main__":
    main()
