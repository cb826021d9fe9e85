from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.bots.dca import (
    EntryTotals,
    average_entry_price,
    entry_totals,
    order_amount,
    rsi,
    safety_order_deviation_pct,
    safety_order_price,
    safety_order_size,
    stop_loss_price,
    take_profit_price,
    trailing_stop_price,
)
from bastion.bots.interface import OrderView
from bastion.domain import Market, OrderStatus, OrderType
from bastion.errors import ValidationError

D = Decimal
UNIT = Market(symbol="X/USDT", base="X", quote="USDT", tick_size=D("0.01"), lot_step=D("0.00001"))
BTC = Market(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=D("0.1"),
    lot_step=D("0.00001"),
    min_amount=D("0.00001"),
    min_notional=D(5),
)


def _filled(side: str, amount: str, price: str, *, fee_base: str = "0", fee_quote: str = "0") -> OrderView:
    return OrderView(
        leg="x",
        client_order_id="x",
        side=side,  # type: ignore[arg-type]
        type=OrderType.LIMIT,
        price=D(price),
        amount=D(amount),
        filled=D(amount),
        cost=D(amount) * D(price),
        fee_base=D(fee_base),
        fee_quote=D(fee_quote),
        status=OrderStatus.FILLED,
    )


def test_spec_example_prices_99_97_93_and_sizes_10_20_40():
    # BO=SO=10, d=1, ss=vs=2, N=3, P0=100
    prices = [safety_order_price(D(100), safety_order_deviation_pct(D(1), D(2), n), "long", UNIT) for n in (1, 2, 3)]
    sizes = [safety_order_size(D(10), D(2), n) for n in (1, 2, 3)]
    assert prices == [D(99), D(97), D(93)]
    assert sizes == [D(10), D(20), D(40)]


def test_safety_order_deviation_with_step_scale_one_is_linear():
    assert [safety_order_deviation_pct(D("1.5"), D(1), n) for n in (1, 2, 3, 4)] == [D("1.5"), D(3), D("4.5"), D(6)]


def test_safety_order_sizes_with_volume_scale_are_geometric():
    assert [safety_order_size(D(10), D("1.5"), n) for n in (1, 2, 3, 4)] == [D(10), D(15), D("22.5"), D("33.75")]
    assert [safety_order_size(D(10), D(1), n) for n in (1, 2, 3)] == [D(10)] * 3


@given(
    d=st.decimals(min_value=D("0.1"), max_value=D(5), places=2),
    ss=st.decimals(min_value=D("0.5"), max_value=D(3), places=2),
    n=st.integers(min_value=1, max_value=12),
)
def test_safety_order_deviation_is_the_sum_of_scaled_steps(d: Decimal, ss: Decimal, n: int):
    steps = sum((d * ss**i for i in range(n)), D(0))
    assert abs(safety_order_deviation_pct(d, ss, n) - steps) < D("1e-18")


def test_safety_orders_are_numbered_from_one():
    with pytest.raises(ValidationError, match="from 1"):
        safety_order_size(D(10), D(2), 0)


def test_short_safety_orders_mirror_above_the_base_fill():
    prices = [safety_order_price(D(100), safety_order_deviation_pct(D(1), D(2), n), "short", UNIT) for n in (1, 2, 3)]
    assert prices == [D(101), D(103), D(107)]


def test_safety_order_price_rounds_to_the_tick_never_worse_than_planned():
    # 16727.3 * (1 - 1.3%) = 16509.8451: a long buys at 16509.8 (down), a short sells at 16949.5 (up from 16944.7549)
    assert safety_order_price(D("16727.3"), D("1.3"), "long", BTC) == D("16509.8")
    assert safety_order_price(D("16727.3"), D("1.3"), "short", BTC) == D("16944.8")


def test_order_amount_floors_to_the_lot_step():
    assert order_amount(D(20), D("16509.8"), BTC) == D("0.00121")  # 0.0012114138...
    assert order_amount(D(20), D("16509.8"), BTC) * D("16509.8") <= D(20)


def test_average_entry_is_quote_spent_over_base_bought():
    entry = entry_totals([_filled("buy", "0.1", "100"), _filled("buy", "0.2", "97")], "long")
    assert entry == EntryTotals(quote=D("29.4"), base=D("0.3"))
    assert entry.average == D(98)
    assert average_entry_price(D(30), D("0.3")) == D(100)


