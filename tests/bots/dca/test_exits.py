"""Trailing take-profit and stop-loss (with its timeout and stop_and_disable)."""

from decimal import Decimal

from bastion.bots.interface import CancelOrder, PlaceOrder, SaveState, Watch
from bastion.domain import OrderType
from support.core_harness import BTC_USDT, Harness, dca_bot

D = Decimal
P0 = "16726.1"
TP_LEVEL = D("16893.4")  # 16726.1 * 1.01 rounded up to the 0.1 tick
MINUTE = 60_000


def _harness(**overrides: object) -> Harness:
    return Harness(dca_bot(**overrides), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})


# --- trailing take-profit ----------------------------------------------------------------------------


def test_trailing_take_profit_rests_no_order_and_watches_the_level():
    h = _harness(trailing_enabled=True, trailing_deviation_pct="0.5")
    waiting = h.settle()
    assert h.active_legs() == []
    assert waiting.watch == (Watch(symbol="BTC/USDT", above=TP_LEVEL, below=None),)


def test_trailing_take_profit_arms_at_the_level_and_closes_on_the_pullback():
    h = _harness(trailing_enabled=True, trailing_deviation_pct="0.5")
    h.settle()

    armed = h.step("BTC/USDT", "16940", high="16950")
    assert h.only_deal().state["peak.0"] == "16950"
    stop = D("16865.2")  # 16950 * 0.995 = 16865.25, rounded down
    assert armed.watch == (Watch(symbol="BTC/USDT", above=D("16950.1"), below=stop),)
    assert h.active_legs() == []

    h.step("BTC/USDT", "17000", high="17000")  # a new high raises the stop
    assert h.only_deal().state["peak.0"] == "17000"
    assert h.decisions[-1].watch[0].below == D("16915")

    h.step("BTC/USDT", "16920")  # not back 0.5% yet
    assert h.closed == []
    assert h.active_legs() == []

    h.move("BTC/USDT", "16915")
    close = h.decide()
    [sell] = [a for a in close.actions if isinstance(a, PlaceOrder)]
    assert (sell.leg, sell.side, sell.type, sell.amount) == ("trail.0", "sell", OrderType.MARKET, D("0.00119"))
    h.settle()
    [closed] = h.closed
    assert closed.reason == "trailing take profit"
    assert closed.quote_profit == D("0.00119") * D("16915") - D("0.00119") * D(P0)
    assert closed.base_left == 0


def test_a_peak_and_its_pullback_in_one_view_do_not_close():
    # A wide candle (or a late wake in a crash): the order of high and last is unknown. Selling at
    # 16700 would sell below the 16726.1 entry, so the trail does not arm; it waits for the level again.
    h = _harness(trailing_enabled=True, trailing_deviation_pct="0.5")
    h.settle()
    decision = h.step("BTC/USDT", "16700", high="16950")
    assert h.closed == []
    assert "peak.0" not in h.only_deal().state
    assert decision.watch == (Watch(symbol="BTC/USDT", above=TP_LEVEL, below=None),)
    assert decision.notes == ("deal 1 BTC/USDT: reached 16893.4 and fell back to 16700 in one view; not armed",)

    h.step("BTC/USDT", "16900", high="16900")  # the level again, ending inside the trail: armed
    assert h.only_deal().state["peak.0"] == "16900"


def test_trailing_applies_to_the_last_take_profit_step_only():
    steps = [{"amount_pct": 50, "profit_pct": 1}, {"amount_pct": 50, "profit_pct": 2}]
    h = _harness(take_profit_pct=None, take_profit_steps=steps, trailing_enabled=True, trailing_deviation_pct="0.3")
    waiting = h.settle()
    assert h.active_legs() == ["tp.0.1"]
    assert waiting.watch == (Watch(symbol="BTC/USDT", above=D("17060.7"), below=None),)

    h.step("BTC/USDT", "17100", high="17100")  # step 1 fills on the way; the last step arms
    assert h.active_legs() == []
    assert h.only_deal().state["peak.0"] == "17100"
    h.step("BTC/USDT", "17040")  # 17100 * 0.997 = 17048.7
    [closed] = h.closed
    assert closed.reason == "trailing take profit"
    assert [(o.leg, o.filled) for o in closed.orders if o.side == "sell"] == [
        ("tp.0.1", D("0.00059")),
        ("trail.0", D("0.00060")),
    ]


# --- stop-loss ---------------------------------------------------------------------------------------

SL_LEVEL = D("16224.3")  # 3% below the 16726.1 entry, rounded down


