"""A deal's figures, views and snapshot parts, kept change by change, equal those rebuilt from all its orders."""

from __future__ import annotations

import random
from decimal import Decimal

from bastion.bots.interface import OrderRole
from bastion.domain import Fill, Money, Order, OrderAccepted, OrderCancelled, OrderFilled, OrderStatus, OrderType
from bastion.engine.core.accounting import deal_figures
from bastion.engine.core.deal_cache import order_view
from bastion.engine.core.model import OrderTag
from bastion.engine.core.state import DealState, OrderEntry

ROLES = [OrderRole.ENTRY, OrderRole.SAFETY, OrderRole.TAKE_PROFIT, OrderRole.GRID]


def _fresh(deal: DealState, orders: dict[str, OrderEntry]) -> tuple[object, ...]:
    """What the deal's parts are when computed from all its orders at once (the old way)."""
    mine = [orders[cid] for cid in deal.orders]
    entry = next((e.order for e in mine if e.tag.role is OrderRole.ENTRY), None)
    resting = [e.order.price for e in mine if e.tag.role is OrderRole.TAKE_PROFIT and e.active]
    return (
        deal_figures((e.order for e in mine), direction=deal.direction, base="BTC", quote="USDT"),
        tuple(order_view(e, base="BTC", quote="USDT") for e in mine),
        None if entry is None else entry.average_price,
        sum(1 for e in mine if e.tag.role is OrderRole.SAFETY and e.order.status is OrderStatus.FILLED),
        resting[-1] if resting else None,
    )


def _cached(deal: DealState, orders: dict[str, OrderEntry]) -> tuple[object, ...]:
    view = deal.cache.deal_view(deal, orders)
    figures, entry, safety, resting = deal.cache.snapshot_parts(deal, orders)
    assert all(view.order(o.leg) is o for o in view.orders)
    assert view.order("no such leg") is None
    return (
        figures,
        view.orders,
        None if entry is None else entry.average_price,
        safety,
        None if resting is None else resting.order.price,
    )


def test_random_fills_and_cancels_give_the_same_parts_as_a_rebuild() -> None:
    rng = random.Random(7)
    for direction in ("long", "short"):
        deal = DealState(id=1, bot_id=1, pair="BTC/USDT", direction=direction, opened_ms=0)
        orders: dict[str, OrderEntry] = {}
        trade = 0
        for step in range(300):
            live = [orders[c] for c in deal.orders if orders[c].order.status is OrderStatus.ACCEPTED
                    or orders[c].order.status is OrderStatus.PARTIALLY_FILLED]  # fmt: skip
            roll = rng.random()
            if roll < 0.3 or not live:
                cid = f"o{step}"
                order = Order(client_order_id=cid, symbol="BTC/USDT", side=rng.choice(["buy", "sell"]),
                              type=OrderType.LIMIT, amount=Decimal(rng.randint(1, 9)) / 1000,
                              price=Decimal(rng.randint(15000, 18000)))  # fmt: skip
                order.apply(OrderAccepted(exchange_order_id=str(step), timestamp_ms=step))
                role = rng.choice(ROLES)
                orders[cid] = OrderEntry(order=order, tag=OrderTag(account="a", bot_id=1, deal_id=1, leg=f"l{step}",
                                                                   role=role))  # fmt: skip
                deal.orders.append(cid)
                if role is OrderRole.TAKE_PROFIT:
                    deal.take_profits.append(cid)
            else:
                entry = rng.choice(live)
                order = entry.order
                price = order.price
                assert price is not None
                if roll < 0.85:
                    trade += 1
                    amount = order.remaining if rng.random() < 0.5 else order.remaining / 2
                    fee = Money(amount * Decimal("0.001"), "BTC") if rng.random() < 0.5 else Money(
                        amount * price * Decimal("0.001"), "USDT" if rng.random() < 0.9 else "BNB")  # fmt: skip
                    order.apply(OrderFilled(Fill(trade_id=str(trade), price=price, amount=amount, fee=fee,
                                                 is_maker=True, timestamp_ms=step)))  # fmt: skip
                else:
                    order.apply(OrderCancelled(step))
                deal.touch(order.client_order_id)
            if step % 7 == 0:
                assert _cached(deal, orders) == _fresh(deal, orders)
            # Without records (a backtest) the take-profit price is kept as a snapshot would keep it.
            twin = DealState(id=1, bot_id=1, pair="BTC/USDT", direction=direction, opened_ms=0,
                             orders=list(deal.orders), take_profits=list(deal.take_profits),
                             take_profit_price=deal.take_profit_price)  # fmt: skip
            deal.snapshot(orders)
            twin.note_take_profit(orders)
            assert twin.take_profit_price == deal.take_profit_price
        assert _cached(deal, orders) == _fresh(deal, orders)


def test_a_deal_whose_orders_were_replaced_is_read_again_from_scratch() -> None:
    deal = DealState(id=1, bot_id=1, pair="BTC/USDT", direction="long", opened_ms=0)
    orders: dict[str, OrderEntry] = {}
    for cid, leg in (("a", "base"),):
        order = Order(client_order_id=cid, symbol="BTC/USDT", side="buy", type=OrderType.MARKET, amount=Decimal(1))
        orders[cid] = OrderEntry(order=order, tag=OrderTag(account="a", bot_id=1, deal_id=1, leg=leg, role=None))
        deal.orders.append(cid)
    assert [o.leg for o in deal.cache.deal_view(deal, orders).orders] == ["base"]
    deal.orders.clear()  # as a test forgetting orders does; then as many orders as before, others
    order = Order(client_order_id="c", symbol="BTC/USDT", side="buy", type=OrderType.MARKET, amount=Decimal(2))
    orders["c"] = OrderEntry(order=order, tag=OrderTag(account="a", bot_id=1, deal_id=1, leg="other", role=None))
    deal.orders.append("c")
    view = deal.cache.deal_view(deal, orders)
    assert [o.leg for o in view.orders] == ["other"]
    assert view.order("base") is None