def test_entry_nets_base_fees_and_adds_quote_fees():
    orders = [
        _filled("buy", "0.001", "16000", fee_base="0.000001"),
        _filled("buy", "0.002", "15800", fee_quote="0.0316"),
    ]
    entry = entry_totals(orders, "long")
    assert entry.base == D("0.002999")  # what the account holds: the take-profit sells exactly this
    assert entry.quote == D(16) + D("31.6") + D("0.0316")


def test_short_entry_is_base_owed_and_quote_received():
    entry = entry_totals([_filled("sell", "0.1", "100", fee_quote="0.01"), _filled("sell", "0.2", "103")], "short")
    assert entry.base == D("0.3")
    assert entry.quote == D("30.59")


@pytest.mark.parametrize(
    ("direction", "kind", "expected"),
    [
        ("long", "total", D(101)),  # 100 * 1.01
        ("long", "base", D("100.34")),  # (30 + 1% of 10) / 0.3 = 100.333.. rounded up
        ("short", "total", D(99)),  # 100 * 0.99
        ("short", "base", D("99.66")),  # (30 - 1% of 10) / 0.3 = 99.666.. rounded down
    ],
)
def test_take_profit_total_and_base(direction: str, kind: str, expected: Decimal):
    price = take_profit_price(
        direction=direction,  # type: ignore[arg-type]
        take_profit_type=kind,  # type: ignore[arg-type]
        profit_pct=D(1),
        entry=EntryTotals(quote=D(30), base=D("0.3")),
        base_order_size=D(10),
        market=UNIT,
    )
    assert price == expected


def test_take_profit_rounds_to_keep_at_least_the_target():
    entry = EntryTotals(quote=D("20.0003"), base=D("0.00119"))  # avg 16807.0...
    long_tp = take_profit_price(
        direction="long", take_profit_type="total", profit_pct=D(1), entry=entry, base_order_size=D(20), market=BTC
    )
    short_tp = take_profit_price(
        direction="short", take_profit_type="total", profit_pct=D(1), entry=entry, base_order_size=D(20), market=BTC
    )
    assert long_tp % BTC.tick_size == 0
    assert long_tp >= entry.average * D("1.01") > long_tp - BTC.tick_size
    assert short_tp <= entry.average * D("0.99") < short_tp + BTC.tick_size


def test_stop_loss_and_trailing_levels_are_beyond_their_reference():
    assert stop_loss_price(D(100), D(5), "long", UNIT) == D(95)
    assert stop_loss_price(D(100), D(5), "short", UNIT) == D(105)
    assert stop_loss_price(D("16727.3"), D(3), "long", BTC) == D("16225.4")  # 16225.481 down
    assert trailing_stop_price(D("16900.5"), D("0.5"), "long", BTC) == D("16815.9")  # 16816.0 - .0025 down
    assert trailing_stop_price(D("16500.5"), D("0.5"), "short", BTC) == D("16583.1")  # 16583.0025 up


def test_rsi_on_wilders_textbook_closes():
    # StockCharts' 14-period RSI example. Its table shows 70.53 and 66.32 from rounded averages;
    # exactly: 9 gains summing 3.34 and 4 losses summing 1.40 over the first 14 changes, then -0.28.
    closes = [
        D(x)
        for x in [
            "44.34",
            "44.09",
            "44.15",
            "43.61",
            "44.33",
            "44.83",
            "45.10",
            "45.42",
            "45.84",
            "46.08",
            "45.89",
            "46.03",
            "45.61",
            "46.28",
            "46.28",
        ]
    ]
    assert abs(rsi(closes, 14) - D(100) * D("3.34") / (D("3.34") + D("1.40"))) < D("1e-24")  # 70.46
    gain, loss = D("3.34") * 13 / 14, D("1.40") * 13 / 14 + D("0.28")
    assert abs(rsi([*closes, D("46.00")], 14) - D(100) * gain / (gain + loss)) < D("1e-24")  # 66.25


def test_rsi_edge_cases():
    assert rsi([D(1), D(2), D(1), D(2), D(1)], 2) == D("37.5")
    assert rsi([D(1)] * 5, 3) == D(50)
    assert rsi([D(1), D(2), D(3), D(4)], 3) == D(100)
    assert rsi([D(1), D(2), D(3)], 3) is None
