"""3Commas partial exits (``position_percent`` below 100, an amount in base) and delayed signals
(``delay_seconds``), on the real engine core through :class:`support.core_harness.SignalHarness`."""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.interface import CancelOrder, OpenDeal, PlaceOrder
from bastion.domain import OrderType
from bots.signal.harness import Harness, signal_bot


def _placed(decision: object) -> list[PlaceOrder]:
    return [a for a in decision.actions if isinstance(a, PlaceOrder)]  # type: ignore[attr-defined]


def test_a_position_percent_exit_sells_that_share_then_the_take_profit_rests_for_the_rest() -> None:
    h = Harness(signal_bot(order_size="100", take_profit_pct="2"))
    h.send("enter_long")
    h.settle()
    deal = h.only_deal()
    assert deal.order("entry").filled == Decimal("0.005")
    assert deal.order("tp").amount == Decimal("0.005")
    h.send("exit_long", amount="40", currency_type="percent")
    decision = h.decide()
    assert CancelOrder(deal=1, leg="tp", reason="partial exit") in decision.actions
    assert _placed(decision) == []  # the take-profit holds the position on the exchange: cancelled first
    assert h.pending == []  # the signal is handled; the deal remembers the partial exit
    decision = h.decide()
    [sell] = _placed(decision)
    assert (sell.leg, sell.side, sell.type, sell.amount) == ("px.2", "sell", OrderType.MARKET, Decimal("0.002"))
    decision = h.decide()
    [again] = _placed(decision)
    assert (again.leg, again.type, again.amount, again.price) == ("tp.2", OrderType.LIMIT, Decimal("0.003"),
                                                                   Decimal("20400.0"))  # fmt: skip
    assert h.settle().actions == ()
    assert h.closed == []  # the deal stays open with what is left
    h.move("BTC/USDT", "20500")
    h.settle()
    assert h.closed[0].reason == "take profit"


def test_an_exit_of_an_amount_in_base_sells_that_much_and_a_later_full_exit_sells_the_rest() -> None:
    h = Harness(signal_bot(order_size="100"))
    h.send("enter_long")
    h.settle()
    h.send("exit_long", amount="0.0015", currency_type="base")
    h.settle()
    deal = h.only_deal()
    assert deal.order("px.2").filled == Decimal("0.0015")
    h.send("exit_long")
    h.settle()
    assert h.closed[0].reason == "exit signal"
    sold = [e.order for e in h.core.orders.values() if e.order.side == "sell"]
    assert sum((o.filled for o in sold), Decimal(0)) == Decimal("0.005")


def test_a_partial_exit_that_would_leave_less_than_the_market_minimum_closes_the_deal() -> None:
    h = Harness(signal_bot(order_size="100"))  # 0.005 BTC at 20000; the minimum is 5 USDT
    h.send("enter_long")
    h.settle()
    h.send("exit_long", amount="99", currency_type="percent")  # would leave 1 USDT
    h.settle()
    assert h.closed[0].reason == "exit signal"
    assert any("would leave less than the market minimum" in n for n in h.notes)


def test_a_percent_exit_is_refused_on_an_entry_and_above_one_hundred() -> None:
    h = Harness(signal_bot(order_size="100"))
    h.send("enter_long", amount="50", currency_type="percent")
    h.send("exit_long", amount="150", currency_type="percent")
    decision = h.decide()
    assert decision.actions == ()
    assert "is for exits" in decision.notes[0]
    assert "expected above 0 and at most 100" in decision.notes[1]


def test_a_delayed_signal_waits_in_the_core_until_it_is_due_then_opens_its_deal() -> None:
    h = Harness(signal_bot())
    h.send("enter_long", due_ms=h.now_ms + 30_000)
    decision = h.decide()
    assert decision.actions == ()
    assert len(h.pending) == 1  # not handed over, so not marked handled: it stays pending
    h.advance(29_999)
    assert h.decide().actions == ()
    h.advance(1)
    decision = h.decide()
    assert [a for a in decision.actions if isinstance(a, OpenDeal)] == [
        OpenDeal(ref="signal.1", pair="BTC/USDT", direction="long")
    ]
    assert h.pending == []


def test_a_delayed_signal_counts_from_its_due_time_for_the_lag_check() -> None:
    h = Harness(signal_bot(max_lag_s=60))
    h.send("enter_long", due_ms=h.now_ms + 600_000)  # ten minutes: longer than max_lag_s
    h.advance(600_000)
    assert [a for a in h.decide().actions if isinstance(a, OpenDeal)]


def test_an_exit_sized_in_quote_sells_that_much_worth_at_the_last_price() -> None:
    h = Harness(signal_bot(order_size="100"))
    h.send("enter_long")
    h.settle()
    h.move("BTC/USDT", "25000")
    h.send("exit_long", amount="50", currency_type="quote")
    h.settle()
    assert h.only_deal().order("px.2").filled == Decimal("0.002")  # 50 USDT at 25000
