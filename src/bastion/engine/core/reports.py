"""From what the exchange reports about an order to core events, without changing the order.

The shell turns the signer's answer into an :class:`OrderReport`; :func:`report_events` compares
it with the core's copy of the order and returns the events that bring the copy up to date:
accepted, each new fill (a trade id once), then cancelled or expired once every fill is known.
``fills_missing`` tells the shell to fetch the order's trades first (the report says more was
filled than the trades it carries).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bastion.domain import Fill, Order, OrderStatus
from bastion.engine.core.events import Accepted, Cancelled, Event, Expired, Filled, Rejected
from bastion.engine.core.model import RejectKind

__all__ = ["OrderReport", "fills_missing", "report_events"]

_OPEN = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderReport:
    """An order as the exchange has it: its status, base filled, and the trades known with it."""

    exchange_order_id: str
    status: OrderStatus
    filled: Decimal
    fills: tuple[Fill, ...] = ()


def _new_fills(order: Order, fills: tuple[Fill, ...]) -> list[Fill]:
    known = {f.trade_id for f in order.fills}
    fresh: dict[str, Fill] = {}
    for fill in sorted(fills, key=lambda f: (f.timestamp_ms, f.trade_id)):
        if fill.trade_id not in known:
            fresh.setdefault(fill.trade_id, fill)
    return list(fresh.values())


def fills_missing(order: Order, report: OrderReport) -> bool:
    """Whether the report says more was filled than the order and the report's trades add up to."""
    fresh = sum((f.amount for f in _new_fills(order, report.fills)), Decimal(0))
    return report.filled > order.filled + fresh


def report_events(order: Order, report: OrderReport) -> list[Event]:
    """Return the events that bring ``order`` to what ``report`` says (possibly none)."""
    cid = order.client_order_id
    events: list[Event] = []
    status = order.status
    if status is OrderStatus.INITIALIZED:
        if report.status is OrderStatus.REJECTED:
            return [Rejected(client_order_id=cid, kind=RejectKind.EXCHANGE_REFUSED, reason="rejected by the exchange")]
        events.append(Accepted(client_order_id=cid, exchange_order_id=report.exchange_order_id))
        status = OrderStatus.ACCEPTED
    if status not in _OPEN:
        return events
    filled = order.filled
    for fill in _new_fills(order, report.fills):
        if filled >= order.amount:
            break
        events.append(Filled(client_order_id=cid, fill=fill))
        filled += fill.amount
    if filled >= order.amount or report.filled > filled:
        return events  # filled in full, or trades still to fetch before any terminal event
    if report.status is OrderStatus.CANCELLED:
        events.append(Cancelled(client_order_id=cid))
    elif report.status is OrderStatus.EXPIRED:
        events.append(Expired(client_order_id=cid))
    return events
