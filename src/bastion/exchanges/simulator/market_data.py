"""Public market data of one symbol: klines, 24 h ticker, book ticker, price, depth.

Only candles replayed so far are visible. Klines of a larger interval are aggregated from the
native candles (Binance bucket alignment) and cached once complete; the bucket holding the
current candle is built on each request, like a live candle. The 24 h statistics are cached
per replay position.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from decimal import Decimal
from typing import Any

from bastion.domain import TIMEFRAMES_MS, Candle
from bastion.exchanges.simulator.apierrors import BAD_INTERVAL, ApiError
from bastion.exchanges.simulator.book import Book
from bastion.exchanges.simulator.candles import CandleSeries, aggregate, bucket_start, volume_of
from bastion.exchanges.simulator.format import fmt, q8
from bastion.exchanges.simulator.matching import SymbolEngine
from bastion.exchanges.simulator.render import Decimals

__all__ = ["KLINE_DEFAULT_LIMIT", "KLINE_MAX_LIMIT", "MarketData"]

KLINE_DEFAULT_LIMIT = 500
KLINE_MAX_LIMIT = 1000
_DAY_MS = 86_400_000
_THREE = Decimal(3)
_HALF = Decimal("0.5")



def _series(engine: SymbolEngine) -> CandleSeries:
    """The engine's recorded series: the HTTP fronts serve from one (a backtest drives lazy columns)."""
    if not isinstance(engine.candles, CandleSeries):
        raise TypeError(f"market data needs a recorded candle series, got {type(engine.candles).__name__}")
    return engine.candles

class _Buckets:
    """One interval's buckets over the whole series: open times and native index ranges."""

    __slots__ = ("firsts", "interval_ms", "lasts", "open_times", "rows")

    def __init__(self, engine: SymbolEngine, interval_ms: int) -> None:
        self.interval_ms = interval_ms
        self.open_times: list[int] = []
        self.firsts: list[int] = []
        self.lasts: list[int] = []
        for i, t in enumerate(_series(engine).open_times):
            start = bucket_start(t, interval_ms)
            if not self.open_times or self.open_times[-1] != start:
                self.open_times.append(start)
                self.firsts.append(i)
                self.lasts.append(i)
            else:
                self.lasts[-1] = i
        self.rows: list[list[Any] | None] = [None] * len(self.open_times)


