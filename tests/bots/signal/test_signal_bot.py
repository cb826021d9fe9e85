from __future__ import annotations

from decimal import Decimal

from bastion.bots.interface import CancelOrder, OpenDeal, OrderRole, PlaceOrder, SaveState, Watch
from bastion.domain import OrderStatus, OrderType
from bots.signal.harness import T0_MS, Harness, signal_bot

# --- entering -----------------------------------------------------------------------------------


def test_enter_long_opens_a_deal_with_a_market_buy_sized_in_quote() -> None:
    h = Harness(signal_bot())
    h.send("enter_long", "BTC/USDT")
    decision = h.decide()
    assert decision.actions == (
        OpenDeal(ref="signal.1", pair="BTC/USDT", direction="long"),
        PlaceOrder(
            deal="signal.1",
            leg="entry",
            role=OrderRole.ENTRY,
            symbol="BTC/USDT",
            side="buy",
            type=OrderType.MARKET,
            amount=None,
            quote_amount=Decimal(25),
        ),
        SaveState(deal="signal.1", values={"signal": "1", "size": "25", "currency": "quote"}),
    )
    deal = h.only_deal()
    assert deal.order("entry").filled == Decimal("0.00125")
    assert h.pending == []  # the engine marks what the bot saw as handled


def test_a_signal_may_ask_for_a_smaller_entry_in_base_when_the_bot_sizes_in_base() -> None:
    h = Harness(signal_bot(order_size="0.01", order_currency="base"))
    h.send("enter_long", amount="0.005", currency_type="base")
    h.decide()
    entry = h.only_deal().order("entry")
    assert (entry.type, entry.side, entry.amount) == (OrderType.MARKET, "buy", Decimal("0.005"))


def test_a_signal_over_max_order_size_or_in_the_other_currency_is_refused() -> None:
    h = Harness(signal_bot(max_order_size="50"))
    h.send("enter_long", amount="50.01")
    h.send("enter_long", amount="0.001", currency_type="base")
    decision = h.decide()
    assert decision.actions == ()
    assert "above the max_order_size 50" in decision.notes[0]
    assert "expected currency_type 'quote'" in decision.notes[1]


def test_a_second_entry_on_a_pair_with_an_open_deal_is_ignored_with_a_note() -> None:
    h = Harness(signal_bot(max_active_deals=2))
    h.send("enter_long", "BTC/USDT")
    h.decide()
    h.send("enter_long", "BTC/USDT")
    decision = h.decide()
    assert decision.actions == ()
    assert decision.notes == ("signal 2 enter_long BTC/USDT: ignored: a deal on BTC/USDT is already open",)


def test_max_active_deals_caps_entries_across_pairs() -> None:
    h = Harness(signal_bot())
    h.send("enter_long", "BTC/USDT")
    h.send("enter_long", "ETH/USDT")
    decision = h.decide()
    assert [a.pair for a in decision.actions if isinstance(a, OpenDeal)] == ["BTC/USDT"]
    assert "ignored: max_active_deals 1 deals are open" in decision.notes[0]


def test_signals_are_read_oldest_first() -> None:
    h = Harness(signal_bot())
    h.send("enter_long", "ETH/USDT", received_ms=T0_MS - 1000)
    h.send("enter_long", "BTC/USDT", received_ms=T0_MS - 2000)
    decision = h.decide()
    assert [a.pair for a in decision.actions if isinstance(a, OpenDeal)] == ["BTC/USDT"]


def test_a_signal_that_waited_longer_than_max_lag_is_refused() -> None:
    h = Harness(signal_bot(max_lag_s=30))
    h.send("enter_long", received_ms=T0_MS - 30_001)
    decision = h.decide()
    assert decision.actions == ()
    assert "refused: it arrived 30.001 s ago, more than max_lag_s 30" in decision.notes[0]


def test_a_direction_the_bot_does_not_trade_is_refused() -> None:
    h = Harness(signal_bot())
    h.send("enter_short")
    decision = h.decide()
    assert decision.actions == ()
    assert "'enter_short' is short, which bot 'tv-signals' does not trade" in decision.notes[0]


def test_an_entry_below_the_market_minimum_opens_nothing() -> None:
    h = Harness(signal_bot(max_order_size="100"))
    h.send("enter_long", amount="4")
    decision = h.decide()
    assert decision.actions == ()
    assert "no deal opened, the entry would be refused" in decision.notes[0]
    assert "minimum notional 5" in decision.notes[0]


