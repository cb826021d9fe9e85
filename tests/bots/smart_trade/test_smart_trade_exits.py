from decimal import Decimal

from bastion.bots.interface import CancelOrder, CloseDeal, DealOutcome, PlaceOrder, Watch
from bastion.domain import OrderStatus, OrderType

BTC = "BTC/USDT"
T0 = 1_673_000_000_000


def places(decision) -> list[PlaceOrder]:
    return [a for a in decision.actions if isinstance(a, PlaceOrder)]


def cancels(decision) -> list[str]:
    return [a.leg for a in decision.actions if isinstance(a, CancelOrder)]


def entered(make_trade, **changes):
    trade = make_trade(**changes)
    trade.fill("entry")
    trade.decide()
    return trade


def test_targets_are_hit_in_order_even_when_the_price_gaps_through_them(make_trade):
    trade = entered(
        make_trade,
        take_profit=[
            {"price": 16900, "amount_pct": 25},
            {"price": 17000, "amount_pct": 25},
            {"price": 17100, "amount_pct": 25},
            {"price": 17200, "amount_pct": 25},
        ],
    )
    assert [o.leg for o in trade.active()] == ["tp1"]
    # The price jumps past all four: only the working target can fill.
    assert trade.move("17300") == ["tp1"]
    (second,) = places(trade.decide())
    assert (second.leg, second.price, second.amount) == ("tp2", Decimal("17000.0"), Decimal("0.0015"))
    trade.fill("tp2")
    assert [p.leg for p in places(trade.decide())] == ["tp3"]
    trade.fill("tp3")
    (last,) = places(trade.decide())
    assert (last.leg, last.amount) == ("tp4", Decimal("0.0015"))
    trade.fill("tp4")
    decision = trade.decide()
    assert decision.actions[-1] == CloseDeal(deal=1, outcome=DealOutcome.TAKE_PROFIT, reason="take_profit")
    assert [o.leg for o in trade.decisions[-1].actions if isinstance(o, PlaceOrder)] == []
    assert trade.closed == [(1, "take_profit")]


def test_the_last_target_sells_what_remains_after_base_fees(make_trade):
    trade = make_trade()
    trade.fill("entry", fee_base="0.000006")  # the position is 0.005994 BTC
    (first,) = places(trade.decide())
    assert first.amount == Decimal("0.00299")
    trade.fill("tp1")
    (second,) = places(trade.decide())
    assert second.amount == Decimal("0.00300")  # 0.005994 - 0.00299 floored


def test_a_target_too_small_for_the_market_is_left_to_the_last(make_trade):
    trade = entered(
        make_trade,
        amount="0.0008",
        take_profit=[{"profit_pct": 1, "amount_pct": 40}, {"profit_pct": 2, "amount_pct": 60}],
        stop_loss=None,
    )
    # 40 % of 0.0008 is 0.00032 BTC x 16887.2 = 5.40 USDT: placed. Then the rest, 0.00048.
    assert [(o.leg, o.amount) for o in trade.active()] == [("tp1", Decimal("0.00032"))]


def test_a_target_cancelled_by_hand_passes_its_rest_to_the_last(make_trade):
    trade = entered(make_trade)
    trade.fill("tp1", amount="0.001")
    trade.end("tp1", OrderStatus.CANCELLED)
    (second,) = places(trade.decide())
    assert (second.leg, second.amount) == ("tp2", Decimal("0.005"))


def test_trailing_last_target_follows_the_peak_and_sells_on_the_pullback(make_trade):
    trade = entered(
        make_trade,
        take_profit=[
            {"profit_pct": 1, "amount_pct": 50},
            {"profit_pct": 2, "amount_pct": 50, "trailing_deviation_pct": "0.5"},
        ],
    )
    trade.move("16900")
    decision = trade.decide()  # tp1 filled: the last target places no order, it watches 17054.4
    assert places(decision) == []
    assert Watch(symbol=BTC, above=Decimal("17054.4")) in decision.watch
    decision = trade.decide(last="17100")
    assert places(decision) == []
    assert trade.deal.state["tp_peak"] == "17100"
    assert Watch(symbol=BTC, below=Decimal("17014.5")) in decision.watch  # 17100 - 0.5 %
    assert Watch(symbol=BTC, above=Decimal("17100.1")) in decision.watch
    trade.decide(last="17200")  # new peak: the trailing level is now 17114
    assert places(trade.decide(last="17120")) == []
    (sell,) = places(trade.decide(last="17110"))
    assert (sell.leg, sell.type, sell.side, sell.amount) == ("tp2", OrderType.MARKET, "sell", Decimal("0.003"))
    trade.fill("tp2")
    assert trade.decide().actions[-1] == CloseDeal(deal=1, outcome=DealOutcome.TAKE_PROFIT, reason="take_profit")


def test_stop_loss_triggers_on_the_low_cancels_the_target_then_sells_the_rest(make_trade):
    trade = entered(make_trade)
    trade.cancel_at_once = False
    decision = trade.decide(last="16450", low="16380")
    assert cancels(decision) == ["tp1"]
    assert places(decision) == []
    assert trade.deal.state["phase"] == "exit"
    assert trade.deal.state["reason"] == "stop_loss"
    trade.fill("tp1", amount="0.001", price="16887.2")  # part of it filled before the cancel
    trade.confirm_cancels()
    (sell,) = places(trade.decide())
    assert (sell.leg, sell.type, sell.side, sell.amount) == ("exit", OrderType.MARKET, "sell", Decimal("0.005"))
    trade.fill("exit")
    assert trade.decide().actions[-1] == CloseDeal(deal=1, outcome=DealOutcome.STOP_LOSS, reason="stop_loss")


