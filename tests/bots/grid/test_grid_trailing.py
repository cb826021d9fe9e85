from decimal import Decimal

from bastion.bots.interface import CancelOrder, PlaceOrder, Watch


def places(decision) -> list[PlaceOrder]:
    return [a for a in decision.actions if isinstance(a, PlaceOrder)]


def cancels(decision) -> list[str]:
    return [a.leg for a in decision.actions if isinstance(a, CancelOrder)]


def test_trailing_up_cancels_the_lowest_buy_then_adds_a_level_on_top(make_grid):
    grid = make_grid(trailing_up=True)
    assert grid.move("17050") == ["L8.s.0", "L9.s.0", "L10.s.0"]
    decision = grid.decide()
    assert [p.leg for p in places(decision)] == ["L7.b.0", "L8.b.0", "L9.b.0"]
    assert cancels(decision) == ["L0.b.0"]
    assert grid.deal.state["shift"] == "up"
    # The cancel is confirmed: the quote it held becomes a buy at the old top, below a new top level 17100.
    decision = grid.decide()
    (buy,) = places(decision)
    assert (buy.leg, buy.side, buy.price, buy.amount) == ("L10.b.0", "buy", Decimal("17000.0"), Decimal("0.00588"))
    assert grid.deal.state["lo"] == "1"
    assert grid.deal.state["shift"] == ""
    assert Watch(symbol="BTC/USDT", above=Decimal("17100.1")) in decision.watch
    # Still above the range: one more level per wake.
    grid.decide(last="17160")
    assert grid.deal.state["shift"] == "up"
    assert [p.leg for p in places(grid.decide())] == ["L11.b.0"]
    assert grid.deal.state["lo"] == "2"
    assert len(grid.active()) == 10


def test_without_trailing_the_range_stays_put(make_grid):
    grid = make_grid()
    grid.move("17500")
    grid.decide()
    assert grid.decide(last="18000").actions == ()
    assert grid.deal.state["lo"] == "0"


def test_trailing_down_moves_the_top_sell_below_the_range_keeping_its_buy_cost(make_grid):
    grid = make_grid(trailing_down=True)
    grid.move("17050")  # the start sells fill; buys go to levels 7, 8, 9
    grid.decide()
    grid.move("16850")
    assert [p.leg for p in places(grid.decide())] == ["L10.s.1"]  # bought 0.00591 at 16900
    filled = grid.move("15950")
    assert filled[0] == "L8.b.0"
    decision = grid.decide()
    assert "L10.s.1" in cancels(decision)
    assert grid.deal.state["shift"] == "down"
    decision = grid.decide()
    (sell,) = places(decision)
    assert (sell.leg, sell.side, sell.price, sell.amount) == ("L0.s.0", "sell", Decimal("16000.0"), Decimal("0.00591"))
    assert grid.deal.state["lo"] == "-1"
    assert grid.deal.state["k.-1"] == "L0.s.0"
    assert grid.deal.state["cost.-1"] == "99.879"  # 0.00591 x 16900
    assert Watch(symbol="BTC/USDT", below=Decimal("15899.9")) in decision.watch
    trips = int(grid.deal.state["trips"])
    grid.move("16000")
    grid.decide()
    # Sold at 16000 what was bought at 16900: the round trip is booked, as a loss.
    assert int(grid.deal.state["trips"]) == trips + 1
    assert Decimal(grid.deal.state["profit"]) < 0


def test_a_far_order_that_fills_before_its_cancel_drops_the_shift(make_grid):
    grid = make_grid(trailing_up=True)
    grid.cancel_at_once = False
    grid.move("17050")
    assert cancels(grid.decide()) == ["L0.b.0"]
    grid.fill("L0.b.0")  # it fills before the cancel reaches the exchange
    grid.confirm_cancels()
    decision = grid.decide()
    assert [p.leg for p in places(decision)] == ["L1.s.0"]
    assert grid.deal.state["shift"] == ""
    assert grid.deal.state["lo"] == "0"
    assert any("trailing up dropped" in note for note in decision.notes)


def test_the_shift_waits_while_the_start_buy_has_not_filled(make_grid):
    grid = make_grid(fill_start=False, trailing_down=True)
    decision = grid.decide(last="15950")
    assert cancels(decision) == []
    assert grid.deal.state["shift"] == ""
