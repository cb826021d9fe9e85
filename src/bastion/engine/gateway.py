"""The engine's one adapter to the signer: its typed answers as core reports and events.

Everything the shell asks the signer goes through :class:`SignerGateway`, over the signer's typed
RPC (:mod:`bastion.custody.signer.rpc`): answers come back as the exchange port's records and
errors as the same :mod:`bastion.errors` classes. Here they become
:class:`~bastion.engine.core.OrderReport` and core events; a refusal becomes a
:class:`~bastion.engine.core.events.Rejected` with a typed :class:`~bastion.engine.core.RejectKind`
chosen by the error's class, never its text.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from bastion.custody.signer import AsyncSignerClient
from bastion.custody.signer.rpc import (
    BalancesRequest,
    CancelOrderRequest,
    GetOrderRequest,
    MyTradesRequest,
    OpenOrdersRequest,
    PlaceOrderRequest,
    outcome_unknown,
)
from bastion.domain import Fill, Order
from bastion.engine.core import OrderReport, OrderTag, RejectKind, fills_missing, report_events
from bastion.engine.core.events import Event, Rejected
from bastion.errors import BastionError, InsufficientFunds, OrderNotFound, PolicyDenied
from bastion.exchanges.port import OrderSnapshot

__all__ = ["SignerGateway", "reject_kind"]

log = logging.getLogger("bastion.engine")


def reject_kind(error: BaseException) -> RejectKind | None:
    """Classify a failed send by the error's class; None when the order may have reached the exchange."""
    if outcome_unknown(error):
        return None
    if isinstance(error, PolicyDenied):
        return RejectKind.POLICY_DENIED
    if isinstance(error, InsufficientFunds):
        return RejectKind.INSUFFICIENT_FUNDS
    return RejectKind.EXCHANGE_REFUSED


def _report(snap: OrderSnapshot) -> OrderReport:
    return OrderReport(
        exchange_order_id=snap.exchange_order_id,
        status=snap.status,
        filled=snap.filled,
        fills=tuple(t.to_fill() for t in snap.trades),
    )


class SignerGateway:
    """Ask the signer about orders and balances; answer in core terms."""

    def __init__(self, signer: AsyncSignerClient) -> None:
        self.signer = signer

    async def place(self, order: Order, tag: OrderTag) -> list[Event]:
        """Send a stored INITIALIZED order; return what happened as events (none: answer unknown)."""
        request = PlaceOrderRequest(
            account=tag.account,
            symbol=order.symbol,
            side=order.side,
            type=order.type,
            client_order_id=order.client_order_id,
            amount=order.amount,
            price=order.price,
        )
        try:
            snap = await self.signer.place_order(request)
        except BastionError as exc:
            kind = reject_kind(exc)
            if kind is None:
                log.warning("order %s: %s; it will be reconciled", order.client_order_id, exc)
                return []
            return [Rejected(client_order_id=order.client_order_id, kind=kind, reason=f"{type(exc).__name__}: {exc}")]
        return await self._events(order, tag, _report(snap))

    async def cancel(self, order: Order, tag: OrderTag) -> list[Event]:
        """Cancel an accepted order; return the cancel, or the fills that beat it."""
        address = {"account": tag.account, "symbol": order.symbol, "client_order_id": order.client_order_id}
        try:
            snap = await self.signer.cancel_order(CancelOrderRequest(**address))
        except OrderNotFound:  # already done on the exchange: ask what happened
            snap = await self.signer.get_order(GetOrderRequest(**address))
        return await self._events(order, tag, _report(snap))

    async def find(self, order: Order, tag: OrderTag) -> list[Event] | None:
        """Look an unanswered order up by client id: its events, or None when the exchange never got it."""
        try:
            snap = await self.signer.get_order(
                GetOrderRequest(account=tag.account, symbol=order.symbol, client_order_id=order.client_order_id)
            )
        except OrderNotFound:
            return None
        return await self._events(order, tag, _report(snap))

    async def sync(self, account: str, orders: list[tuple[Order, OrderTag]]) -> list[Event]:
        """Bring an account's active orders up to date: events for what changed.

        Open orders are matched by their identity (symbol, exchange order id): exchanges number
        orders per symbol, so an id alone can name two orders.
        """
        if not orders:
            return []
        open_now = {
            (s.symbol, s.exchange_order_id): s
            for s in await self.signer.open_orders(OpenOrdersRequest(account=account))
        }
        events: list[Event] = []
        for order, tag in orders:
            snap = open_now.get((order.symbol, str(order.exchange_order_id)))
            if snap is not None and snap.filled == order.filled:
                continue
            if snap is None:
                snap = await self.signer.get_order(
                    GetOrderRequest(account=account, symbol=order.symbol, exchange_order_id=order.exchange_order_id)
                )
            events += await self._events(order, tag, _report(snap))
        return events

    async def _events(self, order: Order, tag: OrderTag, report: OrderReport) -> list[Event]:
        if fills_missing(order, report):
            report = OrderReport(
                exchange_order_id=report.exchange_order_id,
                status=report.status,
                filled=report.filled,
                fills=report.fills + await self._fills(tag.account, order.symbol, report.exchange_order_id),
            )
        return report_events(order, report)

    async def _fills(self, account: str, symbol: str, exchange_order_id: str) -> tuple[Fill, ...]:
        # Asked per order: the account's latest trades may no longer hold an older order's fills.
        trades = await self.signer.my_trades(
            MyTradesRequest(account=account, symbol=symbol, exchange_order_id=exchange_order_id)
        )
        return tuple(t.to_fill() for t in trades if t.order_id == exchange_order_id)

    async def balances(self, account: str) -> dict[str, Decimal]:
        """Free balance per currency."""
        answer = await self.signer.balances(BalancesRequest(account=account))
        return {c: b.free for c, b in answer.items()}