class MarketData:
    """Read-only market views of one engine, in Binance's JSON shapes."""

    def __init__(self, engine: SymbolEngine) -> None:
        self.engine = engine
        self.decimals = Decimals(engine.rules)
        self._buckets: dict[str, _Buckets] = {}
        self._stats_index = -1
        self._stats: dict[str, Any] = {}

    # --- klines ---------------------------------------------------------------------------

    def _interval(self, interval: str) -> _Buckets:
        buckets = self._buckets.get(interval)
        if buckets is None:
            interval_ms = TIMEFRAMES_MS.get(interval)
            native = self.engine.candles.timeframe_ms
            if interval_ms is None or interval_ms < native or interval_ms % native != 0:
                raise ApiError(BAD_INTERVAL, "Invalid interval.")
            buckets = self._buckets[interval] = _Buckets(self.engine, interval_ms)
        return buckets

    def _row(self, candle: Candle, interval_ms: int, count: int) -> list[Any]:
        d = self.decimals
        quote_volume = q8(volume_of(candle) * (candle.high + candle.low + candle.close) / _THREE)
        return [
            candle.ts_ms,
            fmt(candle.open, d.price),
            fmt(candle.high, d.price),
            fmt(candle.low, d.price),
            fmt(candle.close, d.price),
            fmt(volume_of(candle), d.qty),
            candle.ts_ms + interval_ms - 1,
            fmt(quote_volume),
            count,
            fmt(volume_of(candle) * _HALF, d.qty),
            fmt(quote_volume * _HALF),
            "0",
        ]

    def klines(self, interval: str, *, start_time: int | None, end_time: int | None, limit: int) -> list[list[Any]]:
        """Return kline rows of ``interval`` (Binance's ``GET /api/v3/klines`` semantics).

        With ``start_time`` the first ``limit`` buckets opening at or after it, else the last
        ``limit`` buckets opening at or before ``end_time`` (or now).
        """
        b = self._interval(interval)
        index = self.engine.index
        visible = bisect_right(b.firsts, index)
        hi = visible if end_time is None else min(visible, bisect_right(b.open_times, end_time))
        if start_time is not None:
            lo = bisect_left(b.open_times, start_time)
            hi = min(hi, lo + limit)
        else:
            lo = max(0, hi - limit)
        candles = _series(self.engine).candles
        rows: list[list[Any]] = []
        for k in range(lo, hi):
            first, last = b.firsts[k], b.lasts[k]
            if last <= index:
                row = b.rows[k]
                if row is None:
                    merged = candles[first] if first == last else aggregate(candles[first : last + 1], b.open_times[k])
                    row = b.rows[k] = self._row(merged, b.interval_ms, last - first + 1)
            else:
                merged = aggregate(candles[first : index + 1], b.open_times[k])
                row = self._row(merged, b.interval_ms, index - first + 1)
            rows.append(row)
        return rows

    # --- tickers --------------------------------------------------------------------------

    def _stats_24h(self) -> dict[str, Any]:
        engine = self.engine
        if self._stats_index == engine.index:
            return self._stats
        d = self.decimals
        series = _series(engine)
        now = engine.market_time
        first = max(0, series.index_at_or_after(now - _DAY_MS))
        window = series.candles[first : engine.index + 1]
        merged = aggregate(window, window[0].ts_ms)
        quote_volume = sum((volume_of(c) * (c.high + c.low + c.close) / _THREE for c in window), Decimal(0))
        change = merged.close - merged.open
        percent = (change / merged.open * 100) if merged.open else Decimal(0)
        weighted = quote_volume / volume_of(merged) if volume_of(merged) else merged.close
        prev_close = series.candles[first - 1].close if first > 0 else merged.open
        self._stats = {
            "priceChange": fmt(change, d.price),
            "priceChangePercent": f"{percent:.3f}",
            "weightedAvgPrice": fmt(weighted, d.price),
            "prevClosePrice": fmt(prev_close, d.price),
            "lastPrice": fmt(merged.close, d.price),
            "lastQty": fmt(engine.rules.min_qty, d.qty),
            "openPrice": fmt(merged.open, d.price),
            "highPrice": fmt(merged.high, d.price),
            "lowPrice": fmt(merged.low, d.price),
            "volume": fmt(volume_of(merged), d.qty),
            "quoteVolume": fmt(q8(quote_volume)),
            "openTime": window[0].ts_ms,
            "closeTime": now - 1,
            "firstId": -1,
            "lastId": -1,
            "count": len(window),
        }
        self._stats_index = engine.index
        return self._stats

    def _best(self) -> tuple[str, str, str, str]:
        book = self.engine.book()
        d = self.decimals
        bid = _first_level(book, "bids")
        ask = _first_level(book, "asks")
        return (
            fmt(bid[0], d.price) if bid else fmt(Decimal(0), d.price),
            fmt(bid[1], d.qty) if bid else fmt(Decimal(0), d.qty),
            fmt(ask[0], d.price) if ask else fmt(Decimal(0), d.price),
            fmt(ask[1], d.qty) if ask else fmt(Decimal(0), d.qty),
        )

    def ticker_24h(self) -> dict[str, Any]:
        """Return the ``GET /api/v3/ticker/24hr`` entry."""
        stats = self._stats_24h()
        bid, bid_qty, ask, ask_qty = self._best()
        return {
            "symbol": self.engine.symbol_id,
            "priceChange": stats["priceChange"],
            "priceChangePercent": stats["priceChangePercent"],
            "weightedAvgPrice": stats["weightedAvgPrice"],
            "prevClosePrice": stats["prevClosePrice"],
            "lastPrice": stats["lastPrice"],
            "lastQty": stats["lastQty"],
            "bidPrice": bid,
            "bidQty": bid_qty,
            "askPrice": ask,
            "askQty": ask_qty,
            "openPrice": stats["openPrice"],
            "highPrice": stats["highPrice"],
            "lowPrice": stats["lowPrice"],
            "volume": stats["volume"],
            "quoteVolume": stats["quoteVolume"],
            "openTime": stats["openTime"],
            "closeTime": stats["closeTime"],
            "firstId": stats["firstId"],
            "lastId": stats["lastId"],
            "count": stats["count"],
        }

    def book_ticker(self) -> dict[str, Any]:
        """Return the ``GET /api/v3/ticker/bookTicker`` entry."""
        bid, bid_qty, ask, ask_qty = self._best()
        return {"symbol": self.engine.symbol_id, "bidPrice": bid, "bidQty": bid_qty, "askPrice": ask, "askQty": ask_qty}

    def price(self) -> dict[str, Any]:
        """Return the ``GET /api/v3/ticker/price`` entry (the current candle's close)."""
        return {"symbol": self.engine.symbol_id, "price": fmt(self.engine.candle.close, self.decimals.price)}

    def avg_price(self) -> dict[str, Any]:
        """Return the ``GET /api/v3/avgPrice`` answer (mean close of the last five minutes)."""
        engine = self.engine
        series = _series(engine)
        first = max(0, series.index_at_or_after(engine.market_time - 300_000))
        window = series.candles[first : engine.index + 1]
        mean = sum((c.close for c in window), Decimal(0)) / len(window)
        return {"mins": 5, "price": fmt(mean, self.decimals.price), "closeTime": engine.market_time - 1}

    def depth(self, limit: int) -> dict[str, Any]:
        """Return the ``GET /api/v3/depth`` answer with at most ``limit`` levels a side."""
        book = self.engine.book()
        d = self.decimals
        return {
            "lastUpdateId": self.engine.book_version,
            "bids": [[fmt(p, d.price), fmt(q, d.qty)] for p, q in book.bids if q > 0][:limit],
            "asks": [[fmt(p, d.price), fmt(q, d.qty)] for p, q in book.asks if q > 0][:limit],
        }


def _first_level(book: Book, side: str) -> list[Decimal] | None:
    for level in getattr(book, side):
        if level[1] > 0:
            return level
    return None
