from decimal import Decimal

from bastion.bots.grid import GridBot, GridConfig
from bastion.bots.interface import OpenDeal, PlaceOrder, SaveState, Watch
from bastion.domain import OrderStatus, OrderType
from bots.grid.harness import Harness

# Per-interval amounts of the 16000-17000 x 10 grid with 100 USDT per interval: floor(100 / level, 0.00001).
AMOUNT = {
    0: "0.00625", 1: "0.00621", 2: "0.00617", 3: "0.00613", 4: "0.00609",
    5: "0.00606", 6: "0.00602", 7: "0.00598", 8: "0.00595", 9: "0.00591",
}  # fmt: skip


def places(decision) -> list[PlaceOrder]:
    return [a for a in decision.actions if isinstance(a, PlaceOrder)]


def described(decision) -> list[tuple[str, str, Decimal | None, Decimal | None]]:
    return [(p.leg, p.side, p.price, p.amount) for p in places(decision)]


def test_start_buys_below_the_price_and_buys_base_for_the_sells_above(make_grid):
    grid = make_grid(fill_start=False)
    first = grid.decisions[0]
    assert first.actions[0] == OpenDeal(ref="grid", pair="BTC/USDT", direction="long")
    start, *buys = places(first)
    # 16720 is nearest to level 7 (16700), which stays empty; intervals 7, 8, 9 sell what the start buy gets.
    assert (start.leg, start.side, start.type, start.amount) == ("start", "buy", OrderType.MARKET, Decimal("0.01784"))
    assert [(b.leg, b.side, b.price, b.amount) for b in buys] == [
        (f"L{k}.b.0", "buy", Decimal(16000 + 100 * k), Decimal(AMOUNT[k])) for k in range(7)
    ]
    assert all(b.type == OrderType.LIMIT for b in buys)
    saved = first.actions[-1]
    assert isinstance(saved, SaveState)
    assert saved.deal == "grid"
    assert saved.values["k.7"] == saved.values["k.9"] == "start"
    assert saved.values["k.0"] == "L0.b.0"
    assert first.watch == ()


def test_start_fill_places_the_sells_one_level_above_each_interval(make_grid):
    grid = make_grid()
    sells = places(grid.decisions[-1])
    assert [(s.leg, s.side, s.price, s.amount) for s in sells] == [
        ("L8.s.0", "sell", Decimal("16800.0"), Decimal(AMOUNT[7])),
        ("L9.s.0", "sell", Decimal("16900.0"), Decimal(AMOUNT[8])),
        ("L10.s.0", "sell", Decimal("17000.0"), Decimal(AMOUNT[9])),
    ]
    assert len(grid.active()) == 10  # one order per interval; level 7 is empty


def test_start_fee_in_base_shrinks_each_sell_to_its_share_of_what_was_received(make_grid):
    grid = make_grid(fill_start=False)
    grid.fill("start", fee_base="0.00001784")  # 0.1 % of 0.01784 BTC kept by the exchange
    sells = places(grid.decide())
    assert [s.amount for s in sells] == [Decimal("0.00597"), Decimal("0.00594"), Decimal("0.00590")]


def test_price_below_the_range_at_start_makes_every_interval_a_sell(make_grid):
    grid = make_grid("15950", fill_start=False)
    start, *rest = places(grid.decisions[0])
    assert rest == []
    assert start.amount == sum(Decimal(a) for a in AMOUNT.values())


def test_a_filled_buy_places_the_sell_one_level_up_and_vice_versa_with_new_legs(make_grid):
    grid = make_grid()
    assert grid.move("16550") == ["L6.b.0"]
    assert described(grid.decide()) == [("L7.s.0", "sell", Decimal("16700.0"), Decimal("0.00602"))]
    assert grid.move("16750") == ["L7.s.0"]
    # Level 6 was used once already: its next buy is cycle 1.
    assert described(grid.decide()) == [("L6.b.1", "buy", Decimal("16600.0"), Decimal("0.00602"))]
    assert grid.move("16550") == ["L6.b.1"]
    assert [p.leg for p in places(grid.decide())] == ["L7.s.1"]
    assert grid.deal.state["nb.6"] == "2"
    assert grid.deal.state["ns.7"] == "2"


def test_a_filled_sell_places_the_buy_one_level_down(make_grid):
    grid = make_grid()
    assert grid.move("16850") == ["L8.s.0"]
    assert described(grid.decide()) == [("L7.b.0", "buy", Decimal("16700.0"), Decimal("0.00598"))]
    # A sell of start inventory is not a grid round trip.
    assert grid.deal.state["trips"] == "0"


