"""The market-data hub: one fetch per market whatever the number of bots, fanned out with extremes."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bastion.engine.market_hub import MarketHub, RestFeed
from bastion.errors import BadSymbol, ExchangeDown, ValidationError
from bastion.exchanges.port import Candle, Ticker

T = TypeVar("T")
MINUTE = 60_000


def run(coroutine: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coroutine()

    return asyncio.run(main())


class Clock:
    def __init__(self, now: int = 1_000 * MINUTE) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Source:
    """A small in-memory exchange: prices you set, candles of one minute up to the clock, call counts."""

    def __init__(self, clock: Clock, prices: dict[str, str]) -> None:
        self.clock = clock
        self.prices = {s: Decimal(p) for s, p in prices.items()}
        self.calls: Counter[tuple[str, ...]] = Counter()
        self.down: set[str] = set()

    async def fetch_ticker(self, symbol: str) -> Ticker:
        self.calls["ticker", symbol] += 1
        if symbol in self.down:
            raise ExchangeDown(f"{symbol}: 503")
        if symbol not in self.prices:
            raise BadSymbol(f"no market {symbol}")
        price = self.prices[symbol]
        return Ticker(
            symbol=symbol,
            bid=price - 1,
            ask=price + 1,
            last=price,
            base_volume=None,
            quote_volume=None,
            timestamp_ms=self.clock(),
        )

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        self.calls["ohlcv", symbol, timeframe] += 1
        assert timeframe == "1m"
        forming = self.clock() // MINUTE * MINUTE
        opens = [forming - i * MINUTE for i in range((limit or 500) - 1, -1, -1)]
        one = Decimal(1)
        return [Candle(t, one, one, one, Decimal(t // MINUTE), one) for t in opens]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def source(clock: Clock) -> Source:
    return Source(clock, {"BTC/USDT": "16000", "ETH/USDT": "1200", "SOL/USDT": "20"})


@pytest.fixture
def hub(clock: Clock, source: Source) -> MarketHub:
    hub = MarketHub(clock=clock, candle_refresh_ms=10_000)
    hub.add_feed("binance", RestFeed(source))
    return hub


def test_ten_bots_on_two_markets_make_two_ticker_requests_per_refresh(hub: MarketHub, source: Source) -> None:
    for n in range(10):
        hub.subscribe(f"bot{n}", "binance", {"BTC/USDT"} if n % 2 else {"BTC/USDT", "ETH/USDT"})
    for _ in range(3):
        assert run(hub.refresh) == {}
    assert source.calls == {("ticker", "BTC/USDT"): 3, ("ticker", "ETH/USDT"): 3}
    assert hub.subscribers("binance", "ETH/USDT") == {"bot0", "bot2", "bot4", "bot6", "bot8"}
    assert set(hub.prices("bot1")) == {"BTC/USDT"}
    assert set(hub.prices("bot2")) == {"BTC/USDT", "ETH/USDT"}
    assert hub.prices("bot2")["ETH/USDT"].last == Decimal(1200)
    assert hub.prices("bot2")["ETH/USDT"].bid == Decimal(1199)


def test_each_bot_sees_the_extremes_since_it_last_decided(hub: MarketHub, source: Source, clock: Clock) -> None:
    hub.subscribe("trailing", "binance", {"BTC/USDT"})
    hub.subscribe("grid", "binance", {"BTC/USDT"})
    for price in ("16000", "16400", "15800", "16100"):
        source.prices["BTC/USDT"] = Decimal(price)
        clock.now += 1_000
        run(hub.refresh)
    seen = hub.prices("trailing")["BTC/USDT"]
    assert (seen.last, seen.high, seen.low, seen.time_ms) == (Decimal(16100), Decimal(16400), Decimal(15800), clock.now)
    hub.decided("trailing")
    source.prices["BTC/USDT"] = Decimal("16200")
    run(hub.refresh)
    after = hub.prices("trailing")["BTC/USDT"]
    assert (after.high, after.low) == (Decimal(16200), Decimal(16100))  # restarted at the price it decided on
    still = hub.prices("grid")["BTC/USDT"]  # the grid did not decide: its extremes keep growing
    assert (still.high, still.low) == (Decimal(16400), Decimal(15800))


def test_a_bot_joining_a_followed_market_gets_its_price_at_once(hub: MarketHub, source: Source) -> None:
    hub.subscribe("first", "binance", {"SOL/USDT"})
    run(hub.refresh)
    hub.subscribe("second", "binance", {"SOL/USDT"})
    assert hub.prices("second")["SOL/USDT"].high == Decimal(20)
    assert source.calls["ticker", "SOL/USDT"] == 1


def test_one_failing_market_is_reported_and_the_others_still_update(hub: MarketHub, source: Source) -> None:
    hub.subscribe("a", "binance", {"BTC/USDT", "ETH/USDT"})
    hub.subscribe("b", "binance", {"DOGE/USDT"})
    run(hub.refresh)
    source.down.add("BTC/USDT")
    source.prices["ETH/USDT"] = Decimal(1300)
    failures = run(hub.refresh)
    assert set(failures) == {("binance", "BTC/USDT"), ("binance", "DOGE/USDT")}
    assert isinstance(failures["binance", "BTC/USDT"], ExchangeDown)
    assert isinstance(failures["binance", "DOGE/USDT"], BadSymbol)
    prices = hub.prices("a")
    assert prices["ETH/USDT"].last == Decimal(1300)
    assert prices["BTC/USDT"].last == Decimal(16000)  # the last good price, with its time
    assert hub.prices("b") == {}


def test_a_market_nobody_follows_any_more_is_not_fetched(hub: MarketHub, source: Source) -> None:
    hub.subscribe("a", "binance", {"BTC/USDT"})
    hub.subscribe("b", "binance", {"BTC/USDT", "ETH/USDT"})
    run(hub.refresh)
    hub.unsubscribe("b")
    run(hub.refresh)
    hub.subscribe("a", "binance", {"SOL/USDT"})  # replaces its BTC/USDT
    run(hub.refresh)
    assert source.calls == {("ticker", "BTC/USDT"): 2, ("ticker", "ETH/USDT"): 1, ("ticker", "SOL/USDT"): 1}
    assert hub.markets() == {("binance", "SOL/USDT")}
    assert hub.price("binance", "ETH/USDT") is None


def test_a_stream_pushes_updates_through_the_same_fan_out(hub: MarketHub, clock: Clock) -> None:
    hub.subscribe("a", "binance", {"BTC/USDT"})
    for last in ("100", "130", "90"):
        tick = Ticker(
            symbol="BTC/USDT",
            bid=None,
            ask=None,
            last=Decimal(last),
            base_volume=None,
            quote_volume=None,
            timestamp_ms=1,
        )
        assert hub.push("binance", tick)
    seen = hub.prices("a")["BTC/USDT"]
    assert (seen.last, seen.high, seen.low) == (Decimal(90), Decimal(130), Decimal(90))
    empty = Ticker(
        symbol="BTC/USDT", bid=None, ask=None, last=None, base_volume=None, quote_volume=None, timestamp_ms=1
    )
    assert not hub.push("binance", empty)
    assert hub.prices("a")["BTC/USDT"].last == Decimal(90)


def test_candles_are_fetched_once_per_market_and_timeframe_and_only_completed(
    hub: MarketHub, source: Source, clock: Clock
) -> None:
    async def three_bots() -> list[tuple[Candle, ...]]:
        return list(await asyncio.gather(*(hub.candles("binance", "BTC/USDT", "1m", 14) for _ in range(3))))

    first = run(three_bots)
    assert source.calls["ohlcv", "BTC/USDT", "1m"] == 1
    assert first[0] == first[1] == first[2]
    assert len(first[0]) == 14
    assert first[0][-1].ts_ms == clock.now - MINUTE  # the forming candle is left out
    assert all(b.ts_ms - a.ts_ms == MINUTE for a, b in zip(first[0], first[0][1:], strict=False))

    clock.now += 30_000  # the forming candle has not closed yet
    run(lambda: hub.candles("binance", "BTC/USDT", "1m", 14))
    assert source.calls["ohlcv", "BTC/USDT", "1m"] == 1
    clock.now += 30_000  # now it has
    newer = run(lambda: hub.candles("binance", "BTC/USDT", "1m", 14))
    assert source.calls["ohlcv", "BTC/USDT", "1m"] == 2
    assert newer[-1].ts_ms == first[0][-1].ts_ms + MINUTE
    longer = run(lambda: hub.candles("binance", "BTC/USDT", "1m", 50))  # more than fetched: fetch again
    assert source.calls["ohlcv", "BTC/USDT", "1m"] == 3
    assert len(longer) == 50
    assert run(lambda: hub.candles("binance", "BTC/USDT", "1m", 20)) == longer[-20:]
    assert source.calls["ohlcv", "BTC/USDT", "1m"] == 3


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda h: h.subscribe("a", "kraken", {"BTC/USD"}), "no market feed for exchange 'kraken'"),
        (lambda h: h.add_feed("binance", RestFeed(Source(Clock(), {}))), "already has a market feed"),
        (lambda h: asyncio.run(h.candles("binance", "BTC/USDT", "5x", 3)), "timeframe '5x' is not valid"),
        (lambda h: asyncio.run(h.candles("binance", "BTC/USDT", "1M", 3)), "monthly candles"),
    ],
)
def test_misuse_is_refused_with_what_was_expected(hub: MarketHub, call: Callable[[MarketHub], Any], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        call(hub)


def test_against_the_simulator_the_hub_serves_what_the_exchange_says(tmp_path: Path) -> None:
    from bastion.exchanges.ccxt.adapter import AsyncCcxtExchange
    from support.simulator import SimulatorProcess

    with SimulatorProcess(tmp_path, speed=0) as sim:

        async def main() -> None:
            public = AsyncCcxtExchange("simulator", url=sim.url)
            hub = MarketHub(clock=Clock(4_102_444_800_000))  # wall time after the recorded market time
            hub.add_feed("simulator", RestFeed(public, close_source=True))
            try:
                hub.subscribe("a", "simulator", {"BTC/USDT"})
                hub.subscribe("b", "simulator", {"BTC/USDT"})
                assert await hub.refresh() == {}
                direct = await public.fetch_ticker("BTC/USDT")
                assert hub.prices("a")["BTC/USDT"].last == direct.last
                assert hub.prices("b")["BTC/USDT"].bid == direct.bid
                candles = await hub.candles("simulator", "BTC/USDT", "5m", 10)
                raw = await public.fetch_ohlcv("BTC/USDT", "5m", limit=11)
                assert candles == tuple(raw[:-1])
            finally:
                await hub.close()

        asyncio.run(main())
