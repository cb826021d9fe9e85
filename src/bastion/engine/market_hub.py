"""One market-data hub for every bot: one subscription per (exchange, symbol), fanned out.

Before the hub each bot asked for a ticker on every step, so ten bots on BTC/USDT made ten
requests. The hub keeps one subscription per (exchange, symbol), whatever the number of bots
that trade it, fetches it once per refresh, and gives every subscriber the price and the
extremes it reached since that subscriber last decided (what a bot needs to see a level crossed
between two wakes). Candles are fetched once per (exchange, symbol, timeframe) and shared.

Where the prices come from is a :class:`MarketFeed` per exchange. :class:`RestFeed` polls an
exchange port (one ``fetch_ticker`` per subscribed symbol per refresh). A WebSocket feed plugs in
the same way: it keeps its own stream per subscribed symbol, answers :meth:`MarketFeed.tickers`
from the latest values it received (without waiting), or pushes each update as it arrives with
:meth:`MarketHub.push`; either way the hub fans the update out.

Usage in an engine (one hub per engine, the clock passed in)::

    hub = MarketHub(clock=clock)
    hub.add_feed("binance", RestFeed(public_client))          # once per exchange (no key)
    hub.subscribe("grid-eth", "binance", {"ETH/USDT"})          # on start / config change
    hub.subscribe("dca-btc", "binance", {"BTC/USDT"})
    failures = await hub.refresh()                              # each step: one fetch per symbol
    prices = hub.prices("dca-btc")                              # {symbol: PriceView}, extremes since last decision
    ... bot decides ...
    hub.decided("dca-btc")                                      # extremes restart from the last price
    candles = await hub.candles("binance", "BTC/USDT", "5m", 100)  # completed candles, shared
    hub.unsubscribe("dca-btc")                                  # bot stopped: its symbols may go
    await hub.close()

``refresh`` never raises for one market: it returns the failures by (exchange, symbol), so the
engine can put only the bots trading that market in error and let the others go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from bastion.bots.interface import PriceView
from bastion.errors import BastionError, ValidationError
from bastion.exchanges.port import Candle, Ticker
from bastion.services.market_data import timeframe_ms

__all__ = ["MarketFeed", "MarketHub", "MarketKey", "RestFeed", "TickerSource"]

#: (exchange, symbol): the unit of subscription.
MarketKey = tuple[str, str]


def _span_ms(timeframe: str) -> int:
    span = timeframe_ms(timeframe)
    if span is None:
        raise ValidationError(f"timeframe {timeframe!r}: monthly candles are not served; use 1w or shorter")
    return span


class TickerSource(Protocol):
    """What :class:`RestFeed` needs from an exchange (an :class:`~bastion.exchanges.port.AsyncExchangePort`)."""

    async def fetch_ticker(self, symbol: str) -> Ticker: ...

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int | None = None
    ) -> list[Candle]: ...


class MarketFeed(Protocol):
    """One exchange's market data as the hub consumes it; REST now, WebSocket streams later."""

    async def tickers(self, symbols: Collection[str]) -> dict[str, Ticker | BastionError]:
        """Return the latest ticker of each symbol, or the error that kept it from coming."""
        ...

    async def candles(self, symbol: str, timeframe: str, limit: int) -> list[Candle]:
        """Return up to ``limit`` latest candles, oldest first, the forming one last."""
        ...

    async def close(self) -> None:
        """Stop streams and close connections."""
        ...


class RestFeed:
    """A feed that polls an exchange: one ``fetch_ticker`` per symbol per call, one at a time.

    Parameters
    ----------
    source
        The exchange port (public data; no key needed).
    close_source
        Close the source with the feed.
    """

    def __init__(self, source: TickerSource, *, close_source: bool = False) -> None:
        self.source = source
        self.close_source = close_source

    async def tickers(self, symbols: Collection[str]) -> dict[str, Ticker | BastionError]:
        """Fetch each symbol's ticker; an error for one symbol does not stop the others."""
        out: dict[str, Ticker | BastionError] = {}
        for symbol in sorted(symbols):
            try:
                out[symbol] = await self.source.fetch_ticker(symbol)
            except BastionError as exc:
                out[symbol] = exc
        return out

    async def candles(self, symbol: str, timeframe: str, limit: int) -> list[Candle]:
        """Fetch the latest candles."""
        return await self.source.fetch_ohlcv(symbol, timeframe, limit=limit)

    async def close(self) -> None:
        """Close the source when the feed owns it."""
        close = getattr(self.source, "close", None)
        if self.close_source and close is not None:
            await close()


