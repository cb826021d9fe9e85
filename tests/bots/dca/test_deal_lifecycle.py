"""A deal from base order to take-profit, driven through BotViews with fills fed back."""

from decimal import Decimal

from bastion.bots.dca import entry_totals, take_profit_price
from bastion.bots.interface import CancelOrder, CloseDeal, DealOutcome, OpenDeal, OrderRole, PlaceOrder, Watch
from bastion.domain import OrderStatus, OrderType
from support.core_harness import BTC_USDT, Harness, dca_bot

D = Decimal
P0 = "16726.1"  # close of the first bundled BTC/USDT 5m candle
LADDER = {
    "safety_order_size": "20",
    "max_safety_orders": 3,
    "price_deviation_pct": "1",
    "safety_order_step_scale": "2",
    "safety_order_volume_scale": "2",
}


def _harness(**overrides: object) -> Harness:
    return Harness(dca_bot(**{**LADDER, **overrides}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})


def _placed(decision) -> dict[str, PlaceOrder]:
    return {a.leg: a for a in decision.actions if isinstance(a, PlaceOrder)}


def test_first_decision_opens_a_deal_with_a_market_base_order_sized_in_quote():
    h = _harness()
    decision = h.decide()
    assert decision.actions == (
        OpenDeal(ref="new.BTC/USDT", pair="BTC/USDT", direction="long"),
        PlaceOrder(
            deal="new.BTC/USDT",
            leg="base",
            role=OrderRole.ENTRY,
            symbol="BTC/USDT",
            side="buy",
            type=OrderType.MARKET,
            amount=None,
            quote_amount=D(20),
        ),
    )


def test_after_the_base_fill_the_first_safety_order_and_tp_0_rest():
    h = _harness()
    h.decide()  # open; the harness fills the market order: 0.00119 BTC at 16726.1
    placed = _placed(h.decide())
    assert list(placed) == ["so1", "tp.0"]
    so1, tp0 = placed["so1"], placed["tp.0"]
    assert (so1.side, so1.type, so1.price, so1.amount) == ("buy", OrderType.LIMIT, D("16558.8"), D("0.00120"))
    assert (tp0.side, tp0.type, tp0.price, tp0.amount) == ("sell", OrderType.LIMIT, D("16893.4"), D("0.00119"))


def test_full_long_deal_two_safety_fills_then_take_profit():
    h = _harness()
    h.settle()
    deal_id = h.only_deal().id
    assert h.active_legs() == ["so1", "tp.0"]

    h.step("BTC/USDT", "16600", low="16558.8")  # so1 fills
    assert h.active_legs() == ["so2", "tp.1"]
    assert h.order("so2").price == D("16224.3")  # 3% below P0
    assert h.order("so2").amount == D("0.00246")  # 40 USDT

    h.step("BTC/USDT", "16300", low="16224.3")  # so2 fills
    assert h.active_legs() == ["so3", "tp.2"]
    assert h.order("so3").price == D("15555.2")  # 7% below P0
    assert h.order("so3").amount == D("0.00514")  # 80 USDT
    tp2 = h.order("tp.2")
    entry = entry_totals([h.order("base"), h.order("so1"), h.order("so2")], "long")
    assert tp2.amount == entry.base == D("0.00485")
    assert tp2.price == BTC_USDT.round_price(entry.average * D("1.01"), "up")

    h.step("BTC/USDT", "16700", high=str(tp2.price))  # the take-profit fills
    [closed] = h.closed
    assert closed.id == deal_id
    assert closed.reason == "take profit"
    assert closed.base_left == 0
    assert [o.status for o in closed.orders if o.leg == "so3"] == [OrderStatus.CANCELLED]
    spent = entry.quote
    assert closed.quote_profit == D("0.00485") * tp2.price - spent
    assert closed.quote_profit >= spent / 100  # at least the 1% asked for
    # asap: the next deal opened in the same decision that closed this one
    assert h.only_deal().id == deal_id + 1


def test_take_profit_is_replaced_with_a_new_leg_after_each_safety_fill():
    h = _harness()
    h.settle()
    h.move("BTC/USDT", "16600", low="16558.8")  # so1 fills

    first = h.decide()
    # The old take-profit holds the coins on the exchange: cancel it, and place nothing that sells yet.
    assert [a for a in first.actions if isinstance(a, CancelOrder)] == [
        CancelOrder(deal=1, leg="tp.0", reason="safety order 1 filled: new average entry")
    ]
    assert "tp.1" not in _placed(first)

    second = h.decide()  # the cancel is confirmed
    tp1 = _placed(second)["tp.1"]
    entry = entry_totals([h.order("base"), h.order("so1")], "long")
    assert tp1.amount == entry.base == D("0.00239")
    assert tp1.price == take_profit_price(
        direction="long",
        take_profit_type="total",
        profit_pct=D(1),
        entry=entry,
        base_order_size=D(20),
        market=BTC_USDT,
    )
    assert tp1.price < h.order("tp.0").price  # the average came down
    assert h.settle().actions == ()