def test_an_entry_rejected_without_a_fill_closes_the_deal() -> None:
    h = Harness(signal_bot())
    h.refuse = ("entry",)
    h.send("enter_long")
    h.decide()
    h.decide()
    assert h.deals == {}
    assert h.closed[0].reason == "entry order rejected without a fill"


def test_a_deal_whose_entry_the_engine_lost_places_it_again_from_the_saved_size() -> None:
    h = Harness(signal_bot(), fill_market=False)
    h.send("enter_long", amount="20")
    h.decide()
    h.deals[1].orders.clear()  # as if the engine lost the order before it reached the exchange
    decision = h.decide()
    assert decision.actions == (
        PlaceOrder(
            deal=1,
            leg="entry",
            role=OrderRole.ENTRY,
            symbol="BTC/USDT",
            side="buy",
            type=OrderType.MARKET,
            amount=None,
            quote_amount=Decimal(20),
        ),
    )


def test_an_exit_for_a_deal_without_its_entry_closes_the_deal() -> None:
    h = Harness(signal_bot(), fill_market=False)
    h.send("enter_long")
    h.decide()
    h.deals[1].orders.clear()
    h.send("exit_long")
    h.decide()
    assert h.deals == {}
    assert h.closed[0].reason == "exit signal before the entry was placed"


# --- exiting ------------------------------------------------------------------------------------


def test_exit_long_sells_the_net_base_at_market_then_closes_once_filled() -> None:
    h = Harness(signal_bot(), fee_rate="0.001", buy_fee_in_base=True)
    h.send("enter_long")
    h.decide()
    h.move("BTC/USDT", "21000")
    h.send("exit_long")
    decision = h.decide()
    net = Decimal("0.00125") - Decimal("0.00125") * Decimal("0.001")  # filled - fee_base
    sell = PlaceOrder(
        deal=1,
        leg="exit",
        role=OrderRole.EXIT,
        symbol="BTC/USDT",
        side="sell",
        type=OrderType.MARKET,
        amount=Decimal("0.00124"),
    )
    assert Decimal("0.00124") <= net < Decimal("0.00125")
    assert decision.actions == (SaveState(deal=1, values={"closing": "exit", "exit_signal": "2"}), sell)
    h.settle()
    assert h.deals == {}
    assert h.closed[0].reason == "exit signal"
    assert [o.leg for o in h.closed[0].orders] == ["entry", "exit"]


def test_an_exit_without_an_open_deal_is_ignored() -> None:
    h = Harness(signal_bot())
    h.send("exit_long")
    decision = h.decide()
    assert decision.actions == ()
    assert decision.notes == ("signal 1 exit_long BTC/USDT: ignored: no open long deal on BTC/USDT",)


def test_an_exit_seen_again_after_a_crash_is_a_no_op() -> None:
    h = Harness(signal_bot(), fill_market=False)
    h.send("enter_long")
    h.decide()
    h.fill(1, "entry")
    h.send("exit_long")
    first = h.decide()
    assert [a.leg for a in first.actions if isinstance(a, PlaceOrder)] == ["exit"]
    h.send("exit_long")  # the same signal again, as if the engine died before marking it handled
    again = h.decide()
    assert not [a for a in again.actions if isinstance(a, PlaceOrder)]
    assert "already closing (exit signal)" in again.notes[0]


def test_an_exit_before_the_entry_filled_cancels_the_entry_then_sells_what_filled() -> None:
    h = Harness(signal_bot(), fill_market=False)
    h.send("enter_long")
    h.decide()
    h.fill(1, "entry", amount="0.001")
    h.send("exit_long")
    decision = h.decide()
    assert CancelOrder(deal=1, leg="entry", reason="exit signal before the entry filled") in decision.actions
    decision = h.decide()
    assert decision.actions[-1] == PlaceOrder(
        deal=1,
        leg="exit",
        role=OrderRole.EXIT,
        symbol="BTC/USDT",
        side="sell",
        type=OrderType.MARKET,
        amount=Decimal("0.001"),
    )


def test_a_closing_order_rejected_is_tried_again_at_most_three_times() -> None:
    h = Harness(signal_bot())
    h.send("enter_long")
    h.decide()
    h.refuse = ("exit",)
    h.send("exit_long")
    for _ in range(5):
        h.decide()
    assert h.only_deal().legs == ["entry", "exit", "exit.2", "exit.3"]
    assert "3 closing orders ended without a fill" in h.notes[-1]
    assert "close the remaining 0.00125 BTC by hand" in h.notes[-1]


