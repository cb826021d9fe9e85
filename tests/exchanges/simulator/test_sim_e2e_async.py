"""End to end with the real async ccxt binance client against the simulator subprocess."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from support.simulator import SimulatorProcess, make_key

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    keys = [make_key(name, {"USDT": "10000", "BTC": "1"}) for name in ("flow", "resting", "many")]
    with SimulatorProcess(tmp_path_factory.mktemp("sim-async"), keys=keys) as process:
        yield process


def run(sim: SimulatorProcess, account: str, scenario) -> None:
    async def main() -> None:
        exchange = sim.client(account, asynchronous=True, timeout_ms=5000)
        try:
            await exchange.load_markets()
            await scenario(exchange)
        finally:
            await exchange.close()

    asyncio.run(main())
    assert sim.unknown() == []


def test_async_market_data(sim):
    async def scenario(exchange):
        market = exchange.market("BTC/USDT")
        assert (market["precision"]["price"], market["precision"]["amount"]) == (0.1, 0.00001)
        ohlcv = await exchange.fetch_ohlcv("BTC/USDT", "15m", limit=10)
        assert len(ohlcv) == 10
        assert all(c[0] % 900_000 == 0 for c in ohlcv)
        ticker = await exchange.fetch_ticker("BTC/USDT")
        book = await exchange.fetch_order_book("BTC/USDT", 10)
        assert book["bids"][0][0] == ticker["bid"] < ticker["last"] < ticker["ask"] == book["asks"][0][0]
        assert len(book["asks"]) == 10

    run(sim, "flow", scenario)


def test_async_order_flow(sim):
    async def scenario(exchange):
        ticker = await exchange.fetch_ticker("BTC/USDT")
        price = round(ticker["last"] * 0.95, 1)
        limit = await exchange.create_order("BTC/USDT", "limit", "buy", 0.001, price)
        assert limit["status"] == "open"
        assert (await exchange.fetch_order(limit["id"], "BTC/USDT"))["status"] == "open"
        assert [o["id"] for o in await exchange.fetch_open_orders("BTC/USDT")] == [limit["id"]]
        assert (await exchange.cancel_order(limit["id"], "BTC/USDT"))["status"] == "canceled"
        market = await exchange.create_order("BTC/USDT", "market", "sell", 0.01)
        assert market["status"] == "closed"
        assert market["filled"] == 0.01
        by_cost = await exchange.create_market_buy_order_with_cost("BTC/USDT", 50)
        assert by_cost["status"] == "closed"
        assert 49 < by_cost["cost"] <= 50
        trades = await exchange.fetch_my_trades("BTC/USDT")
        assert {t["order"] for t in trades} == {market["id"], by_cost["id"]}
        assert {t["fee"]["currency"] for t in trades if t["order"] == market["id"]} == {"USDT"}
        balance = await exchange.fetch_balance()
        assert balance["USDT"]["used"] == 0

    run(sim, "flow", scenario)


def test_async_resting_order_fills_after_advance(sim):
    async def scenario(exchange):
        candle = (await exchange.fetch_ohlcv("BTC/USDT", "5m", limit=1))[-1]
        price = round(candle[3] - 0.1, 1)
        order = await exchange.create_order("BTC/USDT", "limit", "buy", 0.002, price)
        for _ in range(200):
            if float(sim.advance(1)["BTCUSDT"]["low"]) <= price:
                break
        done = await exchange.fetch_order(order["id"], "BTC/USDT")
        assert (done["status"], done["filled"]) == ("closed", 0.002)
        [trade] = await exchange.fetch_my_trades("BTC/USDT")
        assert trade["takerOrMaker"] == "maker"
        assert trade["fee"]["cost"] == pytest.approx(0.000002)

    run(sim, "resting", scenario)


def test_async_concurrent_orders_get_increasing_ids(sim):
    async def scenario(exchange):
        price = round((await exchange.fetch_ticker("BTC/USDT"))["last"] * 0.9, 1)
        orders = await asyncio.gather(
            *(exchange.create_order("BTC/USDT", "limit", "buy", 0.001, price) for _ in range(32))
        )
        ids = sorted(int(o["id"]) for o in orders)
        assert len(set(ids)) == 32
        assert ids == list(range(ids[0], ids[0] + 32))
        await asyncio.gather(*(exchange.cancel_order(o["id"], "BTC/USDT") for o in orders))
        assert await exchange.fetch_open_orders("BTC/USDT") == []

    run(sim, "many", scenario)
