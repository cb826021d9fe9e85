"""What a bot sees of the core's deals and orders: frozen views built on demand."""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.interface import DealView, OrderView
from bastion.engine.core.state import DealState, OrderEntry

__all__ = ["deal_view", "order_view"]

_ZERO = Decimal(0)


def order_view(entry: OrderEntry, *, base: str, quote: str) -> OrderView:
    """The order as the bot sees it: fills summed, fees split by currency, its role."""
    order = entry.order
    fee_quote = sum((f.fee.amount for f in order.fills if f.fee.currency == quote), _ZERO)
    fee_base = sum((f.fee.amount for f in order.fills if f.fee.currency == base), _ZERO)
    return OrderView(
        leg=entry.tag.leg,
        client_order_id=order.client_order_id,
        side=order.side,
        type=order.type,
        price=order.price,
        amount=order.amount,
        filled=order.filled,
        cost=order.cost,
        fee_quote=fee_quote,
        fee_base=fee_base,
        status=order.status,
        updated_ms=max((f.timestamp_ms for f in order.fills), default=0),
        role=entry.tag.role,
    )


def deal_view(deal: DealState, orders: dict[str, OrderEntry]) -> DealView:
    """The deal with its orders in placing order, as the bot sees it."""
    base, quote = deal.pair.split("/")
    return DealView(
        id=deal.id,
        pair=deal.pair,
        direction=deal.direction,
        opened_ms=deal.opened_ms,
        orders=tuple(order_view(orders[cid], base=base, quote=quote) for cid in deal.orders),
        state=deal.state,
    )
