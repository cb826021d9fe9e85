"""The pure matching core: locking, fills, fees, filters, partial fills, expiry, ids."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.exchanges.simulator.apierrors import ApiError
from bastion.exchanges.simulator.matching import FeeSchedule

D = Decimal


def bal(venue, asset, account="alice"):
    return venue.ledger.balances(account)[asset]


# --- limit orders: locking and resting fills -----------------------------------------------------


def test_limit_buy_locks_price_times_qty_in_quote_and_cancel_unlocks(make_venue):
    venue = make_venue()
    order = venue.place("alice", "BTCUSDT", side="BUY", order_type="LIMIT", quantity=D("2"), price=D("95.0"))
    assert order.status == "NEW"
    assert bal(venue, "USDT") == (D("9810.00000000"), D("190.00000000"))
    venue.engine("BTCUSDT").cancel("alice", order_id=order.order_id)
    assert order.status == "CANCELED"
    assert bal(venue, "USDT") == (D("10000"), D(0))


def test_limit_sell_locks_base_qty(make_venue):
    venue = make_venue()
    venue.place("alice", "BTCUSDT", side="SELL", order_type="LIMIT", quantity=D("0.5"), price=D("105.0"))
    assert bal(venue, "BTC") == (D("0.5"), D("0.5"))


def test_resting_buy_fills_as_maker_at_its_price_when_an_advanced_candle_reaches_it(core, make_venue):
    candles = core.candles_from(
        [
            ("100", "100.5", "99.5", "100", "1000"),
            ("100", "100.5", "98.0", "99", "1000"),  # low 98.0 > 97.0: no fill
            ("99", "99.5", "96.5", "97", "1000"),  # low 96.5 <= 97.0: fill at 97.0
        ]
    )
    venue = make_venue(candles=candles)
    engine = venue.engine("BTCUSDT")
    order = venue.place("alice", "BTCUSDT", side="BUY", order_type="LIMIT", quantity=D("1"), price=D("97.0"))
    engine.advance()
    assert order.status == "NEW"
    engine.advance()
    assert order.status == "FILLED"
    [trade] = order.trades
    assert (trade.price, trade.qty, trade.is_maker, trade.is_buyer) == (D("97.0"), D("1"), True, True)
    assert (trade.commission, trade.commission_asset) == (D("0.00100000"), "BTC")
    assert bal(venue, "USDT") == (D("9903.00000000"), D(0))
    assert bal(venue, "BTC") == (D("1.99900000"), D(0))


def test_resting_sell_fills_when_high_reaches_it_and_pays_the_fee_in_quote(core, make_venue):
    candles = core.candles_from([("100", "100.5", "99.5", "100", "1000"), ("100", "103.0", "99.5", "102", "1000")])
    venue = make_venue(candles=candles)
    order = venue.place("alice", "BTCUSDT", side="SELL", order_type="LIMIT", quantity=D("0.5"), price=D("102.5"))
    venue.engine("BTCUSDT").advance()
    assert order.status == "FILLED"
    [trade] = order.trades
    assert (trade.quote_qty, trade.commission, trade.commission_asset) == (D("51.25"), D("0.05125"), "USDT")
    assert bal(venue, "USDT") == (D("10051.19875"), D(0))
    assert bal(venue, "BTC") == (D("0.5"), D(0))


def test_crossing_limit_buy_takes_up_to_its_price_and_rests_the_rest(make_venue):
    venue = make_venue()
    # asks: 100.1 x 0.23, 100.2 x 0.47, 100.3 x 0.71 ...
    order = venue.place("alice", "BTCUSDT", side="BUY", order_type="LIMIT", quantity=D("1"), price=D("100.2"))
    assert order.status == "PARTIALLY_FILLED"
    assert [(t.price, t.qty, t.is_maker) for t in order.trades] == [
        (D("100.1"), D("0.23"), False),
        (D("100.2"), D("0.47"), False),
    ]
    assert order.executed_qty == D("0.70")
    # locked is what the rest costs at the limit price; the better-priced fill's saving is free again
    assert bal(venue, "USDT")[1] == D("0.30") * D("100.2")
    assert bal(venue, "USDT")[0] == D(10000) - order.cumm_quote_qty - D("0.30") * D("100.2")
    assert venue.engine("BTCUSDT").book().best_ask == D("100.3")


def test_limit_maker_that_would_take_is_refused(make_venue):
    venue = make_venue()
    with pytest.raises(ApiError) as err:
        venue.place("alice", "BTCUSDT", side="BUY", order_type="LIMIT_MAKER", quantity=D("1"), price=D("100.1"))
    assert (err.value.code, err.value.msg) == (-2010, "Order would immediately match and take.")


def test_ioc_expires_the_unfilled_rest_and_fok_fills_all_or_nothing(make_venue):
    venue = make_venue()
    ioc = venue.place(
        "alice", "BTCUSDT", side="BUY", order_type="LIMIT", quantity=D("1"), price=D("100.1"), time_in_force="IOC"
    )
    assert (ioc.status, ioc.executed_qty) == ("EXPIRED", D("0.23"))
    fok = venue.place(
        "alice", "BTCUSDT", side="BUY", order_type="LIMIT", quantity=D("5"), price=D("100.2"), time_in_force="FOK"
    )
    assert (fok.status, fok.executed_qty, fok.trades) == ("EXPIRED", D(0), [])
    assert bal(venue, "USDT")[1] == 0


# --- market orders ---------------------------------------------------------------------------


def test_market_buy_walks_several_levels_one_trade_each(make_venue):
    venue = make_venue()
    order = venue.place("alice", "BTCUSDT", side="BUY", order_type="MARKET", quantity=D("1"))
    assert order.status == "FILLED"
    assert [(t.price, t.qty) for t in order.trades] == [
        (D("100.1"), D("0.23")),
        (D("100.2"), D("0.47")),
        (D("100.3"), D("0.30")),
    ]
    assert [t.trade_id for t in order.trades] == [1, 2, 3]
    assert order.cumm_quote_qty == sum(t.quote_qty for t in order.trades)
    assert all(not t.is_maker for t in order.trades)


def test_market_order_larger_than_the_book_expires_with_what_filled(core, make_venue):
    venue = make_venue(candles=core.flat_candles(volume="10"), balances={"USDT": "100000"})
    book_depth = sum(q for _, q in venue.engine("BTCUSDT").book().asks)
    order = venue.place("alice", "BTCUSDT", side="BUY", order_type="MARKET", quantity=book_depth + D(5))
    assert order.status == "EXPIRED"
    assert order.executed_qty == book_depth
    assert venue.engine("BTCUSDT").book().best_ask is None


def test_market_buy_by_quote_spends_at_most_the_quote_amount(make_venue):
    venue = make_venue()
    order = venue.place("alice", "BTCUSDT", side="BUY", order_type="MARKET", quote_order_qty=D("50"))
    assert order.status == "FILLED"
    assert order.cumm_quote_qty <= D(50)
    assert order.executed_qty % D("0.01") == 0
    assert order.orig_quote_qty == D(50)
    assert order.orig_qty == order.executed_qty
    assert bal(venue, "USDT")[0] == D(10000) - order.cumm_quote_qty


def test_market_sell_by_quote_receives_at_most_the_quote_amount(make_venue):
    venue = make_venue()
    order = venue.place("alice", "BTCUSDT", side="SELL", order_type="MARKET", quote_order_qty=D("30"))
    assert order.status == "FILLED"
    assert D(29) < order.cumm_quote_qty <= D(30)
    assert bal(venue, "BTC")[0] == D(1) - order.executed_qty


def test_taker_fee_defaults_to_a_tenth_of_a_percent_and_is_configurable(make_venue):
    venue = make_venue(fees=FeeSchedule(maker=D("0.002"), taker=D("0")))
    order = venue.place("alice", "BTCUSDT", side="SELL", order_type="MARKET", quantity=D("0.1"))
    assert [t.commission for t in order.trades] == [D(0)]
    default = make_venue().place("alice", "BTCUSDT", side="SELL", order_type="MARKET", quantity=D("0.1"))
    assert default.trades[0].commission == D("0.00999000")  # 0.1 x 99.9 x 0.001


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "failure"),
    [
        ({"order_type": "LIMIT", "quantity": D("1"), "price": D("95.05")}, "PRICE_FILTER"),
        ({"order_type": "LIMIT", "quantity": D("1.005"), "price": D("95.0")}, "LOT_SIZE"),
        ({"order_type": "LIMIT", "quantity": D("0.001"), "price": D("95.0")}, "LOT_SIZE"),
        ({"order_type": "LIMIT", "quantity": D("0.05"), "price": D("95.0")}, "NOTIONAL"),
        ({"order_type": "MARKET", "quantity": D("0.04")}, "NOTIONAL"),
        ({"order_type": "MARKET", "quote_order_qty": D("4.99")}, "NOTIONAL"),
    ],
)
def test_filters_refuse_with_binance_filter_failure(make_venue, order, failure):
    venue = make_venue()
    with pytest.raises(ApiError) as err:
        venue.place("alice", "BTCUSDT", side="BUY", **order)
    assert (err.value.code, err.value.msg, err.value.status) == (-1013, f"Filter failure: {failure}", 400)
    assert venue.orders("alice") == []


@pytest.mark.parametrize(
    "order",
    [
        {"side": "BUY", "order_type": "LIMIT", "quantity": D("200"), "price": D("95.0")},
        {"side": "SELL", "order_type": "LIMIT", "quantity": D("2"), "price": D("105.0")},
        {"side": "BUY", "order_type": "MARKET", "quantity": D("101")},
        {"side": "BUY", "order_type": "MARKET", "quote_order_qty": D("10001")},
        {"side": "SELL", "order_type": "MARKET", "quantity": D("1.01")},
    ],
)
def test_insufficient_balance_refuses_and_changes_nothing(core, make_venue, order):
    venue = make_venue(candles=core.flat_candles(volume="100000"))
    before = venue.ledger.balances("alice")
    with pytest.raises(ApiError) as err:
        venue.place("alice", "BTCUSDT", **order)
    assert (err.value.code, err.value.msg) == (-2010, "Account has insufficient balance for requested action.")
    assert venue.ledger.balances("alice") == before
    assert venue.orders("alice") == []


def test_a_client_order_id_is_unique_among_open_orders_of_the_account(make_venue):
    venue = make_venue(accounts={"alice": {"USDT": "1000"}, "bob": {"USDT": "1000"}})
    order = dict(side="BUY", order_type="LIMIT", quantity=D("1"), price=D("90.0"), client_order_id="mine-1")
    first = venue.place("alice", "BTCUSDT", **order)
    with pytest.raises(ApiError) as err:
        venue.place("alice", "BTCUSDT", **order)
    assert (err.value.code, err.value.msg) == (-2010, "Duplicate order sent.")
    venue.place("bob", "BTCUSDT", **order)  # another account may use it
    venue.engine("BTCUSDT").cancel("alice", client_order_id="mine-1")
    again = venue.place("alice", "BTCUSDT", **order)  # free again once the first is closed
    assert again.order_id != first.order_id
    assert venue.engine("BTCUSDT").find("alice", client_order_id="mine-1") is again


def test_cancel_of_a_closed_or_unknown_order_is_unknown_order_sent(make_venue):
    venue = make_venue()
    engine = venue.engine("BTCUSDT")
    filled = venue.place("alice", "BTCUSDT", side="BUY", order_type="MARKET", quantity=D("0.1"))
    for kwargs in ({"order_id": filled.order_id}, {"order_id": 999}, {"client_order_id": "nope"}):
        with pytest.raises(ApiError) as err:
            engine.cancel("alice", **kwargs)
        assert (err.value.code, err.value.msg) == (-2011, "Unknown order sent.")


def test_another_account_cannot_see_or_cancel_the_order(make_venue):
    venue = make_venue(accounts={"alice": {"USDT": "1000"}, "bob": {"USDT": "1000"}})
    order = venue.place("alice", "BTCUSDT", side="BUY", order_type="LIMIT", quantity=D("1"), price=D("90.0"))
    engine = venue.engine("BTCUSDT")
    assert engine.find("bob", order_id=order.order_id) is None
    with pytest.raises(ApiError):
        engine.cancel("bob", order_id=order.order_id)


# --- partial fills, replay, ids ----------------------------------------------------------------


def test_fill_fraction_fills_part_of_a_limit_order_now_and_rests_the_rest(make_venue):
    venue = make_venue()
    order = venue.place(
        "alice", "BTCUSDT", side="BUY", order_type="LIMIT", quantity=D("2"), price=D("95.0"), fill_fraction=D("0.25")
    )
    assert (order.status, order.executed_qty) == ("PARTIALLY_FILLED", D("0.50"))
    assert order.trades[0].price == D("95.0")
    assert bal(venue, "USDT") == (D(10000) - D("47.5") - D("142.5"), D("142.5"))
    assert venue.open_orders("alice") == [order]


def test_fill_fraction_on_a_market_order_expires_the_rest(make_venue):
    venue = make_venue()
    order = venue.place("alice", "BTCUSDT", side="BUY", order_type="MARKET", quantity=D("1"), fill_fraction=D("0.5"))
    assert (order.status, order.executed_qty) == ("EXPIRED", D("0.50"))


def test_the_replay_stays_on_the_last_candle_when_the_data_ends(core, make_venue):
    venue = make_venue(candles=core.flat_candles(3))
    engine = venue.engine("BTCUSDT")
    assert engine.advance(10) == 2
    assert engine.index == 2
    assert engine.at_end
    assert engine.advance() == 0


def test_now_in_the_market_is_the_close_of_the_current_candle(core, make_venue):
    engine = make_venue(candles=core.flat_candles(3), start=1).engine("BTCUSDT")
    assert engine.market_time == engine.candle.ts_ms + 60_000


def test_ids_are_deterministic_and_increase_per_symbol(make_venue):
    def run():
        venue = make_venue()
        for price in ("95.0", "96.0"):
            venue.place("alice", "BTCUSDT", side="BUY", order_type="LIMIT", quantity=D("1"), price=D(price))
        venue.place("alice", "BTCUSDT", side="BUY", order_type="MARKET", quantity=D("1"))
        return [(o.order_id, o.client_order_id, [t.trade_id for t in o.trades]) for o in venue.orders("alice")]

    first = run()
    assert first == run()
    assert [oid for oid, _, _ in first] == [1, 2, 3]
    assert first[2][2] == [1, 2, 3]
    assert all(len(cid) == 22 for _, cid, _ in first)


def test_quote_amounts_with_more_than_eight_decimals_round_cumulatively(core, make_venue):
    # ETH/BTC-like market: tick 1e-8 x step 1e-4 gives 12-decimal products
    market = core.rules("ETH/BTC", tick="0.00000001", step="0.0001", min_notional="0.0001")
    candles = core.candles_from(
        [("0.09876543", "0.09876549", "0.09876537", "0.09876543", "100")] * 2
        + [("0.09876543", "0.09876549", "0.09000000", "0.09876543", "100")]
    )
    venue = make_venue(candles=candles, market_rules=market, balances={"BTC": "1"})
    order = venue.place(
        "alice",
        "ETHBTC",
        side="BUY",
        order_type="LIMIT",
        quantity=D("0.0123"),
        price=D("0.09876541"),
        fill_fraction=D("0.5"),
    )
    venue.engine("ETHBTC").advance(2)
    assert order.status == "FILLED"
    assert sum(t.quote_qty for t in order.trades) == order.cumm_quote_qty
    assert order.cumm_quote_qty == (D("0.0123") * D("0.09876541")).quantize(D("0.00000001"))
    free, locked = bal(venue, "BTC")
    assert locked == 0
    assert free == D(1) - order.cumm_quote_qty
