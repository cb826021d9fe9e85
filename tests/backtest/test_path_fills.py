"""The simulator's matching engine fills resting orders along the candle path (the rules the backtest uses)."""

from __future__ import annotations

from decimal import Decimal

from bastion.exchanges.simulator.accounts import Ledger
from bastion.exchanges.simulator.candles import Candle, CandleSeries
from bastion.exchanges.simulator.matching import SymbolEngine, candle_path
from bastion.exchanges.simulator.rules import apply_overrides, default_rules

D = Decimal


def _engine(*candles: tuple[str, str, str, str]) -> SymbolEngine:
    series = CandleSeries(
        tuple(Candle(i * 60_000, D(o), D(h), D(lo), D(c), D(1000)) for i, (o, h, lo, c) in enumerate(candles)),
        60_000,
    )
    rules = apply_overrides(default_rules("BTC/USDT", series), {"tick": D("0.01"), "step": D("0.0001")})
    ledger = Ledger()
    ledger.open_account("a", {"USDT": D(100_000), "BTC": D(100)}, ["BTC", "USDT"])
    return SymbolEngine(rules, series, ledger, clock=lambda: 0)


def test_the_path_goes_to_the_nearer_extreme_first_and_low_first_on_a_tie() -> None:
    assert candle_path(Candle(0, D(100), D(101), D(95), D(99), D(1))) == (D(100), D(101), D(95), D(99))
    assert candle_path(Candle(0, D(100), D(105), D(99), D(101), D(1))) == (D(100), D(99), D(105), D(101))
    assert candle_path(Candle(0, D(100), D(102), D(98), D(100), D(1))) == (D(100), D(98), D(102), D(100))


def test_a_candle_opening_through_a_buy_fills_it_at_the_open() -> None:
    engine = _engine(("100", "100", "100", "100"), ("95", "96", "94", "95"))
    order = engine.place("a", side="BUY", order_type="LIMIT", quantity=D(1), price=D("97"))
    engine.advance()
    assert order.status == "FILLED"
    assert [t.price for t in order.trades] == [D(95)]


def test_orders_fill_in_the_order_the_path_reaches_them() -> None:
    # open 100, high 100.5 first (nearer), then low 97, close 99: the sell at 100.4 before the buy at 98.
    engine = _engine(("100", "100", "100", "100"), ("100", "100.5", "97", "99"))
    buy = engine.place("a", side="BUY", order_type="LIMIT", quantity=D(1), price=D(98))
    sell = engine.place("a", side="SELL", order_type="LIMIT", quantity=D(1), price=D("100.4"))
    engine.advance()
    assert [t.order_id for t in engine.trades("a")] == [sell.order_id, buy.order_id]
    assert [t.price for t in engine.trades("a")] == [D("100.4"), D(98)]


def test_next_reached_names_the_order_and_the_price_where_the_move_meets_it() -> None:
    engine = _engine(("100", "100", "100", "100"), ("100", "100", "100", "100"))
    near = engine.place("a", side="BUY", order_type="LIMIT", quantity=D(1), price=D(99))
    engine.place("a", side="BUY", order_type="LIMIT", quantity=D(1), price=D(98))
    assert engine.next_reached(D(100), D(97)) == (near, D(99))
    assert engine.next_reached(D(100), D("99.5")) is None
    assert engine.next_reached(D("98.5"), D(97)) == (near, D("98.5"))  # already through: at the start
