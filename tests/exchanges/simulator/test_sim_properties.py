"""Property tests of the matching core: whatever happens, balances add up and never go negative."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.domain import Candle
from bastion.exchanges.simulator.apierrors import ApiError
from bastion.exchanges.simulator.candles import CandleSeries
from bastion.exchanges.simulator.matching import FeeSchedule
from bastion.exchanges.simulator.rules import MarketRules
from bastion.exchanges.simulator.venue import Venue

D = Decimal
START = {"USDT": D("1000"), "BTC": D("3")}


def _market(tick: str, step: str) -> MarketRules:
    return MarketRules(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        tick_size=D(tick),
        step_size=D(step),
        min_qty=D(step),
        max_qty=D(1_000_000),
        min_price=D(tick),
        max_price=D(1_000_000),
        min_notional=D("1"),
        max_notional=D(1_000_000),
    )


@st.composite
def scenarios(draw):
    tick, step = draw(st.sampled_from([("0.1", "0.01"), ("0.00000001", "0.0001"), ("0.01", "0.00001")]))
    tick_d = D(tick)
    base = D(100)
    candles = []

    def on_tick(value: Decimal) -> Decimal:
        return (value / tick_d).to_integral_value() * tick_d

    for i in range(draw(st.integers(3, 12))):
        # moves of up to +/-2 % per candle, ranges up to 3 %
        close = on_tick(base * (1 + D(draw(st.integers(-200, 200))) / 10_000))
        low = on_tick(close * (1 - D(draw(st.integers(0, 300))) / 10_000))
        high = on_tick(close * (1 + D(draw(st.integers(0, 300))) / 10_000))
        volume = D(draw(st.sampled_from(["0", "3", "40", "900"])))
        candles.append(Candle(1_700_000_000_000 + i * 60_000, close, high, low, close, volume))
    ops = draw(
        st.lists(
            st.one_of(
                st.tuples(
                    st.just("limit"),
                    st.sampled_from(["BUY", "SELL"]),
                    st.integers(-300, 300),  # price offset from the close, in basis points
                    st.integers(0, 400),  # order value in USDT (below 1 breaks the notional filter)
                    st.sampled_from(["GTC", "GTC", "GTC", "GTC", "IOC", "FOK"]),
                    st.sampled_from([None, D("0.3"), D("0.5")]),
                ),
                st.tuples(st.just("market"), st.sampled_from(["BUY", "SELL"]), st.integers(0, 400)),
                st.tuples(st.just("quote"), st.sampled_from(["BUY", "SELL"]), st.integers(1, 600)),
                st.tuples(st.just("cancel"), st.integers(0, 20)),
                st.tuples(st.just("advance"), st.integers(1, 3)),
            ),
            max_size=25,
        )
    )
    fees = FeeSchedule(
        maker=D(draw(st.sampled_from(["0", "0.001", "0.0025"]))),
        taker=D(draw(st.sampled_from(["0", "0.001", "0.0075"]))),
    )
    return _market(tick, step), CandleSeries(tuple(candles), 60_000), ops, fees


def _apply(venue: Venue, op: tuple) -> None:
    engine = venue.engine("BTCUSDT")
    rules = engine.rules
    kind = op[0]
    if kind == "limit":
        _, side, bps, value, tif, fraction = op
        price = rules.floor_price(engine.candle.close * (1 + D(bps) / 10_000))
        venue.place(
            "alice",
            "BTCUSDT",
            side=side,
            order_type="LIMIT",
            price=price,
            quantity=max(rules.step_size, rules.floor_qty(D(value) / price)),
            time_in_force=tif,
            fill_fraction=fraction,
        )
    elif kind == "market":
        quantity = max(rules.step_size, rules.floor_qty(D(op[2]) / engine.candle.close))
        venue.place("alice", "BTCUSDT", side=op[1], order_type="MARKET", quantity=quantity)
    elif kind == "quote":
        venue.place("alice", "BTCUSDT", side=op[1], order_type="MARKET", quote_order_qty=D(op[2]))
    elif kind == "cancel":
        open_orders = venue.open_orders("alice")
        if open_orders:
            engine.cancel("alice", order_id=open_orders[op[1] % len(open_orders)].order_id)
    else:
        engine.advance(op[1])


def _check(venue: Venue) -> None:
    balances = venue.ledger.balances("alice")
    fees = venue.ledger.fees_paid("alice")
    for asset, (free, locked) in balances.items():
        assert free >= 0, f"{asset} free went negative: {free}"
        assert locked >= 0, f"{asset} locked went negative: {locked}"
    # conservation: free + locked + fees paid == start +/- what the trades moved
    expected = dict(START)
    for trade in venue.trades("alice"):
        sign = 1 if trade.is_buyer else -1
        expected["BTC"] += sign * trade.qty
        expected["USDT"] -= sign * trade.quote_qty
    for asset, amount in expected.items():
        free, locked = balances[asset]
        assert free + locked + fees.get(asset, 0) == amount, asset
    # locks belong to open orders only, and add up
    open_orders = venue.open_orders("alice")
    assert balances["USDT"][1] == sum(o.locked for o in open_orders if o.side == "BUY")
    assert balances["BTC"][1] == sum(o.locked for o in open_orders if o.side == "SELL")
    for order in venue.orders("alice"):
        assert order.executed_qty == sum(t.qty for t in order.trades)
        assert order.cumm_quote_qty == sum(t.quote_qty for t in order.trades)
        assert order.executed_qty <= order.orig_qty
        if not order.is_open:
            assert order.locked == 0
        if order.type == "LIMIT" and order.side == "BUY":
            assert all(t.price <= order.price for t in order.trades)
        if order.type == "LIMIT" and order.side == "SELL":
            assert all(t.price >= order.price for t in order.trades)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_balances_are_conserved_and_never_negative(scenario):
    market, candles, ops, fees = scenario
    clock = iter(range(1_700_000_000_000, 1_800_000_000_000)).__next__
    venue = Venue([(market, candles, 0)], {"alice": START}, clock=clock, fees=fees)
    for op in ops:
        try:
            _apply(venue, op)
        except ApiError as exc:
            refusal = exc.code
        else:
            refusal = None
        assert refusal in (None, -1013, -2010)
        _check(venue)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_the_same_inputs_give_the_same_orders_and_trades(scenario):
    market, candles, ops, fees = scenario

    def run():
        clock = iter(range(1_700_000_000_000, 1_800_000_000_000)).__next__
        venue = Venue([(market, candles, 0)], {"alice": START}, clock=clock, fees=fees)
        for op in ops:
            with contextlib.suppress(ApiError):
                _apply(venue, op)
        return [(o.order_id, o.client_order_id, o.status, o.executed_qty, o.trades) for o in venue.orders("alice")]

    assert run() == run()