def test_stop_loss_with_a_timeout_needs_the_price_to_stay_beyond_the_stop(make_trade):
    trade = entered(make_trade, stop_loss={"loss_pct": 2, "timeout_s": 60})
    decision = trade.decide(last="16380", at_ms=T0 + 1_000)
    assert cancels(decision) == []
    assert decision.wake_at_ms == T0 + 61_000
    assert Watch(symbol=BTC, above=Decimal("16385.7")) in decision.watch  # back above resets the timer
    trade.decide(last="16390", at_ms=T0 + 30_000)
    assert trade.deal.state["since"] == ""
    decision = trade.decide(last="16370", at_ms=T0 + 40_000)
    assert decision.wake_at_ms == T0 + 100_000
    assert cancels(trade.decide(last="16360", at_ms=T0 + 99_999)) == []
    decision = trade.decide(last="16360", at_ms=T0 + 100_000)
    assert cancels(decision) == ["tp1"]
    (sell,) = places(trade.decide())
    assert (sell.leg, sell.amount) == ("exit", Decimal("0.006"))


def test_a_dip_under_the_stop_between_wakes_does_not_start_the_timeout(make_trade):
    trade = entered(make_trade, stop_loss={"loss_pct": 2, "timeout_s": 60})
    decision = trade.decide(last="16500", low="16300")
    assert decision.wake_at_ms is None
    assert trade.deal.state["since"] == ""


def test_trailing_stop_follows_the_peak_at_the_same_distance(make_trade):
    trade = entered(make_trade, stop_loss={"loss_pct": 2, "trailing": True})
    decision = trade.decide(last="16800")
    # Distance 16720 - 16385.6 = 334.4 below the best price since entry.
    assert trade.deal.state["stop"] == "16465.6"
    assert Watch(symbol=BTC, below=Decimal("16465.6")) in decision.watch
    assert Watch(symbol=BTC, above=Decimal("16800.1")) in decision.watch
    trade.decide(last="16700")
    assert trade.deal.state["stop"] == "16465.6"  # never back down
    trade.decide(last="16850")
    assert trade.deal.state["stop"] == "16515.6"
    assert cancels(trade.decide(last="16515")) == ["tp1"]
    assert trade.deal.state["reason"] == "stop_loss"


def test_trailing_stop_checks_the_old_stop_before_raising_it(make_trade):
    trade = entered(make_trade, stop_loss={"loss_pct": 2, "trailing": True})
    # Between two wakes the price went to 16900 and to 16520, in an unknown order. The stop was 16385.6
    # then: not hit. Raised to 16565.6 from the peak, it holds as long as the last price is above it.
    trade.decide(last="16600", high="16900", low="16520")
    assert trade.deal.state["phase"] == "open"
    assert trade.deal.state["stop"] == "16565.6"
    # Here the last price is already below the raised stop (17100 - 334.4): it exits now.
    decision = trade.decide(last="16650", high="17100", low="16640")
    assert trade.deal.state["stop"] == "16765.6"
    assert cancels(decision) == ["tp1"]


def test_move_to_breakeven_after_the_first_target(make_trade):
    trade = entered(make_trade, stop_loss={"loss_pct": 2, "move_to_breakeven": True})
    assert trade.deal.state["stop"] == "16385.6"
    trade.move("16900")
    decision = trade.decide()
    assert trade.deal.state["stop"] == "16720"
    assert Watch(symbol=BTC, below=Decimal("16720")) in decision.watch
    assert [p.leg for p in places(decision)] == ["tp2"]
    assert cancels(trade.decide(last="16720")) == ["tp2"]
    (sell,) = places(trade.decide())
    assert (sell.leg, sell.amount) == ("exit", Decimal("0.003"))


def test_short_stop_is_above_and_exits_by_buying_back(make_trade):
    trade = entered(make_trade, direction="short", stop_loss={"price": 17000})
    cancels(trade.decide(last="17010"))
    (buy,) = places(trade.decide())
    assert (buy.leg, buy.side, buy.amount) == ("exit", "buy", Decimal("0.006"))


def test_a_finished_trade_does_nothing_more(make_trade):
    trade = entered(make_trade)
    trade.decide(last="16000")  # cancels tp1
    trade.decide()
    trade.fill("exit")
    trade.decide()
    assert trade.closed == [(1, "stop_loss")]
    decision = trade.decide(last="15000")
    assert decision.actions == ()
    assert decision.notes == ("smart trade finished",)


def test_short_trailing_stop_follows_the_trough(make_trade):
    trade = entered(make_trade, direction="short", stop_loss={"loss_pct": 2, "trailing": True})
    trade.decide(last="16500")
    assert trade.deal.state["stop"] == "16834.4"  # 16500 + 334.4
    assert cancels(trade.decide(last="16835")) == ["tp1"]
