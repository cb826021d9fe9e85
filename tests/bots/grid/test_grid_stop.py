from decimal import Decimal

from bastion.bots.grid import GridBot, GridConfig
from bastion.bots.interface import CancelOrder, CloseDeal, DealOutcome, PlaceOrder
from bastion.domain import OrderType
from bots.grid.harness import BTC_USDT, Harness

ALL_AMOUNTS = Decimal("0.06077")  # the ten intervals' amounts: what the grid holds once every buy filled


def places(decision) -> list[PlaceOrder]:
    return [a for a in decision.actions if isinstance(a, PlaceOrder)]


def cancels(decision) -> list[str]:
    return [a.leg for a in decision.actions if isinstance(a, CancelOrder)]


def closes(decision) -> list[CloseDeal]:
    return [a for a in decision.actions if isinstance(a, CloseDeal)]


def test_stop_loss_with_keep_cancels_every_order_then_closes_keeping_the_base(make_grid):
    grid = make_grid(stop_loss_price=15500, on_stop="keep")
    grid.cancel_at_once = False
    grid.move("15450")  # every buy fills on the way down
    decision = grid.decide()
    assert places(decision) == []
    assert cancels(decision) == ["L8.s.0", "L9.s.0", "L10.s.0"]
    assert grid.deal.state["phase"] == "stopping"
    assert closes(decision) == []
    grid.confirm_cancels()
    decision = grid.decide()
    assert decision.actions[-1] == CloseDeal(deal=1, outcome=DealOutcome.GRID_STOPPED, reason="stop_loss")
    assert places(decision) == []
    assert grid.closed == [(1, "stop_loss")]


def test_stop_loss_uses_the_low_since_the_last_decision(make_grid):
    grid = make_grid(stop_loss_price=15500)
    decision = grid.decide(last="16500", low="15480")
    assert len(cancels(decision)) == 10


def test_stop_loss_with_sell_base_sells_everything_the_grid_holds_at_market(make_grid):
    grid = make_grid(stop_loss_price=15500, on_stop="sell_base")
    grid.move("15450")
    grid.decide()  # cancels the three unsold start sells (confirmed at once)
    decision = grid.decide()
    (sell,) = places(decision)
    assert (sell.leg, sell.side, sell.type, sell.amount) == ("stop.sell", "sell", OrderType.MARKET, ALL_AMOUNTS)
    assert closes(decision) == []
    grid.fill("stop.sell", price="15440")
    assert grid.decide().actions[-1] == CloseDeal(deal=1, outcome=DealOutcome.GRID_STOPPED, reason="stop_loss")


def test_sell_base_never_sells_more_than_the_free_balance():
    config = GridConfig.from_mapping(
        {"name": "g", "account": "main", "pair": "BTC/USDT", "lower_price": 16000, "upper_price": 17000,
         "grid_count": 10, "investment_quote": 1000, "stop_loss_price": 15500, "on_stop": "sell_base"}
    )  # fmt: skip
    grid = Harness(GridBot(config), last="16720", balances={"BTC": Decimal("0.05")})
    grid.decide()
    grid.fill("start")
    grid.decide()
    grid.move("15450")
    grid.decide()
    (sell,) = places(grid.decide())
    assert sell.amount == Decimal("0.05")


def test_take_profit_with_sell_base_books_the_last_round_trips_and_closes_when_nothing_is_left(make_grid):
    grid = make_grid(take_profit_price=17500, on_stop="sell_base", fee_rate="0.001")
    grid.move("16550")
    grid.decide()  # L6.b.0 filled -> L7.s.0
    grid.move("17600")  # L7.s.0 and the three start sells fill
    decision = grid.decide()
    assert places(decision) == []
    assert cancels(decision) == [f"L{k}.b.0" for k in range(6)]
    assert grid.deal.state["trips"] == "1"
    assert grid.deal.state["profit"] == "0.401534"
    decision = grid.decide()
    assert places(decision) == []
    assert any("nothing to sell" in note for note in decision.notes)
    assert decision.actions[-1] == CloseDeal(deal=1, outcome=DealOutcome.GRID_STOPPED, reason="take_profit")


def test_cancel_only_cancels_and_leaves_the_deal_open(make_grid):
    grid = make_grid(take_profit_price=17500, on_stop="cancel_only")
    grid.move("17600")
    decision = grid.decide()
    assert len(cancels(decision)) == 7
    decision = grid.decide()
    assert closes(decision) == []
    assert grid.deal.state["phase"] == "halted"
    assert grid.active() == []
    # Nothing more happens, whatever the price does.
    assert places(grid.decide(last="16000")) == []
    assert grid.decide(last="15000").watch == ()
    assert grid.closed == []


def test_a_sell_that_fills_while_stopping_is_booked_and_not_sold_again(make_grid):
    grid = make_grid(stop_loss_price=15500, on_stop="sell_base")
    grid.cancel_at_once = False
    grid.move("16550")
    grid.decide()  # L7.s.0 holds the base bought at 16600
    grid.decide(last="16600", low="15490")
    grid.fill("L7.s.0", price="16700")  # filled before its cancel arrived
    grid.confirm_cancels()
    (sell,) = places(grid.decide())
    assert grid.deal.state["trips"] == "1"
    # Held: the three start sells' base (0.01784); L7.s.0's base was sold.
    assert sell.amount == Decimal("0.01784")


def test_check_markets_and_bot_agree_on_btc_rules(make_grid):
    grid = make_grid()
    for order in grid.active():
        BTC_USDT.check_order(order.price, order.amount)
