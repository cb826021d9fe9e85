"""Candle files, kline aggregation, 24 h ticker and depth views."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.errors import ConfigError
from bastion.exchanges.simulator.apierrors import ApiError
from bastion.exchanges.simulator.candles import bucket_start, parse_candles_csv
from bastion.exchanges.simulator.config import SimulatorConfig, build_venue, bundled_market
from bastion.exchanges.simulator.market_data import MarketData

D = Decimal
HEADER = "timestamp_ms,open,high,low,close,volume\n"


def test_csv_loads_with_timeframe_and_price_increment():
    series = parse_candles_csv(HEADER + "0,1.5,1.75,1.25,1.5,10\n60000,1.5,1.6,1.4,1.55,3\n180000,1,2,1,2,1\n")
    assert len(series) == 3
    assert series.timeframe_ms == 60_000
    assert series.price_increment == D("0.01")
    assert series[0].high == D("1.75")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,o,h,l,c,v\n0,1,1,1,1,1\n", "first line must be the header"),
        (HEADER + "0,1,1,1,1\n60000,1,1,1,1,1\n", "expected 6 comma-separated fields"),
        (HEADER + "x,1,1,1,1,1\n60000,1,1,1,1,1\n", "timestamp_ms must be an integer, got 'x'"),
        (HEADER + "0,1,abc,1,1,1\n60000,1,1,1,1,1\n", "high must be a decimal number, got 'abc'"),
        (HEADER + "0,1,1,2,1,1\n60000,1,1,1,1,1\n", "expected low <= open, close <= high"),
        (HEADER + "60000,1,1,1,1,1\n0,1,1,1,1,1\n", "timestamps must increase strictly"),
        (HEADER + "0,1,1,1,1,1\n", "one candle is not enough"),
        (HEADER, "no candle rows"),
    ],
)
def test_bad_csv_says_where_and_what_was_expected(text, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_candles_csv(text, "prices.csv")
    assert "prices.csv" in str(err.value)


def test_weekly_buckets_start_on_monday_and_hourly_on_the_hour():
    monday = 1_704_067_200_000  # 2024-01-01 00:00 UTC, a Monday
    assert bucket_start(monday + 3 * 86_400_000 + 5, 7 * 86_400_000) == monday
    assert bucket_start(monday + 3_599_999, 3_600_000) == monday


@pytest.fixture(scope="module")
def btc() -> MarketData:
    venue = build_venue(SimulatorConfig(markets=(bundled_market("BTC/USDT"),), start=300), clock=lambda: 0)
    return MarketData(venue.engine("BTCUSDT"))


def test_klines_show_only_replayed_candles(btc):
    rows = btc.klines("5m", start_time=None, end_time=None, limit=1000)
    assert len(rows) == 301
    assert rows[-1][0] == btc.engine.candle.ts_ms
    assert rows[-1][6] == rows[-1][0] + 300_000 - 1
    future = btc.engine.candles[301].ts_ms
    assert btc.klines("5m", start_time=future, end_time=None, limit=10) == []


def test_klines_start_end_and_limit_select_like_binance(btc):
    series = btc.engine.candles
    start = series[10].ts_ms
    rows = btc.klines("5m", start_time=start, end_time=None, limit=5)
    assert [r[0] for r in rows] == [series[i].ts_ms for i in range(10, 15)]
    end = series[50].ts_ms
    rows = btc.klines("5m", start_time=None, end_time=end, limit=3)
    assert [r[0] for r in rows] == [series[i].ts_ms for i in (48, 49, 50)]
    rows = btc.klines("5m", start_time=start, end_time=series[12].ts_ms, limit=500)
    assert len(rows) == 3
    assert len(btc.klines("5m", start_time=None, end_time=None, limit=500)) == 301


def test_larger_intervals_aggregate_native_candles_and_the_current_bucket_is_partial(btc):
    series = btc.engine.candles
    hourly = btc.klines("1h", start_time=None, end_time=None, limit=1000)
    assert all(r[0] % 3_600_000 == 0 for r in hourly)
    first_full = hourly[1]
    members = [c for c in series.candles[:301] if first_full[0] <= c.ts_ms < first_full[0] + 3_600_000]
    assert len(members) == 12
    assert first_full[1:6] == [
        f"{members[0].open:.8f}",
        f"{max(c.high for c in members):.8f}",
        f"{min(c.low for c in members):.8f}",
        f"{members[-1].close:.8f}",
        f"{sum(c.volume for c in members):.8f}",
    ]
    last = hourly[-1]
    assert last[4] == f"{btc.engine.candle.close:.8f}"  # the live bucket ends at the current candle
    assert last[8] == (btc.engine.index - series.index_at_or_after(last[0]) + 1)


@pytest.mark.parametrize("interval", ["1m", "7m", "1M", "banana"])
def test_intervals_below_or_not_a_multiple_of_the_data_are_invalid(btc, interval):
    with pytest.raises(ApiError) as err:
        btc.klines(interval, start_time=None, end_time=None, limit=10)
    assert (err.value.code, err.value.msg) == (-1120, "Invalid interval.")


def test_ticker_24h_covers_the_last_day_of_replayed_candles(btc):
    ticker = btc.ticker_24h()
    window = btc.engine.candles.candles[301 - 288 : 301]
    assert ticker["openPrice"] == f"{window[0].open:.8f}"
    assert ticker["lastPrice"] == f"{window[-1].close:.8f}"
    assert ticker["highPrice"] == f"{max(c.high for c in window):.8f}"
    assert ticker["volume"] == f"{sum(c.volume for c in window):.8f}"
    assert D(ticker["bidPrice"]) < D(ticker["lastPrice"]) < D(ticker["askPrice"])
    assert ticker["closeTime"] == btc.engine.market_time - 1


def test_depth_is_twenty_levels_a_side_around_the_close(btc):
    depth = btc.depth(100)
    assert len(depth["bids"]) == 20
    assert len(depth["asks"]) == 20
    close = btc.engine.candle.close
    tick = btc.engine.rules.tick_size
    assert D(depth["bids"][0][0]) == close - tick
    assert D(depth["asks"][0][0]) == close + tick
    assert all(D(q) > 0 for _, q in depth["bids"] + depth["asks"])
    assert len(btc.depth(5)["asks"]) == 5
