"""Time in force and myTrades paging in the simulator, in memory: the matching core and the handlers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.exchanges.simulator.api import BinanceApi, Call
from bastion.exchanges.simulator.apierrors import ApiError
from bastion.exchanges.simulator.auth import KeyRing
from bastion.exchanges.simulator.keys import KeyEntry
from bastion.exchanges.simulator.matching import FeeSchedule
from bastion.exchanges.simulator.params import Params

D = Decimal
# The default test book (see conftest): asks 100.1 x 0.23, 100.2 x 0.47, 100.3 x 0.71 ...; bids 99.9 x 0.23 ...


def bal(venue, asset, account="alice"):
    return venue.ledger.balances(account)[asset]


def limit(venue, side, qty, price, tif):
    return venue.place(
        "alice", "BTCUSDT", side=side, order_type="LIMIT", quantity=D(qty), price=D(price), time_in_force=tif
    )


def test_ioc_buy_fills_every_level_up_to_its_price_then_expires_and_unlocks(make_venue):
    venue = make_venue()
    order = limit(venue, "BUY", "1", "100.2", "IOC")
    assert order.status == "EXPIRED"
    assert [(t.price, t.qty) for t in order.trades] == [(D("100.1"), D("0.23")), (D("100.2"), D("0.47"))]
    assert order.executed_qty == D("0.70")
    assert bal(venue, "USDT") == (D(10000) - order.cumm_quote_qty, D(0))
    assert venue.engine("BTCUSDT").open_orders("alice") == []


def test_ioc_sell_that_does_not_cross_expires_with_nothing_filled(make_venue):
    venue = make_venue()
    order = limit(venue, "SELL", "0.5", "100.5", "IOC")
    assert (order.status, order.executed_qty, order.trades) == ("EXPIRED", D(0), [])
    assert bal(venue, "BTC") == (D(1), D(0))


def test_ioc_that_the_book_covers_is_filled(make_venue):
    venue = make_venue()
    order = limit(venue, "BUY", "0.5", "100.2", "IOC")
    assert (order.status, order.executed_qty) == ("FILLED", D("0.5"))
    assert bal(venue, "USDT")[1] == 0


def test_fok_fills_in_full_when_the_book_covers_it_within_its_price(make_venue):
    venue = make_venue()
    order = limit(venue, "SELL", "0.5", "99.8", "FOK")
    assert (order.status, order.executed_qty) == ("FILLED", D("0.5"))
    assert all(t.price >= D("99.8") for t in order.trades)


def test_fok_that_the_book_does_not_cover_within_its_price_expires_and_changes_nothing(make_venue):
    venue = make_venue()
    before = venue.engine("BTCUSDT").book().asks[0][1]
    order = limit(venue, "BUY", "0.5", "100.1", "FOK")  # only 0.23 at or below 100.1
    assert (order.status, order.executed_qty, order.trades) == ("EXPIRED", D(0), [])
    assert venue.engine("BTCUSDT").book().asks[0][1] == before
    assert bal(venue, "USDT") == (D(10000), D(0))


def test_gtc_rests_the_rest_after_crossing(make_venue):
    venue = make_venue()
    order = limit(venue, "BUY", "1", "100.1", "GTC")
    assert (order.status, order.executed_qty) == ("PARTIALLY_FILLED", D("0.23"))
    assert venue.engine("BTCUSDT").open_orders("alice") == [order]


# --- the handlers: Binance's parameter checks and paging ----------------------------------------


@pytest.fixture
def api(make_venue):
    venue = make_venue()
    key = KeyEntry(api_key="k" * 64, secret="s" * 64, account="alice")
    return BinanceApi(venue, KeyRing([key]), clock=lambda: 1_700_000_000_000, fees=FeeSchedule()), key


def order_call(key, **params):
    base = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.1"}
    return Call(Params({**base, **params}), key=key)


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"type": "LIMIT", "price": "100.1"}, -1102, "timeInForce"),
        ({"type": "LIMIT", "price": "100.1", "timeInForce": "DAY"}, -1115, "Invalid timeInForce."),
        ({"type": "LIMIT", "price": "100.1", "timeInForce": "ioc"}, -1115, "Invalid timeInForce."),
        ({"type": "MARKET", "timeInForce": "IOC"}, -1106, "timeInForce"),
        ({"type": "LIMIT_MAKER", "price": "99.0", "timeInForce": "GTC"}, -1106, "timeInForce"),
    ],
)
def test_bad_time_in_force_gets_binances_error(api, params, code, message):
    binance, key = api
    with pytest.raises(ApiError) as err:
        binance.new_order(order_call(key, **params))
    assert err.value.code == code
    assert message in err.value.msg


def test_an_ioc_order_is_answered_expired_with_its_fills(api):
    binance, key = api
    answer = binance.new_order(order_call(key, type="LIMIT", price="100.1", timeInForce="IOC", quantity="1"))
    assert (answer["status"], answer["timeInForce"], answer["executedQty"]) == ("EXPIRED", "IOC", "0.23000000")
    assert [f["qty"] for f in answer["fills"]] == ["0.23000000"]


def test_my_trades_pages_by_from_id_up_to_1000(make_venue, core):
    venue = make_venue(candles=core.flat_candles(volume="1000000"), balances={"USDT": "10000000"})
    key = KeyEntry(api_key="k" * 64, secret="s" * 64, account="alice")
    binance = BinanceApi(venue, KeyRing([key]), clock=lambda: 1_700_000_000_000, fees=FeeSchedule())
    engine = venue.engine("BTCUSDT")
    for _ in range(1200):
        engine.place("alice", side="BUY", order_type="MARKET", quantity=D("0.06"))
    assert len(engine.trades("alice")) == 1200

    def page(**params):
        return binance.my_trades(Call(Params({"symbol": "BTCUSDT", **params}), key=key))

    assert len(page()) == 500  # the most recent 500 by default
    assert page()[-1]["id"] == 1200
    first = page(fromId="1", limit="1000")
    assert [t["id"] for t in first] == list(range(1, 1001))
    second = page(fromId=str(first[-1]["id"] + 1), limit="1000")
    assert [t["id"] for t in second] == list(range(1001, 1201))
    assert len(page(fromId="1", limit="5000")) == 1000  # capped at 1000
    with pytest.raises(ApiError) as err:
        page(limit="0")
    assert err.value.code == -1130