def test_round_trip_profit_is_exact_with_fees(make_grid):
    grid = make_grid(fee_rate="0.001")
    grid.move("16550")
    grid.decide()
    grid.move("16750")
    grid.decide()
    # Buy 0.00602 at 16600 = 99.932 + fee 0.099932; sell 0.00602 at 16700 = 100.534 - fee 0.100534.
    assert grid.deal.state["profit"] == "0.401534"
    assert grid.deal.state["trips"] == "1"
    grid.move("16550")
    grid.decide()
    grid.move("16750")
    grid.decide()
    assert grid.deal.state["profit"] == "0.803068"
    assert grid.deal.state["trips"] == "2"


def test_a_buy_fee_paid_in_base_is_not_sold(make_grid):
    grid = make_grid()
    grid.fill("L6.b.0", fee_base="0.00000602")
    (sell,) = places(grid.decide())
    assert sell.amount == Decimal("0.00601")
    grid.fill(sell.leg)
    grid.decide()
    # Sold 0.00601 at 16700 = 100.367 for 99.932: the base fee is paid for by selling less.
    assert grid.deal.state["profit"] == "0.435"


def test_several_fills_in_one_wake_are_all_handled_in_interval_order(make_grid):
    grid = make_grid()
    assert grid.move("16250") == ["L6.b.0", "L5.b.0", "L4.b.0", "L3.b.0"]
    assert [p.leg for p in places(grid.decide())] == ["L4.s.0", "L5.s.0", "L6.s.0", "L7.s.0"]


def test_an_order_ended_outside_the_bot_leaves_its_interval_idle(make_grid):
    grid = make_grid()
    grid.end("L2.b.0", OrderStatus.CANCELLED)
    decision = grid.decide()
    assert places(decision) == []
    assert grid.deal.state["k.2"] == "idle"
    assert any("L2.b.0 ended cancelled unfilled" in note for note in decision.notes)
    assert places(grid.decide()) == []  # no retry loop


def test_a_partly_filled_buy_that_ends_still_gets_its_sell(make_grid):
    grid = make_grid()
    grid.fill("L1.b.0", amount="0.00400")
    grid.end("L1.b.0", OrderStatus.CANCELLED)
    (sell,) = places(grid.decide())
    assert (sell.leg, sell.price, sell.amount) == ("L2.s.0", Decimal("16200.0"), Decimal("0.00400"))


def test_nothing_changes_without_a_fill_and_no_state_is_rewritten(make_grid):
    grid = make_grid()
    decision = grid.decide(last="16730")
    assert decision.actions == ()


def test_geometric_grid_places_its_orders_on_rounded_levels():
    config = GridConfig.from_mapping(
        {
            "name": "geo",
            "account": "main",
            "pair": "BTC/USDT",
            "lower_price": 16000,
            "upper_price": 17000,
            "grid_count": 4,
            "spacing": "geometric",
            "investment_quote": 400,
        }
    )
    grid = Harness(GridBot(config), last="16720")
    first = grid.decide()
    start, *buys = places(first)
    # Levels 16000, 16244.3, 16492.4, 16744.3, 17000: 16744.3 is nearest, so interval 3 sells.
    assert [(b.leg, b.price) for b in buys] == [
        ("L0.b.0", Decimal("16000.0")),
        ("L1.b.0", Decimal("16244.3")),
        ("L2.b.0", Decimal("16492.4")),
    ]
    assert start.amount == Decimal("0.00597")


def test_a_finished_grid_does_not_start_again(make_grid):
    grid = make_grid(stop_loss_price=15000)
    grid.decide(last="14990")
    grid.decide()
    assert grid.closed == [(1, "stop_loss")]
    assert grid.decide().actions == ()


def test_no_price_for_the_pair_is_a_note_not_an_error():
    config = GridConfig.from_mapping(
        {"name": "g", "account": "a", "pair": "ETH/USDT", "lower_price": 1, "upper_price": 2, "grid_count": 1,
         "investment_quote": 100}
    )  # fmt: skip
    decision = GridBot(config).decide(Harness(GridBot(config), last="1").view())
    assert decision.actions == ()
    assert decision.notes == ("waiting: no market rules or price for ETH/USDT",)


def test_trailing_and_stop_levels_are_watched(make_grid):
    grid = make_grid(trailing_up=True, trailing_down=True, stop_loss_price=15000, take_profit_price=18000)
    decision = grid.decide(last="16730")
    assert decision.watch == (
        Watch(symbol="BTC/USDT", above=Decimal(18000), below=Decimal(15000)),
        Watch(symbol="BTC/USDT", above=Decimal("17000.1")),
        Watch(symbol="BTC/USDT", below=Decimal("15999.9")),
    )
