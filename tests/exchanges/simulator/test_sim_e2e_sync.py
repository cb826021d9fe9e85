"""End to end with the real sync ccxt binance client against the simulator subprocess."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from support.simulator import SimulatorProcess, bundled_csv, make_key

pytestmark = pytest.mark.timeout(60)

ACCOUNTS = ["limits", "cancels", "markets", "quotes", "resting", "lookups", "balances"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    keys = [make_key(name, {"USDT": "10000", "BTC": "1", "ETH": "5"}) for name in ACCOUNTS]
    markets = {"BTC/USDT": bundled_csv("BTC/USDT"), "ETH/BTC": bundled_csv("ETH/BTC")}
    with SimulatorProcess(tmp_path_factory.mktemp("sim-sync"), markets=markets, keys=keys) as process:
        yield process


@pytest.fixture(autouse=True)
def _no_unknown_requests(sim: SimulatorProcess) -> Iterator[None]:
    yield
    assert sim.unknown() == []


def client(sim: SimulatorProcess, account: str):
    exchange = sim.client(account, timeout_ms=5000)
    exchange.load_markets()
    return exchange


def test_load_markets_gives_binance_precision_and_limits(sim):
    exchange = client(sim, "lookups")
    btc = exchange.market("BTC/USDT")
    assert (btc["id"], btc["spot"], btc["active"], btc["base"], btc["quote"]) == ("BTCUSDT", True, True, "BTC", "USDT")
    assert btc["precision"]["price"] == 0.1
    assert btc["precision"]["amount"] == 0.00001
    assert btc["limits"]["amount"]["min"] == 0.00001
    assert btc["limits"]["cost"]["min"] == 5
    assert btc["limits"]["price"]["min"] == 0.1
    eth = exchange.market("ETH/BTC")
    assert eth["precision"]["price"] == 0.00000001
    assert eth["precision"]["amount"] == 0.0001
    assert eth["limits"]["cost"]["min"] == 0.0001
    assert set(exchange.symbols) == {"BTC/USDT", "ETH/BTC"}


def test_fetch_ohlcv_returns_replayed_candles_and_aggregates_larger_intervals(sim):
    exchange = client(sim, "lookups")
    state = sim.state()["symbols"]["BTCUSDT"]
    five = exchange.fetch_ohlcv("BTC/USDT", "5m", limit=24)
    assert len(five) == 24
    assert five[-1][0] == state["openTime"]  # the current candle is the last one visible
    assert five[-1][4] == float(state["close"])
    hourly = exchange.fetch_ohlcv("BTC/USDT", "1h", limit=3)
    assert all(c[0] % 3_600_000 == 0 for c in hourly)
    last = hourly[-1]
    members = [c for c in exchange.fetch_ohlcv("BTC/USDT", "5m", since=last[0], limit=12) if c[0] < last[0] + 3_600_000]
    assert last[1] == members[0][1]
    assert last[4] == members[-1][4]
    assert last[2] == max(c[2] for c in members)
    assert last[3] == min(c[3] for c in members)
    assert last[5] == pytest.approx(sum(c[5] for c in members))


def test_fetch_ticker_and_order_book_follow_the_current_candle(sim):
    exchange = client(sim, "lookups")
    close = float(sim.state()["symbols"]["BTCUSDT"]["close"])
    ticker = exchange.fetch_ticker("BTC/USDT")
    assert ticker["last"] == close
    assert ticker["bid"] < close < ticker["ask"]
    assert ticker["high"] >= close >= ticker["low"]
    assert ticker["baseVolume"] > 0
    book = exchange.fetch_order_book("BTC/USDT", 5)
    assert len(book["bids"]) == 5
    assert len(book["asks"]) == 5
    assert book["bids"][0][0] == ticker["bid"]
    assert book["asks"][0][0] == ticker["ask"]
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    assert exchange.fetch_tickers(["BTC/USDT", "ETH/BTC"]).keys() == {"BTC/USDT", "ETH/BTC"}


def test_limit_order_lifecycle_create_fetch_list_cancel(sim):
    exchange = client(sim, "limits")
    price = round(float(sim.state()["symbols"]["BTCUSDT"]["close"]) * 0.9, 1)
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, price, {"clientOrderId": "lifecycle-1"})
    assert (order["status"], order["clientOrderId"], order["filled"]) == ("open", "lifecycle-1", 0)
    balance = exchange.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(0.01 * price)
    assert balance["USDT"]["free"] == pytest.approx(10000 - 0.01 * price)
    fetched = exchange.fetch_order(order["id"], "BTC/USDT")
    assert (fetched["id"], fetched["price"], fetched["amount"], fetched["type"]) == (order["id"], price, 0.01, "limit")
    by_client_id = exchange.fetch_order(None, "BTC/USDT", {"clientOrderId": "lifecycle-1"})
    assert by_client_id["id"] == order["id"]
    assert [o["id"] for o in exchange.fetch_open_orders("BTC/USDT")] == [order["id"]]
    assert [o["id"] for o in exchange.fetch_open_orders()] == [order["id"]]
    canceled = exchange.cancel_order(order["id"], "BTC/USDT")
    assert canceled["status"] == "canceled"
    assert exchange.fetch_open_orders("BTC/USDT") == []
    assert exchange.fetch_balance()["USDT"]["free"] == 10000
    assert [o["status"] for o in exchange.fetch_orders("BTC/USDT")] == ["canceled"]


def test_cancel_all_orders_of_a_symbol(sim):
    exchange = client(sim, "cancels")
    price = round(float(sim.state()["symbols"]["BTCUSDT"]["close"]) * 0.8, 1)
    for _ in range(3):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.001, price)
    canceled = exchange.cancel_all_orders("BTC/USDT")
    assert [o["status"] for o in canceled] == ["canceled"] * 3
    assert exchange.fetch_open_orders("BTC/USDT") == []
    assert exchange.fetch_balance()["USDT"]["used"] == 0


def test_market_buy_fills_with_fee_in_base_reported_in_fills_and_my_trades(sim):
    exchange = client(sim, "markets")
    order = exchange.create_order("BTC/USDT", "market", "buy", 0.02)
    assert order["status"] == "closed"
    assert order["filled"] == 0.02
    assert order["trades"], "FULL response carries the fills"
    assert sum(t["fee"]["cost"] for t in order["trades"]) == pytest.approx(0.00002)
    assert {t["fee"]["currency"] for t in order["trades"]} == {"BTC"}
    trades = exchange.fetch_my_trades("BTC/USDT")
    assert [t["order"] for t in trades] == [order["id"]] * len(trades)
    assert all(t["takerOrMaker"] == "taker" and t["side"] == "buy" for t in trades)
    assert sum(t["amount"] for t in trades) == pytest.approx(0.02)
    assert exchange.fetch_balance()["BTC"]["free"] == pytest.approx(1 + 0.02 - 0.00002)


def test_market_buy_by_quote_amount_both_ways(sim):
    exchange = client(sim, "quotes")
    first = exchange.create_order("BTC/USDT", "market", "buy", None, None, {"quoteOrderQty": 25})
    assert first["status"] == "closed"
    assert 24 < first["cost"] <= 25
    second = exchange.create_market_buy_order_with_cost("BTC/USDT", 30)
    assert 29 < second["cost"] <= 30
    raw = sim.orders("quotes")
    assert [o["origQuoteOrderQty"] for o in raw] == ["25.00000000", "30.00000000"]
    assert exchange.fetch_balance()["USDT"]["free"] == pytest.approx(10000 - first["cost"] - second["cost"])


def test_resting_limit_buy_fills_after_advance_and_the_maker_fee_shows_in_my_trades(sim):
    exchange = client(sim, "resting")
    candles = exchange.fetch_ohlcv("BTC/USDT", "5m", limit=1)
    low = candles[-1][3]
    price = round(low - 0.1, 1)
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, price)
    assert order["status"] == "open"
    for _ in range(200):
        if float(sim.advance(1, symbol="BTCUSDT")["BTCUSDT"]["low"]) <= price:
            break
    filled = exchange.fetch_order(order["id"], "BTC/USDT")
    assert (filled["status"], filled["filled"], filled["average"]) == ("closed", 0.01, price)
    [trade] = exchange.fetch_my_trades("BTC/USDT")
    assert (trade["takerOrMaker"], trade["price"], trade["amount"]) == ("maker", price, 0.01)
    assert (trade["fee"]["currency"], trade["fee"]["cost"]) == ("BTC", 0.00001)
    assert sim.balances("resting")["BTC"]["fees"] == "0.00001000"


def test_second_market_and_account_endpoints(sim):
    exchange = client(sim, "balances")
    order = exchange.create_order("ETH/BTC", "market", "sell", 0.5)
    assert order["status"] == "closed"
    assert {t["fee"]["currency"] for t in order["trades"]} == {"BTC"}
    balance = exchange.fetch_balance()
    assert balance["ETH"]["free"] == pytest.approx(4.5)
    assert balance["BTC"]["free"] > 1
    restrictions = exchange.sapiGetAccountApiRestrictions()
    assert restrictions["enableReading"] is True
    assert restrictions["enableSpotAndMarginTrading"] is True
    assert restrictions["enableWithdrawals"] is False
    assert restrictions["ipRestrict"] is False
    assert exchange.fetch_time() > 1_600_000_000_000
    assert exchange.fetch_status()["status"] == "ok"
    assert Decimal(sim.balances("balances")["ETH"]["free"]) == Decimal("4.5")
