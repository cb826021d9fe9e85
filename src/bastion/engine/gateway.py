"""The engine's one adapter to the signer: its answers as typed reports and core events.

Everything the shell asks the signer goes through :class:`SignerGateway`, which turns the
signer's answers (decimal strings) into :class:`~bastion.engine.core.OrderReport` and
:class:`~bastion.domain.Fill`, and its refusals into core events with a typed
:class:`~bastion.engine.core.RejectKind` (from the refusal's ``kind``, never its text). When the
signer's typed RPC module lands, only this file changes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bastion.custody.signer import AsyncSignerClient
from bastion.domain import Fill, Money, Order
from bastion.engine.core import OrderReport, OrderTag, RejectKind, fills_missing, report_events
from bastion.engine.core.events import Event, Filled, Rejected
from bastion.errors import SignerRefused, SignerUnavailable

__all__ = ["SignerGateway", "reject_kind"]

log = logging.getLogger("bastion.engine")

#: Refusals after which the order may or may not be on the exchange: it stays INITIALIZED.
_MAYBE_SENT = frozenset({"NetworkTimeout", "ExchangeDown", "RateLimited", "ExchangeUnavailable", "internal"})
_KINDS = {"denied": RejectKind.POLICY_DENIED, "halted": RejectKind.ACCOUNT_HALTED}
_KINDS_EXCHANGE = {"InsufficientFunds": RejectKind.INSUFFICIENT_FUNDS}


def reject_kind(refused: SignerRefused) -> RejectKind | None:
    """Classify a refusal by its kind; None when the order may have reached the exchange."""
    if refused.kind in _MAYBE_SENT:
        return None
    return _KINDS.get(refused.kind) or _KINDS_EXCHANGE.get(refused.kind) or RejectKind.EXCHANGE_REFUSED


def _fill(trade: Mapping[str, Any]) -> Fill:
    return Fill(
        trade_id=str(trade["trade_id"]),
        price=Decimal(trade["price"]),
        amount=Decimal(trade["amount"]),
        fee=Money(Decimal(trade["fee"] or "0"), str(trade["fee_currency"] or "USDT").upper()),
        is_maker=bool(trade["is_maker"]),
        timestamp_ms=int(trade["timestamp_ms"]),
    )


def _report(snap: Mapping[str, Any]) -> OrderReport:
    return OrderReport(
        exchange_order_id=str(snap["exchange_order_id"]),
        status=str(snap["status"]),
        filled=Decimal(snap["filled"] or "0"),
        fills=tuple(_fill(t) for t in snap.get("trades") or ()),
    )


class SignerGateway:
    """Ask the signer about orders and balances; answer in core terms."""

    def __init__(self, signer: AsyncSignerClient) -> None:
        self.signer = signer

    async def place(self, order: Order, tag: OrderTag) -> list[Event]:
        """Send a stored INITIALIZED order; return what happened as events (none: answer unknown)."""
        params: dict[str, Any] = {
            "account": tag.account,
            "symbol": order.symbol,
            "side": order.side,
            "type": order.type.value,
            "amount": order.amount,
            "client_order_id": order.client_order_id,
        }
        if order.price is not None:
            params["price"] = order.price
        try:
            snap = await self.signer.call("place_order", **params)
        except SignerUnavailable:
            log.warning("order %s: signer unavailable; it will be reconciled", order.client_order_id)
            return []
        except SignerRefused as refused:
            kind = reject_kind(refused)
            if kind is None:
                log.warning("order %s: %s; it will be reconciled", order.client_order_id, refused)
                return []
            return [Rejected(client_order_id=order.client_order_id, kind=kind, reason=f"{refused.kind}: {refused}")]
        return await self._events(order, tag, _report(snap))

    async def cancel(self, order: Order, tag: OrderTag) -> list[Event]:
        """Cancel an accepted order; return the cancel, or the fills that beat it."""
        try:
            snap = await self.signer.call(
                "cancel_order", account=tag.account, symbol=order.symbol, client_order_id=order.client_order_id
            )
        except SignerRefused as refused:
            if refused.kind != "OrderNotFound":
                raise
            snap = await self.signer.call(
                "get_order", account=tag.account, symbol=order.symbol, client_order_id=order.client_order_id
            )
        return await self._events(order, tag, _report(snap))

    async def find(self, order: Order, tag: OrderTag) -> list[Event] | None:
        """Look an unanswered order up by client id: its events, or None when the exchange never got it."""
        try:
            snap = await self.signer.call(
                "get_order", account=tag.account, symbol=order.symbol, client_order_id=order.client_order_id
            )
        except SignerRefused as refused:
            if refused.kind != "OrderNotFound":
                raise
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
            (str(s["symbol"]), str(s["exchange_order_id"])): s
            for s in await self.signer.call("open_orders", account=account)
        }
        events: list[Event] = []
        for order, tag in orders:
            snap = open_now.get((order.symbol, str(order.exchange_order_id)))
            if snap is not None and Decimal(snap["filled"] or "0") == order.filled:
                continue
            if snap is None:
                snap = await self.signer.call(
                    "get_order", account=account, symbol=order.symbol, exchange_order_id=order.exchange_order_id
                )
            events += await self._events(order, tag, _report(snap))
        return events

    async def _events(self, order: Order, tag: OrderTag, report: OrderReport) -> list[Event]:
        if fills_missing(order, report):
            report = OrderReport(
                exchange_order_id=report.exchange_order_id,
                status=report.status,
                filled=report.filled,
                fills=report.fills + await self._trades(tag.account, order.symbol, report.exchange_order_id),
            )
        return report_events(order, report)

    async def _trades(self, account: str, symbol: str, exchange_order_id: str) -> tuple[Fill, ...]:
        # Asked per order: the account's latest trades may no longer hold an older order's fills.
        trades = await self.signer.call(
            "my_trades", account=account, symbol=symbol, exchange_order_id=exchange_order_id
        )
        return tuple(_fill(t) for t in trades if str(t["order_id"]) == exchange_order_id)

    async def balances(self, account: str) -> dict[str, Decimal]:
        """Free balance per currency."""
        free = await self.signer.call("balances", account=account)
        return {c: Decimal(b["free"]) for c, b in free.items()}


def fill_events(order: Order, fills: tuple[Fill, ...]) -> list[Event]:
    """Fill events for trades the order does not have yet (for tests and replays)."""
    known = {f.trade_id for f in order.fills}
    return [Filled(client_order_id=order.client_order_id, fill=f) for f in fills if f.trade_id not in known]
