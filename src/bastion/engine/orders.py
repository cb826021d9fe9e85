"""The order manager: every order is stored before it is sent and changed only by events.

Crash safety comes from the order of work:

1. the engine stores the order INITIALIZED (with its deterministic client order id) in the
   same transaction as the decision that wanted it;
2. :meth:`OrderManager.submit` sends it through the signer and applies the answer as events
   (accepted, fills) and stores them;
3. if the process dies between 1 and 2, or the answer is lost, :meth:`OrderManager.reconcile`
   asks the exchange for the client order id at the next start: found, its state and fills are
   applied; not found, it is sent again with the same id (so it can never be placed twice).

Fills arrive through :meth:`OrderManager.sync_account`: open orders and the account's own
trades, applied with :meth:`~bastion.domain.Order.apply` (a trade id is applied once, ever).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bastion.custody.signer import AsyncSignerClient
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
from bastion.errors import SignerRefused, SignerUnavailable
from bastion.storage import OrderRepository

__all__ = ["OrderManager", "Placement", "fill_from_trade"]

log = logging.getLogger("bastion.engine")

#: Refusals after which the order may or may not be on the exchange: keep it INITIALIZED.
_MAYBE_SENT = frozenset({"NetworkTimeout", "ExchangeDown", "RateLimited", "ExchangeUnavailable", "internal"})


def fill_from_trade(trade: Mapping[str, Any]) -> Fill:
    """Return a domain fill from a trade as the signer renders it (decimal strings)."""
    return Fill(
        trade_id=str(trade["trade_id"]),
        price=Decimal(trade["price"]),
        amount=Decimal(trade["amount"]),
        fee=Money(Decimal(trade["fee"] or "0"), str(trade["fee_currency"] or "USDT").upper()),
        is_maker=bool(trade["is_maker"]),
        timestamp_ms=int(trade["timestamp_ms"]),
    )


class Placement:
    """Where an order belongs: its account, bot, deal and leg (fixed once stored)."""

    __slots__ = ("account", "account_id", "bot_id", "deal_id", "leg")

    def __init__(self, *, account: str, account_id: int, bot_id: int | None, deal_id: int | None, leg: str | None):
        self.account = account
        self.account_id = account_id
        self.bot_id = bot_id
        self.deal_id = deal_id
        self.leg = leg


class OrderManager:
    """Send, cancel and reconcile orders through the signer, storing every event.

    Parameters
    ----------
    signer
        The signer client (the engine holds no key).
    sessions
        Database session factory.
    clock
        Epoch milliseconds.
    """

    def __init__(self, signer: AsyncSignerClient, sessions: sessionmaker[Session], clock: Callable[[], int]) -> None:
        self.signer = signer
        self.sessions = sessions
        self.clock = clock

    # ------------------------------------------------------------------ storing

    def store(self, session: Session, order: Order, where: Placement) -> None:
        """Store an order (or its new events) in the caller's transaction."""
        OrderRepository(session).save(
            order, account_id=where.account_id, bot_id=where.bot_id, deal_id=where.deal_id, leg=where.leg
        )

    def _save(self, order: Order, where: Placement) -> None:
        with self.sessions.begin() as session:
            self.store(session, order, where)

    # ------------------------------------------------------------------ applying what the exchange says

    def _apply_trades(self, order: Order, trades: list[Mapping[str, Any]]) -> bool:
        known = {f.trade_id for f in order.fills}
        changed = False
        for trade in sorted(trades, key=lambda t: (int(t["timestamp_ms"]), str(t["trade_id"]))):
            if str(trade["trade_id"]) in known or order.status not in (
                OrderStatus.ACCEPTED,
                OrderStatus.PARTIALLY_FILLED,
            ):
                continue
            order.apply(OrderFilled(fill_from_trade(trade)))
            known.add(str(trade["trade_id"]))
            changed = True
        return changed

    def _apply_snapshot(self, order: Order, snap: Mapping[str, Any]) -> tuple[bool, bool]:
        """Apply an order snapshot; return (changed, fills still missing)."""
        changed = False
        now = self.clock()
        if order.status is OrderStatus.INITIALIZED:
            if snap["status"] == "rejected":
                order.apply(OrderRejected(reason="rejected by the exchange", timestamp_ms=now))
                return True, False
            order.apply(OrderAccepted(exchange_order_id=str(snap["exchange_order_id"]), timestamp_ms=now))
            changed = True
        changed |= self._apply_trades(order, list(snap.get("trades") or []))
        missing = Decimal(snap["filled"]) > order.filled
        if not missing and order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            if snap["status"] == "cancelled":
                order.apply(OrderCancelled(timestamp_ms=now))
                changed = True
            elif snap["status"] == "expired":
                order.apply(OrderExpired(timestamp_ms=now))
                changed = True
        return changed, missing

    async def _fetch_fills(self, order: Order, where: Placement) -> bool:
        # Asked per order: the account's latest trades may no longer hold an older order's fills.
        trades = await self.signer.call(
            "my_trades", account=where.account, symbol=order.symbol, exchange_order_id=order.exchange_order_id
        )
        mine = [t for t in trades if str(t["order_id"]) == order.exchange_order_id]
        return self._apply_trades(order, mine)

    # ------------------------------------------------------------------ sending

    async def submit(self, order: Order, where: Placement) -> Order:
        """Send a stored INITIALIZED order and store what happened.

        A policy denial or an exchange refusal becomes an ``OrderRejected`` event with the
        reason. When the answer is unknown (timeout, signer gone) the order stays INITIALIZED
        for :meth:`reconcile`.
        """
        params: dict[str, Any] = {
            "account": where.account,
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
            return order
        except SignerRefused as refused:
            if refused.kind in _MAYBE_SENT:
                log.warning("order %s: %s; it will be reconciled", order.client_order_id, refused)
                return order
            order.apply(OrderRejected(reason=f"{refused.kind}: {refused}", timestamp_ms=self.clock()))
            self._save(order, where)
            return order
        _, missing = self._apply_snapshot(order, snap)
        if missing:
            await self._fetch_fills(order, where)
        self._save(order, where)
        return order

    async def cancel(self, order: Order, where: Placement) -> Order:
        """Cancel an accepted order; store the cancel, or the fills that beat it."""
        try:
            snap = await self.signer.call(
                "cancel_order", account=where.account, symbol=order.symbol, client_order_id=order.client_order_id
            )
        except SignerRefused as refused:
            if refused.kind != "OrderNotFound":
                raise
            snap = await self.signer.call(
                "get_order", account=where.account, symbol=order.symbol, client_order_id=order.client_order_id
            )
        _, missing = self._apply_snapshot(order, snap)
        if missing:
            await self._fetch_fills(order, where)
            self._apply_snapshot(order, snap)
        self._save(order, where)
        return order

    # ------------------------------------------------------------------ reconciling

    async def reconcile(self, unsent: list[tuple[Order, Placement]]) -> list[Order]:
        """Settle INITIALIZED orders: adopt the exchange's copy if it exists, else send them now."""
        done = []
        for order, where in unsent:
            try:
                snap = await self.signer.call(
                    "get_order", account=where.account, symbol=order.symbol, client_order_id=order.client_order_id
                )
            except SignerRefused as refused:
                if refused.kind != "OrderNotFound":
                    raise
                log.info("order %s never reached the exchange: sending it now", order.client_order_id)
                done.append(await self.submit(order, where))
                continue
            log.info("order %s was on the exchange: adopting it", order.client_order_id)
            _, missing = self._apply_snapshot(order, snap)
            if missing:
                await self._fetch_fills(order, where)
                self._apply_snapshot(order, snap)
            self._save(order, where)
            done.append(order)
        return done

    async def sync_account(self, active: list[tuple[Order, Placement]]) -> list[tuple[Order, Placement]]:
        """Bring an account's active orders up to date; return the ones that changed."""
        if not active:
            return []
        account = active[0][1].account
        open_now = {s["exchange_order_id"]: s for s in await self.signer.call("open_orders", account=account)}
        changed = []
        for order, where in active:
            snap = open_now.get(order.exchange_order_id)
            if snap is not None and Decimal(snap["filled"]) == order.filled:
                continue
            moved = await self._fetch_fills(order, where)
            if snap is None and order.status is not OrderStatus.FILLED:
                final = await self.signer.call(
                    "get_order", account=account, symbol=order.symbol, exchange_order_id=order.exchange_order_id
                )
                moved |= self._apply_snapshot(order, final)[0]
            if moved:
                self._save(order, where)
                changed.append((order, where))
        return changed