def test_active_safety_orders_are_kept_resting_up_to_the_limit():
    h = _harness(
        max_safety_orders=4, active_safety_orders=2, safety_order_step_scale="1", safety_order_volume_scale="1"
    )
    h.settle()
    assert h.active_legs() == ["so1", "so2", "tp.0"]
    assert [h.order(leg).price for leg in ("so1", "so2")] == [D("16558.8"), D("16391.5")]

    h.step("BTC/USDT", "16500", low="16558.8")  # so1 fills: so3 tops the resting ones up to 2
    assert h.active_legs() == ["so2", "so3", "tp.1"]

    h.step("BTC/USDT", "16000", low="16000")  # so2 and so3 fill together
    assert h.active_legs() == ["so4", "tp.3"]  # only 4 exist

    h.step("BTC/USDT", "15900", low="15900")  # so4 fills
    assert h.active_legs() == ["tp.4"]


def test_decision_watches_the_next_safety_order_that_is_not_resting():
    h = _harness(stop_loss_pct="10")
    waiting = h.settle()
    so2_price = D("16224.3")
    assert waiting.watch == (Watch(symbol="BTC/USDT", above=None, below=so2_price),)  # nearer than the stop
    assert waiting.wake_at_ms is None


def test_a_level_already_crossed_is_not_watched():
    # so2's level (16224.3) is passed while so1 (16558.8) has not been reported filled yet.
    h = _harness()
    h.settle()
    h.fill(1, "so1", amount="0.00001")  # a sliver: so1 stays active, so2 is not placed yet
    h.quote("BTC/USDT", "16200")
    decision = h.decide()
    assert decision.actions == ()
    assert decision.watch == ()


def test_limit_base_order_rests_at_the_current_price():
    h = _harness(base_order_type="limit")
    decision = h.decide()
    base = _placed(decision)["base"]
    assert (base.type, base.price, base.amount, base.quote_amount) == (OrderType.LIMIT, D(P0), D("0.00119"), None)
    assert h.settle().actions == ()  # nothing more until it fills
    assert h.active_legs() == ["base"]
    h.step("BTC/USDT", "16720", low="16720")
    assert h.active_legs() == ["so1", "tp.0"]


def test_a_base_order_rejected_without_a_fill_closes_the_deal():
    h = _harness(base_order_type="limit")
    h.refuse = ("base",)  # the exchange refuses it
    h.decide()
    decision = h.decide()
    assert (
        CloseDeal(deal=1, outcome=DealOutcome.ENTRY_UNFILLED, reason="base order rejected without a fill")
        in decision.actions
    )


def test_take_profit_sells_what_the_account_holds_net_of_base_fees():
    h = Harness(dca_bot(**LADDER), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0}, fee_rate="0.001", buy_fee_in_base=True)
    h.settle()
    base = h.order("base")
    assert base.fee_base == D("0.00000119")
    held = base.filled - base.fee_base  # 0.00118881
    assert h.order("tp.0").amount == BTC_USDT.floor_amount(held) == D("0.00118")

    h.step("BTC/USDT", "16600", low="16558.8")  # so1 fills, fee in base again
    so1 = h.order("so1")
    held += so1.filled - so1.fee_base
    assert h.order("tp.1").amount == BTC_USDT.floor_amount(held) == D("0.00238")

    h.step("BTC/USDT", "16800", high="16900")
    [closed] = h.closed
    assert closed.reason == "take profit"
    assert D(0) <= closed.base_left < BTC_USDT.lot_step  # only dust below one lot stays behind


def test_partial_fills_wait_and_a_partly_filled_safety_order_counts_once_cancelled():
    h = _harness()
    h.settle()
    h.fill(1, "so1", amount="0.00060")  # half of so1
    assert h.settle().actions == ()  # an active safety order does not move the take-profit
    assert h.active_legs() == ["so1", "tp.0"]

    h.fill(1, "tp.0", price="16893.4")  # the take-profit sells the base order's coins
    h.decide()  # so1 is cancelled first: its half fill must be sold too
    assert h.order("so1").status is OrderStatus.CANCELLED
    h.settle()
    tp1 = h.order("tp.1")
    assert tp1.amount == D("0.00060")
    h.step("BTC/USDT", "16800", high=str(tp1.price))
    [closed] = h.closed
    assert closed.reason == "take profit"
    assert closed.base_left == 0
    assert closed.quote_profit > 0


def test_take_profit_steps_sell_in_parts_and_stop_the_safety_orders():
    steps = [{"amount_pct": 50, "profit_pct": 1}, {"amount_pct": 50, "profit_pct": 2}]
    h = _harness(take_profit_pct=None, take_profit_steps=steps)
    h.settle()
    assert h.active_legs() == ["so1", "tp.0.1", "tp.0.2"]
    assert (h.order("tp.0.1").amount, h.order("tp.0.1").price) == (D("0.00059"), D("16893.4"))
    assert (h.order("tp.0.2").amount, h.order("tp.0.2").price) == (D("0.00060"), D("17060.7"))

    h.step("BTC/USDT", "16900", high="16900")  # step 1 fills: no more averaging down
    assert h.active_legs() == ["tp.0.2"]
    h.step("BTC/USDT", "17100", high="17100")
    [closed] = h.closed
    assert closed.reason == "take profit"
    assert closed.base_left == 0


def test_same_view_gives_equal_decisions_at_every_step():
    h = _harness(stop_loss_pct="5", stop_loss_timeout_s=60)
    bot = h.bot
    path = [("16726.1", None, None), ("16600", None, "16558.8"), ("16100", None, "16100"), ("16400", "16500", None)]
    for last, high, low in path:
        h.move("BTC/USDT", last, high=high, low=low)
        for _ in range(5):
            view = h.view()
            assert bot.decide(view) == bot.decide(view) == bot.decide(h.view())
            if not h.decide().actions:
                break
        h.advance(30_000)