@dataclass(slots=True)
class _Marks:
    high: Decimal
    low: Decimal


@dataclass(slots=True)
class _Series:
    candles: tuple[Candle, ...]
    forming_open_ms: int
    fetched_ms: int
    limit: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _price(ticker: Ticker) -> Decimal | None:
    if ticker.last is not None and ticker.last > 0:
        return ticker.last
    if ticker.bid is not None and ticker.ask is not None and ticker.bid > 0 and ticker.ask > 0:
        return (ticker.bid + ticker.ask) / 2
    return None


class MarketHub:
    """Prices and candles for many bots, fetched once per market.

    Parameters
    ----------
    clock
        Epoch milliseconds (passed in: live, paper and tests use their own).
    candle_refresh_ms
        Fetch a candle series again at most this often, and only once its forming candle
        should have closed.
    """

    def __init__(self, *, clock: Callable[[], int], candle_refresh_ms: int = 5_000) -> None:
        self.clock = clock
        self.candle_refresh_ms = candle_refresh_ms
        self._feeds: dict[str, MarketFeed] = {}
        self._subscriptions: dict[str, set[MarketKey]] = {}
        self._quotes: dict[MarketKey, tuple[Ticker, Decimal, int]] = {}
        self._marks: dict[str, dict[MarketKey, _Marks]] = {}
        self._series: dict[tuple[str, str, str], _Series] = {}

    # ------------------------------------------------------------------ feeds and subscriptions

    def add_feed(self, exchange: str, feed: MarketFeed) -> None:
        """Use ``feed`` for ``exchange`` (an id such as ``binance``; make it unique per server)."""
        if exchange in self._feeds:
            raise ValidationError(f"exchange {exchange!r} already has a market feed")
        self._feeds[exchange] = feed

    def has_feed(self, exchange: str) -> bool:
        """Whether ``exchange`` has a feed."""
        return exchange in self._feeds

    def subscribe(self, subscriber: str, exchange: str, symbols: Collection[str]) -> None:
        """Set the symbols ``subscriber`` (a bot) follows on ``exchange``, replacing its earlier ones there."""
        if exchange not in self._feeds:
            raise ValidationError(f"no market feed for exchange {exchange!r}; add one with add_feed first")
        keys = self._subscriptions.setdefault(subscriber, set())
        keys -= {k for k in keys if k[0] == exchange}
        keys |= {(exchange, s) for s in symbols}
        marks = self._marks.setdefault(subscriber, {})
        for key in list(marks):
            if key not in keys:
                del marks[key]
        for key in keys:
            quote = self._quotes.get(key)
            if key not in marks and quote is not None:  # a market others follow already has a price
                marks[key] = _Marks(quote[1], quote[1])
        self._forget_unwatched()

    def unsubscribe(self, subscriber: str) -> None:
        """Stop following everything ``subscriber`` followed."""
        self._subscriptions.pop(subscriber, None)
        self._marks.pop(subscriber, None)
        self._forget_unwatched()

    def markets(self) -> frozenset[MarketKey]:
        """Every (exchange, symbol) some subscriber follows: what one refresh fetches."""
        return frozenset(k for keys in self._subscriptions.values() for k in keys)

    def subscribers(self, exchange: str, symbol: str) -> frozenset[str]:
        """The subscribers that follow one market."""
        return frozenset(s for s, keys in self._subscriptions.items() if (exchange, symbol) in keys)

    def _forget_unwatched(self) -> None:
        watched = self.markets()
        for key in [k for k in self._quotes if k not in watched]:
            del self._quotes[key]

    # ------------------------------------------------------------------ prices

    async def refresh(self) -> dict[MarketKey, BastionError]:
        """Fetch every followed market once and fan the prices out; return the markets that failed."""
        by_exchange: dict[str, set[str]] = {}
        for exchange, symbol in self.markets():
            by_exchange.setdefault(exchange, set()).add(symbol)
        failures: dict[MarketKey, BastionError] = {}
        for exchange, symbols in sorted(by_exchange.items()):
            try:
                answers = await self._feeds[exchange].tickers(symbols)
            except BastionError as exc:
                failures.update({(exchange, s): exc for s in symbols})
                continue
            for symbol in symbols:
                answer = answers.get(symbol)
                if isinstance(answer, Ticker):
                    if not self.push(exchange, answer):
                        failures[(exchange, symbol)] = BastionError(f"{exchange} {symbol}: the ticker has no price")
                else:
                    failures[(exchange, symbol)] = answer or BastionError(f"{exchange} {symbol}: no ticker came")
        return failures

    def push(self, exchange: str, ticker: Ticker) -> bool:
        """Take one ticker update (from a refresh or a stream) and fan it out; False when it has no price."""
        key = (exchange, ticker.symbol)
        price = _price(ticker)
        if price is None:
            return False
        self._quotes[key] = (ticker, price, self.clock())
        for subscriber, keys in self._subscriptions.items():
            if key not in keys:
                continue
            marks = self._marks.setdefault(subscriber, {})
            mark = marks.get(key)
            if mark is None:
                marks[key] = _Marks(price, price)
            else:
                mark.high, mark.low = max(mark.high, price), min(mark.low, price)
        return True

    def price(self, exchange: str, symbol: str) -> PriceView | None:
        """The latest price of one market (extremes: that price), or None before the first."""
        quote = self._quotes.get((exchange, symbol))
        if quote is None:
            return None
        ticker, last, at = quote
        return PriceView(symbol=symbol, last=last, high=last, low=last, bid=ticker.bid, ask=ticker.ask, time_ms=at)

    def prices(self, subscriber: str) -> dict[str, PriceView]:
        """The subscriber's markets: latest price and the extremes since it last decided (by symbol)."""
        out = {}
        marks = self._marks.get(subscriber, {})
        for key in sorted(self._subscriptions.get(subscriber, ())):
            quote = self._quotes.get(key)
            mark = marks.get(key)
            if quote is None or mark is None:
                continue
            ticker, last, at = quote
            out[key[1]] = PriceView(
                symbol=key[1], last=last, high=mark.high, low=mark.low, bid=ticker.bid, ask=ticker.ask, time_ms=at
            )
        return out

    def decided(self, subscriber: str) -> None:
        """The subscriber decided on its prices: its extremes start again from the latest price."""
        for key, mark in self._marks.get(subscriber, {}).items():
            quote = self._quotes.get(key)
            if quote is not None:
                mark.high = mark.low = quote[1]

    # ------------------------------------------------------------------ candles

    async def candles(self, exchange: str, symbol: str, timeframe: str, count: int) -> tuple[Candle, ...]:
        """Return up to ``count`` latest *completed* candles, oldest first, fetched once for every asker.

        The series is fetched again only when more candles are wanted than were fetched, or
        when its forming candle should have closed and ``candle_refresh_ms`` passed.
        """
        if count <= 0:
            return ()
        feed = self._feeds.get(exchange)
        if feed is None:
            raise ValidationError(f"no market feed for exchange {exchange!r}; add one with add_feed first")
        span = _span_ms(timeframe)
        key = (exchange, symbol, timeframe)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = _Series(candles=(), forming_open_ms=0, fetched_ms=-(1 << 62), limit=0)
        async with series.lock:
            now = self.clock()
            due = now - series.fetched_ms >= self.candle_refresh_ms and now >= series.forming_open_ms + span
            if series.limit < count + 1 or due:
                limit = min(max(count + 1, series.limit), 1000)
                fetched = await feed.candles(symbol, timeframe, limit)
                self._store(series, fetched, span, now, limit)
        return series.candles[-count:]

    @staticmethod
    def _store(series: _Series, fetched: list[Candle], span: int, now: int, limit: int) -> None:
        series.fetched_ms, series.limit = now, limit
        if not fetched:
            series.candles, series.forming_open_ms = (), 0
            return
        forming = fetched[-1]
        # The last candle is still forming: on a replaying simulator market time is not wall
        # time, so it is dropped whatever its timestamp says; the others must have closed.
        horizon = max(now, forming.ts_ms)
        series.candles = tuple(c for c in fetched[:-1] if c.ts_ms + span <= horizon)
        series.forming_open_ms = forming.ts_ms

    async def close(self) -> None:
        """Close every feed."""
        feeds, self._feeds = self._feeds, {}
        for feed in feeds.values():
            await feed.close()