def test_enter_short_sells_base_first_and_exit_short_buys_it_back() -> None:
    h = Harness(signal_bot(directions=["long", "short"]))
    h.send("enter_short")
    decision = h.decide()
    assert decision.actions[0] == OpenDeal(ref="signal.1", pair="BTC/USDT", direction="short")
    assert decision.actions[1] == PlaceOrder(
        deal="signal.1",
        leg="entry",
        role=OrderRole.ENTRY,
        symbol="BTC/USDT",
        side="sell",
        type=OrderType.MARKET,
        amount=Decimal("0.00125"),
    )
    h.move("BTC/USDT", "19000")
    h.send("exit_short")
    decision = h.decide()
    assert decision.actions[-1] == PlaceOrder(
        deal=1,
        leg="exit",
        role=OrderRole.EXIT,
        symbol="BTC/USDT",
        side="buy",
        type=OrderType.MARKET,
        amount=Decimal("0.00125"),
    )
    h.settle()
    assert h.closed[0].reason == "exit signal"
    assert h.closed[0].direction == "short"


def test_exit_long_does_not_close_a_short_deal() -> None:
    h = Harness(signal_bot(directions=["long", "short"]))
    h.send("enter_short")
    h.decide()
    h.send("exit_long")
    decision = h.decide()
    assert "no open long deal on BTC/USDT" in decision.notes[0]
    assert len(h.deals) == 1


# --- take-profit and stop-loss ------------------------------------------------------------------


def test_take_profit_rests_after_the_entry_and_closes_the_deal_when_filled() -> None:
    h = Harness(signal_bot(take_profit_pct="2"))
    h.send("enter_long")
    h.decide()
    decision = h.decide()
    assert decision.actions == (
        PlaceOrder(
            deal=1,
            leg="tp",
            role=OrderRole.TAKE_PROFIT,
            symbol="BTC/USDT",
            side="sell",
            type=OrderType.LIMIT,
            amount=Decimal("0.00125"),
            price=Decimal("20400.0"),
        ),
    )
    h.move("BTC/USDT", "20500")
    h.settle()
    assert h.closed[0].reason == "take profit"


def test_an_exit_while_the_take_profit_rests_cancels_it_before_selling() -> None:
    h = Harness(signal_bot(take_profit_pct="2"))
    h.send("enter_long")
    h.settle()
    h.send("exit_long")
    decision = h.decide()
    assert CancelOrder(deal=1, leg="tp", reason="exit signal") in decision.actions
    assert not [a for a in decision.actions if isinstance(a, PlaceOrder)]
    decision = h.decide()
    assert [a.leg for a in decision.actions if isinstance(a, PlaceOrder)] == ["exit"]
    h.settle()
    assert h.closed[0].reason == "exit signal"


def test_stop_loss_is_watched_and_closes_at_market_once_touched() -> None:
    h = Harness(signal_bot(take_profit_pct="2", stop_loss_pct="5"))
    h.send("enter_long")
    h.decide()
    decision = h.decide()
    assert decision.watch == (Watch(symbol="BTC/USDT", below=Decimal("19000.0")),)
    h.move("BTC/USDT", "19200", low="19000")
    decision = h.decide()
    assert SaveState(deal=1, values={"closing": "sl"}) in decision.actions
    assert CancelOrder(deal=1, leg="tp", reason="stop loss") in decision.actions
    decision = h.decide()
    assert decision.actions == (
        PlaceOrder(
            deal=1,
            leg="sl",
            role=OrderRole.STOP_LOSS,
            symbol="BTC/USDT",
            side="sell",
            type=OrderType.MARKET,
            amount=Decimal("0.00125"),
        ),
    )
    h.settle()
    assert h.closed[0].reason == "stop loss"


def test_short_stop_loss_watches_above_and_buys_back() -> None:
    h = Harness(signal_bot(directions=["short"], stop_loss_pct="5"))
    h.send("enter_short")
    h.decide()
    decision = h.decide()
    assert decision.watch == (Watch(symbol="BTC/USDT", above=Decimal("21000.0")),)
    h.move("BTC/USDT", "21000", high="21000")
    h.settle()
    assert h.closed[0].reason == "stop loss"
    assert h.closed[0].orders[-1].side == "buy"


def test_a_cancelled_take_profit_is_not_placed_again() -> None:
    h = Harness(signal_bot(take_profit_pct="2"))
    h.send("enter_long")
    h.settle()
    h.set_status(1, "tp", OrderStatus.CANCELLED)
    decision = h.decide()
    assert decision.actions == ()
    assert "take-profit ended cancelled" in decision.notes[0]