def test_stop_loss_with_timeout_does_not_close_when_the_price_comes_back():
    h = _harness(stop_loss_pct="3", stop_loss_timeout_s=60)
    waiting = h.settle()
    assert waiting.watch == (Watch(symbol="BTC/USDT", above=None, below=SL_LEVEL),)
    start = h.now_ms

    beyond = h.step("BTC/USDT", "16200")
    assert SaveState(deal=1, values={"sl_since": str(start)}) in h.decisions[-2].actions
    assert beyond.wake_at_ms == start + MINUTE
    assert beyond.watch == (Watch(symbol="BTC/USDT", above=SL_LEVEL + D("0.1"), below=None),)

    h.advance(30_000)
    h.step("BTC/USDT", "16300")  # back above the stop before the timeout
    assert h.only_deal().state["sl_since"] == ""
    h.advance(MINUTE)
    h.settle()
    assert h.closed == []
    assert h.active_legs() == ["tp.0"]


def test_stop_loss_closes_at_market_when_the_price_stays_beyond_for_the_timeout():
    h = _harness(stop_loss_pct="3", stop_loss_timeout_s=60)
    h.settle()
    h.step("BTC/USDT", "16200")
    start = h.now_ms
    h.advance(MINUTE - 1)
    early = h.settle()
    assert early.wake_at_ms == start + MINUTE
    assert h.closed == []

    h.advance(1)
    h.move("BTC/USDT", "16150")
    first = h.decide()
    assert CancelOrder(deal=1, leg="tp.0", reason="stop loss") in first.actions
    assert not [a for a in first.actions if isinstance(a, PlaceOrder)]  # tp.0 still holds the coins
    second = h.decide()
    [sell] = [a for a in second.actions if isinstance(a, PlaceOrder)]
    assert (sell.leg, sell.side, sell.type, sell.amount) == ("sl", "sell", OrderType.MARKET, D("0.00119"))
    h.decide()
    [closed] = h.closed
    assert closed.reason == "stop loss"
    assert closed.quote_profit == D("0.00119") * (D("16150") - D(P0))
    assert h.only_deal().id == 2  # "stop" keeps the bot running: asap opens again


def test_stop_loss_without_timeout_fires_on_a_touch():
    h = _harness(stop_loss_pct="3")
    h.settle()
    h.step("BTC/USDT", "16400", low="16224.3")  # a wick to the stop
    [closed] = h.closed
    assert closed.reason == "stop loss"
    assert [o.leg for o in closed.orders] == ["base", "tp.0", "sl"]


def test_stop_loss_is_measured_from_the_average_entry():
    h = _harness(
        stop_loss_pct="3", safety_order_size="20", max_safety_orders=1, price_deviation_pct="2", active_safety_orders=1
    )
    h.settle()
    h.step("BTC/USDT", "16400", low="16391.5")  # so1: 0.00122 at 16391.5; average 39.901689 / 0.00241 = 16556.7
    waiting = h.settle()
    assert waiting.watch[0].below == D("16060.0")  # 3% below the new average (16060.02), not below P0
    h.step("BTC/USDT", "16100", low="16100")
    assert h.closed == []


def test_stop_and_disable_stops_new_deals():
    h = _harness(stop_loss_pct="3", stop_loss_type="stop_and_disable")
    h.settle()
    h.step("BTC/USDT", "16200")
    [closed] = h.closed
    assert closed.reason == "stop loss"
    assert h.state["disabled"] == "stop loss on deal 1 (BTC/USDT)"
    assert h.deals == {}
    h.advance(3_600_000)
    later = h.step("BTC/USDT", "16700")
    assert later.actions == ()
    assert later.notes == ("no new deals: disabled (stop loss on deal 1 (BTC/USDT))",)


def test_short_stop_loss_is_above_the_entry_and_buys_back():
    h = _harness(direction="short", stop_loss_pct="3")
    waiting = h.settle()
    level = D("17227.9")  # 16726.1 * 1.03 = 17227.883, rounded up
    assert waiting.watch == (Watch(symbol="BTC/USDT", above=level, below=None),)
    h.step("BTC/USDT", "17100", high=str(level))
    [closed] = h.closed
    assert closed.reason == "stop loss"
    assert [(o.leg, o.side) for o in closed.orders] == [("base", "sell"), ("tp.0", "buy"), ("sl", "buy")]
    assert closed.base_left == 0
    assert closed.quote_profit == D("0.00119") * (D(P0) - D("17100"))


def test_a_refused_market_close_is_retried_with_a_new_leg_then_given_up():
    h = _harness(stop_loss_pct="3", trailing_enabled=True, trailing_deviation_pct="0.5")
    h.settle()
    h.refuse = ("sl",)
    h.move("BTC/USDT", "16200")
    for _ in range(4):
        h.decide()
    assert [o.leg for o in h.only_deal().orders] == ["base", "sl", "sl.2", "sl.3"]
    last = h.decide()
    assert last.actions == ()
    assert last.notes[-1] == "deal 1 BTC/USDT: sl, sl.2, sl.3 ended without a fill; not sent again (needs attention)"
