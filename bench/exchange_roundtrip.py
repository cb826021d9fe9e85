"""Benchmark: async ccxt create+cancel pairs per second against the local simulator.

Starts ``bastion exchange serve`` as its own process on loopback, then runs the real async
ccxt binance client: first one pair at a time, then 32 pairs in flight. Each loop is bounded
by a pair count and a time limit, and stops by itself.

    .venv/bin/python bench/exchange_roundtrip.py [--pairs 3000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from bastion.exchanges.ccxt import create_client
from bastion.exchanges.credentials import ApiCredentials
from bastion.exchanges.simulator import generate_entry
from bastion.exchanges.simulator.process import SimulatorProcess

SYMBOL = "BTC/USDT"


async def _pair(client, amount: str, price: str, n: int, latencies: list[float]) -> None:
    t0 = time.perf_counter()
    order = await client.create_order(SYMBOL, "limit", "buy", amount, price, {"clientOrderId": f"bench-{n}"})
    await client.cancel_order(order["id"], SYMBOL)
    latencies.append(time.perf_counter() - t0)


async def _run(url: str, creds: ApiCredentials, pairs: int, seconds: float, in_flight: int) -> dict[str, float]:
    client = create_client("simulator", asynchronous=True, credentials=creds, url=url)
    try:
        await client.load_markets()
        ticker = await client.fetch_ticker(SYMBOL)
        market = client.market(SYMBOL)
        price = client.price_to_precision(SYMBOL, Decimal(repr(ticker["last"])) * Decimal("0.9"))
        amount = client.amount_to_precision(SYMBOL, Decimal(20) / Decimal(price))
        assert market["spot"]
        for n in range(50):  # warm up connections and code paths
            await _pair(client, amount, price, -n - 1, [])
        latencies: list[float] = []
        counter = iter(range(pairs))
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            for n in counter:
                if time.perf_counter() > deadline:
                    return
                await _pair(client, amount, price, n, latencies)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        elapsed = time.perf_counter() - t0
        open_orders = await client.fetch_open_orders(SYMBOL)
        assert not open_orders, f"{len(open_orders)} orders left open"
    finally:
        await client.close()
    latencies.sort()
    return {
        "pairs": len(latencies),
        "seconds": elapsed,
        "pairs_per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def _asyncio_run(coro):
    try:
        import uvloop  # the engine runs on uvloop where it is installed; measure the same
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3000, help="pairs per run at most")
    parser.add_argument("--seconds", type=float, default=20, help="time limit per run")
    args = parser.parse_args()
    entry = generate_entry("bench", {"USDT": "1000000"})
    creds = ApiCredentials(entry["api_key"], entry["secret"])
    with (
        tempfile.TemporaryDirectory(prefix="bastion-bench-") as tmp,
        SimulatorProcess(Path(tmp), speed=0, keys=[entry]) as sim,
    ):
        print(f"simulator {sim.url}; async ccxt {SYMBOL} limit create + cancel pairs")
        for in_flight in (1, 32):
            r = _asyncio_run(_run(sim.url, creds, args.pairs, args.seconds, in_flight))
            label = "sequential" if in_flight == 1 else f"{in_flight} in flight"
            print(
                f"{label:>13}: {r['pairs_per_s']:8.0f} pairs/s  ({r['pairs']} pairs in {r['seconds']:.2f} s; "
                f"pair latency p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms)"
            )


if __name__ == "__main__":
    main()
