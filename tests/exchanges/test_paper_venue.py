"""The paper venue: the simulator's matching core fed with live candles, in memory, kept across restarts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bastion.domain import Candle, Market
from bastion.exchanges.paper import PaperVenue
from bastion.exchanges.simulator.apierrors import ApiError
from bastion.exchanges.simulator.orders import CANCELED, FILLED, NEW

D = Decimal
MARKET = Market(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=D("0.01"),
    lot_step=D("0.00001"),
    min_amount=D("0.00001"),
    min_notional=D("5"),
)
TF = 60_000


def _candle(i: int, o: str, h: str, low: str, c: str, v: str = "1000") -> Candle:
    return Candle(1_700_000_000_000 + i * TF, D(o), D(h), D(low), D(c), D(v))


def _venue(usdt: str = "10000") -> PaperVenue:
    venue = PaperVenue("paper1", {"USDT": D(usdt)}, clock=lambda: 1)
    venue.add_market(MARKET, TF, [_candle(0, "100", "101", "99", "100"), _candle(1, "100", "102", "99.5", "101")])
    return venue


def test_a_market_buy_walks_the_book_of_the_latest_candle_and_pays_the_fee_in_base() -> None:
    venue = _venue()
    order = venue.place("BTC/USDT", side="buy", order_type="market", amount=D("0.1"), price=None, client_order_id="a")
    assert order.status == FILLED
    (trade,) = order.trades
    assert trade.price == D("101.01")  # the close plus one tick of spread
    assert (trade.commission, trade.commission_asset) == (D("0.0001"), "BTC")
    free = {a: f for a, (f, _) in venue.balances().items()}
    assert free == {"USDT": D("10000") - D("10.101"), "BTC": D("0.0999")}


def test_a_resting_limit_fills_at_its_price_when_a_new_candle_reaches_it_or_at_an_open_through_it() -> None:
    venue = _venue()
    buy = venue.place("BTC/USDT", side="buy", order_type="limit", amount=D("1"), price=D("99"), client_order_id="b")
    low = venue.place("BTC/USDT", side="buy", order_type="limit", amount=D("1"), price=D("97"), client_order_id="c")
    assert (buy.status, low.status) == (NEW, NEW)
    assert venue.balances()["USDT"] == (D("9804"), D("196"))
    assert venue.on_candles("BTC/USDT", [_candle(1, "1", "1", "1", "1"), _candle(2, "101", "101", "98.5", "100")]) == 1
    assert buy.status == FILLED
    assert buy.trades[0].price == D("99")
    assert buy.trades[0].is_maker
    assert low.status == NEW
    venue.on_candles("BTC/USDT", [_candle(3, "96", "97.5", "95", "97")])  # opens through 97: fills at the open
    assert low.status == FILLED
    assert low.trades[0].price == D("96")
    assert venue.balances()["USDT"] == (D("10000") - D("99") - D("96"), D("0"))  # the lock's savings came back


def test_an_order_the_balance_cannot_pay_is_refused_as_the_simulator_refuses_it() -> None:
    venue = _venue("10")
    with pytest.raises(ApiError) as caught:
        venue.place("BTC/USDT", side="buy", order_type="limit", amount=D("1"), price=D("99"), client_order_id="d")
    assert caught.value.code == -2010
    with pytest.raises(ApiError):  # a filter failure: under the minimum notional
        venue.place("BTC/USDT", side="buy", order_type="limit", amount=D("0.01"), price=D("99"), client_order_id="e")


def test_balances_and_resting_orders_survive_a_restart_and_candles_missed_meanwhile_fill_them() -> None:
    venue = _venue()
    venue.place("BTC/USDT", side="buy", order_type="limit", amount=D("1"), price=D("98"), client_order_id="f")
    gone = venue.place("BTC/USDT", side="buy", order_type="limit", amount=D("1"), price=D("90"), client_order_id="g")
    venue.cancel("BTC/USDT", "g")
    assert gone.status == CANCELED
    document = json.loads(json.dumps(venue.document()))  # what the database keeps
    again = PaperVenue.from_document("paper1", document, clock=lambda: 2)
    assert again.balances() == venue.balances()
    # The market comes back with the candles the exchange has now: one closed while nothing ran.
    again.add_market(MARKET, TF, [_candle(0, "100", "101", "99", "100"), _candle(1, "100", "102", "99.5", "101"),
                                  _candle(2, "101", "101", "97", "99")])  # fmt: skip
    order = again.find("BTC/USDT", client_order_id="f")
    assert order is not None
    assert order.status == FILLED
    assert order.trades[0].price == D("98")
    assert again.find("BTC/USDT", client_order_id="g") is not None
    # Order ids go on from where they were: the engine identifies orders by them.
    new = again.place("BTC/USDT", side="sell", order_type="limit", amount=D("0.5"), price=D("120"), client_order_id="h")
    assert new.order_id == 3
    assert again.balances()["BTC"] == (D("0.499"), D("0.5"))
