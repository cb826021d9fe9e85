"""When a new deal opens: cooldown, max_active_deals, start conditions, run-time minimums."""

from decimal import Decimal

from bastion.bots.dca import rsi
from bastion.bots.interface import OpenDeal, PlaceOrder, SaveState, Signal
from bastion.domain import Market
from support.core_harness import BTC_USDT, ETH_USDT, Harness, dca_bot, load_candles

D = Decimal
P0 = "16726.1"
FIVE_MINUTES = 300_000


def _opened(decision) -> list[str]:
    return [a.pair for a in decision.actions if isinstance(a, OpenDeal)]


def _take_profit(h: Harness) -> None:
    h.step("BTC/USDT", "16900", high="16900")


def test_cooldown_delays_the_next_deal():
    h = Harness(dca_bot(cooldown_s=600), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    h.settle()
    _take_profit(h)
    [closed] = h.closed
    closing = h.decisions[-1]
    assert h.deals == {}
    assert closing.wake_at_ms == closed.closed_ms + 600_000
    assert closing.notes[-1] == f"no new deals: cooling down until {closed.closed_ms + 600_000}"

    h.advance(599_999)
    assert h.settle().actions == ()
    h.advance(1)
    assert _opened(h.decide()) == ["BTC/USDT"]


def test_without_cooldown_the_next_deal_opens_with_the_close():
    h = Harness(dca_bot(), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    h.settle()
    h.move("BTC/USDT", "16900", high="16900")
    h.decide()
    assert len(h.closed) == 1
    assert [d.id for d in h.deals.values()] == [2]


def test_max_active_deals_caps_deals_across_pairs():
    markets = {"BTC/USDT": BTC_USDT, "ETH/USDT": ETH_USDT}
    prices = {"BTC/USDT": P0, "ETH/USDT": "1214.35"}
    one = Harness(dca_bot(pairs=["BTC/USDT", "ETH/USDT"]), markets, prices)
    assert _opened(one.decide()) == ["BTC/USDT"]
    assert _opened(one.decide()) == []

    two = Harness(dca_bot(pairs=["BTC/USDT", "ETH/USDT"], max_active_deals=2), markets, prices)
    assert _opened(two.decide()) == ["BTC/USDT", "ETH/USDT"]
    two.settle()
    assert sorted(d.pair for d in two.deals.values()) == ["BTC/USDT", "ETH/USDT"]


def test_one_deal_per_pair_even_with_room_for_more():
    h = Harness(dca_bot(max_active_deals=3), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    h.settle()
    assert len(h.deals) == 1


def test_no_deal_when_the_base_order_would_be_below_the_minimum_at_run_time():
    # The exchange raised its minimum after the bot was created: no order it would refuse.
    market = Market(
        symbol="BTC/USDT", base="BTC", quote="USDT", tick_size=D("0.1"), lot_step=D("0.00001"), min_notional=D(25)
    )
    h = Harness(dca_bot(), {"BTC/USDT": market}, {"BTC/USDT": P0})
    decision = h.decide()
    assert decision.actions == ()
    assert decision.notes == (
        "BTC/USDT: no deal opened, the base order would be refused: BTC/USDT: order value 19.904059 USDT "
        "(0.00119 x 16726.1) is below the minimum notional 25 USDT",
    )


# --- rsi start condition ------------------------------------------------------------------------------

CANDLES = load_candles()
RSI = {"type": "rsi", "period": 14, "timeframe": "5m", "threshold": 30}


def _at(h: Harness, i: int) -> None:
    """Stand at the open of bundled candle ``i``: candles before it are complete."""
    h.now_ms = CANDLES[i].ts_ms
    h.candles = {"BTC/USDT": tuple(CANDLES[i - 141 : i])}
    h.move("BTC/USDT", CANDLES[i - 1].close)


def test_rsi_start_waits_for_the_next_candle_close_then_opens_below_the_threshold():
    closes = [c.close for c in CANDLES]
    assert rsi(closes[266 - 141 : 266], 14) >= 30
    assert rsi(closes[267 - 141 : 267], 14) < 30  # 26.87

    h = Harness(dca_bot(start_condition=RSI), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    for i in range(250, 267):
        _at(h, i)
        waiting = h.decide()
        assert waiting.actions == ()
        assert waiting.wake_at_ms == CANDLES[i].ts_ms + FIVE_MINUTES
        assert waiting.notes[0].startswith("BTC/USDT: RSI(14) ")
    _at(h, 267)
    assert _opened(h.decide()) == ["BTC/USDT"]


def test_rsi_start_for_a_short_opens_above_100_minus_threshold():
    closes = [c.close for c in CANDLES]
    assert rsi(closes[158 - 141 : 158], 14) > 70  # 72.04
    h = Harness(dca_bot(start_condition=RSI, direction="short"), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    _at(h, 157)
    assert h.decide().actions == ()
    _at(h, 158)
    assert _opened(h.decide()) == ["BTC/USDT"]


def test_rsi_start_without_enough_candles_waits():
    h = Harness(dca_bot(start_condition=RSI), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    h.candles = {"BTC/USDT": tuple(CANDLES[:10])}
    decision = h.decide()
    assert decision.actions == ()
    assert decision.notes == ("BTC/USDT: RSI(14) needs 15 candles, have 10",)


# --- signal start condition ---------------------------------------------------------------------------


def _signal(i: int, action: str = "enter_long", pair: str = "BTC/USDT") -> Signal:
    return Signal(id=f"s{i}", action=action, pair=pair, received_ms=1_672_677_900_000 + i)  # type: ignore[arg-type]


def test_signal_start_opens_once_per_signal():
    h = Harness(dca_bot(start_condition={"type": "signal"}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    assert h.decide().actions == ()

    h.signals = [_signal(1, "enter_short"), _signal(2, "enter_long", "ETH/USDT")]
    decision = h.decide()
    assert _opened(decision) == []  # wrong direction, other pair: seen and dropped
    assert decision.actions == (SaveState(deal=None, values={"signal_seen.BTC/USDT": "1672677900001"}),)

    h.signals.append(_signal(3))
    opening = h.decide()
    assert _opened(opening) == ["BTC/USDT"]
    h.settle()
    _take_profit(h)
    assert len(h.closed) == 1
    assert h.deals == {}  # the old signal does not open a second deal
    h.signals.append(_signal(4))
    assert _opened(h.decide()) == ["BTC/USDT"]


def test_a_signal_while_the_pair_is_busy_is_dropped():
    h = Harness(dca_bot(start_condition={"type": "signal"}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    h.signals = [_signal(1)]
    h.settle()
    h.signals.append(_signal(2))  # arrives during the deal
    h.settle()
    _take_profit(h)
    assert h.deals == {}


def test_an_exit_signal_closes_the_deal_of_its_pair_at_market_once():
    h = Harness(dca_bot(start_condition={"type": "signal"}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    h.signals = [_signal(1)]
    h.settle()
    [deal] = h.deals.values()
    h.signals.append(_signal(2, "exit_short"))  # not this bot's direction: seen, nothing closes
    h.settle()
    assert list(h.deals) == [deal.id]
    h.signals.append(_signal(3, "exit_long"))
    closing = h.decide()
    assert SaveState(deal=deal.id, values={"closing": "exit signal s3"}) in closing.actions
    assert any("exit signal s3" in note for note in closing.notes)  # cancels the take-profit first
    h.settle()
    assert h.deals == {}
    [closed] = h.closed
    assert closed.id == deal.id
    assert "exit signal" in closed.reason.replace("_", " ")
    sold = [o for o in closed.orders if o.leg == "sl"]
    assert [(o.side, o.type.value) for o in sold] == [("sell", "market")]
    h.signals.append(_signal(4))  # a later entry opens the next deal; the old exit does not close it
    h.settle()
    assert len(h.deals) == 1


def test_an_exit_signal_before_the_base_order_fills_closes_the_deal_once_it_has():
    h = Harness(dca_bot(start_condition={"type": "signal"}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    h.signals = [_signal(1)]
    assert _opened(h.decide()) == ["BTC/USDT"]
    h.signals.append(_signal(2, "exit_long"))
    h.settle()
    assert h.deals == {}
    assert len(h.closed) == 1


# --- short deals mirror long ones --------------------------------------------------------------------


def test_short_deal_sells_first_averages_up_and_buys_back_lower():
    h = Harness(
        dca_bot(
            direction="short",
            safety_order_size="20",
            max_safety_orders=2,
            price_deviation_pct="1",
            safety_order_step_scale="2",
        ),
        {"BTC/USDT": BTC_USDT},
        {"BTC/USDT": P0},
    )
    first = h.decide()
    [base] = [a for a in first.actions if isinstance(a, PlaceOrder)]
    assert (base.side, base.amount, base.quote_amount) == ("sell", D("0.00119"), None)
    h.settle()
    so1, tp0 = h.order("so1"), h.order("tp.0")
    assert (so1.side, so1.price, so1.amount) == ("sell", D("16893.4"), D("0.00118"))
    assert (tp0.side, tp0.price, tp0.amount) == ("buy", D("16558.8"), D("0.00119"))

    h.step("BTC/USDT", "16890", high="16893.4")  # so1 sells higher
    assert h.active_legs() == ["so2", "tp.1"]
    assert h.order("so2").price == D("17227.9")  # 3% above P0, rounded up
    tp1 = h.order("tp.1")
    average = (D("0.00119") * D(P0) + D("0.00118") * D("16893.4")) / D("0.00237")
    assert tp1.side == "buy"
    assert tp1.amount == D("0.00237")
    assert tp1.price == BTC_USDT.round_price(average * D("0.99"), "down")

    h.step("BTC/USDT", "16700", low=str(tp1.price))
    [closed] = h.closed
    assert closed.reason == "take profit"
    assert closed.base_left == 0
    assert closed.quote_profit >= average * D("0.00237") / 100 * D("0.99")


def test_a_delayed_signal_start_opens_the_deal_only_once_due_even_after_a_newer_signal_was_seen():
    """3Commas ``delay_seconds``: the core hands the start to the bot at its due time, as if it arrived then."""
    h = Harness(dca_bot(start_condition={"type": "signal"}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    delayed = Signal(id="s1", action="enter_long", pair="BTC/USDT", received_ms=h.now_ms, due_ms=h.now_ms + 60_000)
    h.signals = [delayed, _signal(2, "enter_short")]  # a later signal on the pair, seen at once
    assert _opened(h.decide()) == []
    assert h.signals == [delayed]  # not handed over yet: still pending
    h.advance(60_000)
    assert _opened(h.decide()) == ["BTC/USDT"]


def test_a_position_percent_exit_sells_that_share_and_the_take_profit_follows_the_rest():
    h = Harness(
        dca_bot(start_condition={"type": "signal"}, base_order_size="100", safety_order_size="100",
                max_safety_orders=2, active_safety_orders=1, price_deviation_pct="1"),
        {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0},
    )  # fmt: skip
    h.signals = [_signal(1)]
    h.settle()
    [deal] = h.deals.values()
    bought = deal.order("base").filled
    assert deal.order("tp.0").amount == bought
    assert deal.order("so1").active
    partial = Signal(id="s2", action="exit_long", pair="BTC/USDT", received_ms=h.now_ms + 2,
                     amount=Decimal(40), currency_type="percent")  # fmt: skip
    h.signals.append(partial)
    h.settle()
    [deal] = h.deals.values()  # the deal goes on
    sold = deal.order("px.s2")
    assert (sold.side, sold.type.value, sold.filled) == ("sell", "market", BTC_USDT.floor_amount(bought * 40 / 100))
    assert not deal.order("tp.0").active
    assert not deal.order("so1").active  # after a partial exit no more safety orders
    assert deal.order("tp.1").active
    assert deal.order("tp.1").amount == bought - sold.filled
    _take_profit(h)
    [closed] = h.closed
    assert closed.reason == "take profit"


def test_a_position_percent_exit_that_leaves_dust_closes_the_whole_dca_deal():
    h = Harness(dca_bot(start_condition={"type": "signal"}), {"BTC/USDT": BTC_USDT}, {"BTC/USDT": P0})
    h.signals = [_signal(1)]
    h.settle()
    h.signals.append(Signal(id="s2", action="exit_long", pair="BTC/USDT", received_ms=h.now_ms + 2,
                            amount=Decimal(90), currency_type="percent"))  # fmt: skip
    h.settle()
    assert h.deals == {}
    [closed] = h.closed
    assert "exit signal" in closed.reason.replace("_", " ")
