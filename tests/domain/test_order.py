from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.domain import (
    Fill,
    Money,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
)
from bastion.errors import DuplicateFillError, OrderStateError, ValidationError


def make_order(amount="1.0", price="100"):
    return Order(client_order_id="c1", symbol="BTC/USDT", side="buy", type="limit", amount=amount, price=price)


def fill(trade_id, amount, price="100"):
    return OrderFilled(
        Fill(
            trade_id=trade_id,
            price=Decimal(price),
            amount=Decimal(amount),
            fee=Money(Decimal(amount) * Decimal("0.001"), "BTC"),
            is_maker=True,
            timestamp_ms=1,
        )
    )


def test_partial_then_full_fill():
    order = make_order()
    order.apply(OrderAccepted("42", 1))
    order.apply(fill("t1", "0.4"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    order.apply(fill("t2", "0.6", "99"))
    assert order.status is OrderStatus.FILLED
    assert order.filled == Decimal("1.0")
    assert order.cost == Decimal("99.4")
    assert order.fees() == {"BTC": Decimal("0.0010")}
    assert order.exchange_order_id == "42"


def test_duplicate_trade_id_is_refused_and_changes_nothing():
    order = make_order()
    order.apply(OrderAccepted("42", 1))
    order.apply(fill("t1", "0.4"))
    with pytest.raises(DuplicateFillError, match="trade t1 was already applied"):
        order.apply(fill("t1", "0.4"))
    assert order.filled == Decimal("0.4")
    assert len(order.events) == 2


def test_overfill_is_refused():
    order = make_order()
    order.apply(OrderAccepted("42", 1))
    with pytest.raises(OrderStateError, match="more than the order amount"):
        order.apply(fill("t1", "1.5"))
    assert order.status is OrderStatus.ACCEPTED


@pytest.mark.parametrize(
    "event",
    [OrderCancelled(2), OrderExpired(2), OrderFilled(fill("t", "1").fill)],
)
def test_events_before_acceptance_are_illegal(event):
    order = make_order()
    with pytest.raises(OrderStateError, match="not allowed when initialized"):
        order.apply(event)


def test_terminal_states_accept_nothing():
    order = make_order()
    order.apply(OrderRejected("insufficient balance", 1))
    assert order.status is OrderStatus.REJECTED
    assert order.reason == "insufficient balance"
    with pytest.raises(OrderStateError):
        order.apply(OrderAccepted("1", 2))


def test_order_cannot_be_built_in_a_later_state():
    with pytest.raises(ValidationError, match="starts INITIALIZED"):
        Order(client_order_id="c", symbol="X/Y", side="buy", type="market", amount="1", status=OrderStatus.FILLED)


def test_limit_order_needs_price_and_side_is_checked():
    with pytest.raises(ValidationError, match="needs a price"):
        Order(client_order_id="c", symbol="X/Y", side="buy", type="limit", amount="1")
    with pytest.raises(ValidationError, match="'buy' or 'sell'"):
        Order(client_order_id="c", symbol="X/Y", side="long", type="market", amount="1")


EVENT_KINDS = st.sampled_from(["accept", "fill", "cancel", "expire", "reject", "dup"])


@given(st.lists(EVENT_KINDS, max_size=12))
def test_state_machine_invariants_hold_for_any_event_sequence(kinds):
    order = make_order(amount="1")
    seen = 0
    for n, kind in enumerate(kinds):
        event = {
            "accept": OrderAccepted("x", n),
            "fill": fill(f"t{n}", "0.25"),
            "dup": fill("t0", "0.25"),
            "cancel": OrderCancelled(n),
            "expire": OrderExpired(n),
            "reject": OrderRejected("no", n),
        }[kind]
        before = (order.status, order.filled, len(order.events))
        try:
            order.apply(event)
            seen += 1
        except OrderStateError:
            assert (order.status, order.filled, len(order.events)) == before
    assert len(order.events) == seen
    assert order.filled <= order.amount
    assert (order.status is OrderStatus.FILLED) == (order.filled == order.amount)
    assert len({f.trade_id for f in order.fills}) == len(order.fills)
    replay = make_order(amount="1")
    for event in order.events:
        replay.apply(event)
    assert (replay.status, replay.filled, replay.cost) == (order.status, order.filled, order.cost)
