"""Client order ids and deal figures: pure functions, pinned."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bastion.domain import Fill, Money, Order, OrderAccepted, OrderFilled
from bastion.engine.core.accounting import deal_figures
from bastion.engine.ids import MAX_CLIENT_ID, client_order_id
from bastion.errors import ValidationError


def test_client_order_ids_are_deterministic_and_fit_the_exchange():
    assert client_order_id(3, 41, "so2") == "b3-41-so2"
    assert client_order_id(3, 41, "so2") == client_order_id(3, 41, "so2")
    assert client_order_id(3, 41, "so2", attempt=1) == "b3-41-so2-r1"
    long_leg = "L123.b.4567-" + "x" * 40
    cid = client_order_id(12345, 67890, long_leg)
    assert len(cid) <= MAX_CLIENT_ID
    assert cid == client_order_id(12345, 67890, long_leg)
    assert cid != client_order_id(12345, 67890, long_leg + "y")


@pytest.mark.parametrize("leg", ["", "has space", "semi;colon", "é"])
def test_a_leg_an_exchange_would_refuse_is_an_error(leg):
    with pytest.raises(ValidationError, match="leg"):
        client_order_id(1, 1, leg)


def filled(cid: str, side: str, amount: str, price: str, fee: str, fee_currency: str, n: int) -> Order:
    order = Order(
        client_order_id=cid, symbol="BTC/USDT", side=side, type="limit", amount=Decimal(amount), price=Decimal(price)
    )
    order.apply(OrderAccepted(exchange_order_id=str(n), timestamp_ms=n))
    order.apply(
        OrderFilled(
            Fill(
                trade_id=f"t{n}",
                price=Decimal(price),
                amount=Decimal(amount),
                fee=Money(Decimal(fee), fee_currency),
                is_maker=True,
                timestamp_ms=n,
            )
        )
    )
    return order


def test_long_deal_figures_count_fees_where_they_were_paid_and_value_the_dust():
    # Two buys with the fee in BTC (Binance charges the asset received), one sell with it in USDT.
    orders = [
        filled("base", "buy", "0.00119", "16742.3", "0.00000119", "BTC", 1),
        filled("so1", "buy", "0.00119", "16692.0", "0.00000119", "BTC", 2),
        filled("tp", "sell", "0.00237", "16800.0", "0.039816", "USDT", 3),
    ]
    figures = deal_figures(orders, direction="long", base="BTC", quote="USDT")
    spent = Decimal("0.00119") * Decimal("16742.3") + Decimal("0.00119") * Decimal("16692.0")
    received = Decimal("0.00237") * Decimal("16800.0") - Decimal("0.039816")
    held = Decimal("0.00238") - Decimal("0.00000238") - Decimal("0.00237")
    assert figures.quote_spent == spent
    assert figures.quote_received == received
    assert figures.base_held == held
    assert figures.average_entry == spent / (Decimal("0.00238") - Decimal("0.00000238"))
    assert figures.average_exit == Decimal("16800.0")
    assert figures.profit_quote(Decimal("16800.0")) == received - spent + held * Decimal("16800.0")


def test_short_deal_figures_mirror_the_long_ones():
    orders = [
        filled("base", "sell", "0.002", "17000", "0.034", "USDT", 1),
        filled("tp", "buy", "0.00201", "16800", "0.00000201", "BTC", 2),
    ]
    figures = deal_figures(orders, direction="short", base="BTC", quote="USDT")
    assert figures.average_entry == (Decimal("0.002") * 17000 - Decimal("0.034")) / Decimal("0.002")
    assert figures.average_exit == Decimal("16800")
    assert figures.base_held == Decimal("0.00201") - Decimal("0.00000201") - Decimal("0.002")
    assert figures.profit_quote(Decimal("16800")) > 0
