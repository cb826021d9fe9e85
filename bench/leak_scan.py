"""Benchmark: how long the leak detector's scan takes over N trades of our own orders.

Starts the simulator (own process, loopback, a throwaway key), places N market orders with the
real ccxt client (one trade each), records them as sent in a :class:`SentOrders`, then times
:class:`LeakScan` with the signer's async adapter: from the checkpoint taken before the orders
(every trade read, 1000 a page, every balance change reconciled with their fills), and again
from the checkpoint it left (nothing new).

    .venv/bin/python bench/leak_scan.py [--trades 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bastion.custody.signer.leak import LeakScan, SentOrders
from bastion.exchanges.ccxt import AsyncCcxtExchange, create_client
from bastion.exchanges.credentials import ApiCredentials
from bastion.exchanges.simulator import generate_entry
from bastion.exchanges.simulator.process import SimulatorProcess

SYMBOL = "BTC/USDT"


async def _scan(url: str, creds: ApiCredentials, sent: SentOrders, labels: tuple[str, ...]) -> None:
    exchange = AsyncCcxtExchange("simulator", credentials=creds, url=url)
    try:
        await exchange.load_markets()
        for label in labels:
            t0 = time.perf_counter()
            report = await LeakScan(
                exchange, sent, pairs=(SYMBOL,), not_before_ms=0, now_ms=int(time.time() * 1000)
            ).run()
            elapsed = time.perf_counter() - t0
            sent.checkpoint = report.checkpoint or sent.checkpoint
            print(
                f"scan {label}: {elapsed * 1000:.0f} ms, {report.trades} new trades, {report.symbols} symbols, "
                f"{report.requests} requests, findings {len(report.foreign)} orders / {len(report.balances)} balances"
            )
    finally:
        await exchange.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trades", type=int, default=1000)
    args = parser.parse_args()
    entry = generate_entry("bench", {"USDT": "1000000", "BTC": "10"})
    creds = ApiCredentials(entry["api_key"], entry["secret"])
    with tempfile.TemporaryDirectory() as tmp, SimulatorProcess(Path(tmp), speed=0, keys=[entry]) as sim:
        client = create_client("simulator", credentials=creds, url=sim.url)
        sent = SentOrders("bench")
        asyncio.run(_scan(sim.url, creds, sent, ("baseline (no checkpoint, no trades)",)))
        t0 = time.perf_counter()
        for n in range(args.trades):
            cid = f"bench-{n}"
            side = "buy" if n % 2 == 0 else "sell"
            sent.sent(cid, SYMBOL, side)
            order = client.create_order(SYMBOL, "market", side, 0.0004, None, {"clientOrderId": cid})
            sent.answered(cid, str(order["id"]))
            if n % 200 == 199:
                sim.advance(1)  # a fresh book
        print(f"placed {args.trades} orders in {time.perf_counter() - t0:.1f} s")
        asyncio.run(_scan(sim.url, creds, sent, (f"over {args.trades} new trades", "with nothing new")))


if __name__ == "__main__":
    main()
