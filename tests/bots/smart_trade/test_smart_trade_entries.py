from decimal import Decimal

from bastion.bots.interface import OpenDeal, PlaceOrder, Watch
from bastion.domain import OrderStatus, OrderType

BTC = "BTC/USDT"


def places(decision) -> list[PlaceOrder]:
    return [a for a in decision.actions if isinstance(a, PlaceOrder)]


def test_market_entry_opens_the_deal_and_buys_at_once(make_trade):
    trade = make_trade()
    first = trade.decisions[0]
    assert first.actions[0] == OpenDeal(ref="trade", pair=BTC, direction="long")
    (entry,) = places(first)
    assert (entry.deal, entry.leg, entry.side, entry.type, entry.amount) == (
        "trade", "entry", "buy", OrderType.MARKET, Decimal("0.006")
    )  # fmt: skip
    assert trade.deal.state["phase"] == "entry"
    assert trade.decide().actions == ()  # nothing until it fills


def test_market_entry_sized_in_quote(make_trade):
    trade = make_trade(amount=None, amount_quote=100)
    (entry,) = places(trade.decisions[0])
    assert (entry.amount, entry.quote_amount) == (None, Decimal(100))


def test_filled_entry_places_the_first_target_and_watches_the_stop(make_trade):
    trade = make_trade()
    trade.fill("entry")
    decision = trade.decide()
    (target,) = places(decision)
    # +1 % of 16720 is 16887.2; half of 0.006 BTC.
    assert (target.leg, target.side, target.type, target.price, target.amount) == (
        "tp1", "sell", OrderType.LIMIT, Decimal("16887.2"), Decimal("0.003")
    )  # fmt: skip
    assert trade.deal.state["stop"] == "16385.6"  # -2 %
    assert decision.watch == (Watch(symbol=BTC, below=Decimal("16385.6")),)


def test_limit_entry_rests_at_its_price_and_targets_follow_its_fill(make_trade):
    trade = make_trade(amount=None, amount_quote=100, entry={"type": "limit", "price": 16500})
    (entry,) = places(trade.decisions[0])
    assert (entry.type, entry.price, entry.amount) == (OrderType.LIMIT, Decimal("16500.0"), Decimal("0.00606"))
    assert trade.decide(last="16600").actions == ()
    assert trade.move("16480") == ["entry"]
    (target,) = places(trade.decide())
    assert (target.price, target.amount) == (Decimal("16665.0"), Decimal("0.00303"))


def test_conditional_entry_waits_for_the_price_to_cross_its_trigger_upward(make_trade):
    trade = make_trade(entry={"type": "conditional", "trigger_price": 16800})
    first = trade.decisions[0]
    assert places(first) == []
    assert first.actions[0] == OpenDeal(ref="trade", pair=BTC, direction="long")
    assert first.watch == (Watch(symbol=BTC, above=Decimal("16800.0")),)
    assert trade.deal.state["cross"] == "up"
    assert places(trade.decide(last="16790")) == []
    (entry,) = places(trade.decide(last="16810"))
    assert (entry.leg, entry.type) == ("entry", OrderType.MARKET)


def test_conditional_entry_triggers_on_the_extreme_between_two_wakes(make_trade):
    trade = make_trade(entry={"type": "conditional", "trigger_price": 16800})
    (entry,) = places(trade.decide(last="16750", high="16805"))
    assert entry.leg == "entry"


def test_conditional_dip_entry_places_its_limit_order_once_triggered(make_trade):
    trade = make_trade(entry={"type": "conditional", "trigger_price": 16500, "order_type": "limit", "price": 16450})
    assert trade.deal.state["cross"] == "down"
    assert places(trade.decide(last="16510")) == []
    (entry,) = places(trade.decide(last="16495"))
    assert (entry.type, entry.price, entry.amount) == (OrderType.LIMIT, Decimal("16450.0"), Decimal("0.006"))


def test_trailing_buy_follows_the_price_down_and_buys_on_the_rebound(make_trade):
    trade = make_trade(trailing_buy={"deviation_pct": "0.5"})
    first = trade.decisions[0]
    assert places(first) == []
    # 16720 + 0.5 % = 16803.6; and a new low moves the rebound level.
    assert first.watch == (Watch(symbol=BTC, above=Decimal("16803.6")), Watch(symbol=BTC, below=Decimal("16719.9")))
    decision = trade.decide(last="16500")
    assert decision.watch[0] == Watch(symbol=BTC, above=Decimal("16582.5"))
    assert trade.deal.state["extreme"] == "16500"
    assert places(trade.decide(last="16580")) == []
    (entry,) = places(trade.decide(last="16583"))
    assert (entry.type, entry.side, entry.amount) == (OrderType.MARKET, "buy", Decimal("0.006"))
    trade.fill("entry")
    (target,) = places(trade.decide())
    assert target.price == Decimal("16748.9")  # 16583 x 1.01 = 16748.83, rounded up


def test_trailing_buy_after_a_dip_trigger_starts_from_the_low_after_the_cross(make_trade):
    trade = make_trade(entry={"type": "conditional", "trigger_price": 16500}, trailing_buy={"deviation_pct": 1})
    trade.decide(last="16520", low="16400")
    assert trade.deal.state["phase"] == "trail"
    assert trade.deal.state["extreme"] == "16400"
    (entry,) = places(trade.decide(last="16564"))  # 16400 x 1.01
    assert entry.type == OrderType.MARKET


def test_trailing_limit_entry_starts_trailing_at_the_limit_price(make_trade):
    trade = make_trade(entry={"type": "limit", "price": 16500}, trailing_buy={"deviation_pct": 1})
    assert places(trade.decisions[0]) == []
    assert trade.deal.state["phase"] == "trigger"
    trade.decide(last="16490")
    assert trade.deal.state["phase"] == "trail"


def test_an_entry_that_ends_unfilled_closes_the_trade(make_trade):
    trade = make_trade(entry={"type": "limit", "price": 16500})
    trade.end("entry", OrderStatus.CANCELLED)
    decision = trade.decide()
    assert trade.closed == [(1, "entry_cancelled")]
    assert places(decision) == []


def test_short_sells_first_and_buys_back_lower(make_trade):
    trade = make_trade(direction="short")
    first = trade.decisions[0]
    assert first.actions[0] == OpenDeal(ref="trade", pair=BTC, direction="short")
    (entry,) = places(first)
    assert (entry.side, entry.amount) == ("sell", Decimal("0.006"))
    trade.fill("entry")
    decision = trade.decide()
    (target,) = places(decision)
    # -1 % of 16720 is 16552.8; the stop is +2 %: 17054.4.
    assert (target.leg, target.side) == ("tp1", "buy")
    assert (target.price, target.amount) == (Decimal("16552.8"), Decimal("0.003"))
    assert decision.watch == (Watch(symbol=BTC, above=Decimal("17054.4")),)


def test_short_trailing_entry_follows_the_price_up_and_sells_when_it_falls_back(make_trade):
    trade = make_trade(direction="short", trailing_buy={"deviation_pct": 1})
    assert places(trade.decisions[0]) == []
    trade.decide(last="17000")
    assert trade.deal.state["extreme"] == "17000"
    assert places(trade.decide(last="16831")) == []
    (entry,) = places(trade.decide(last="16830"))  # 17000 - 1 %
    assert (entry.side, entry.type) == ("sell", OrderType.MARKET)
