"""Orders and their fills, stored as events and rebuilt through :meth:`Order.apply`.

An order is one ``orders`` row (its fixed parameters and, for queries, its current status),
one ``fills`` row per execution, and one ``events`` row per domain event (kind = the event's
class name; an ``OrderFilled`` event names its trade id, whose details are in ``fills``).
Loading creates a fresh :class:`~bastion.domain.Order` and applies the events in the order
they were appended; the status is never copied from the row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bastion.domain.money import Money
from bastion.domain.order import (
    Fill,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderType,
)
from bastion.errors import DuplicateFillError, OrderStateError, StorageError, ValidationError
from bastion.storage.models import EventRow, FillRow, OrderRow
from bastion.storage.repositories._base import Repository
from bastion.storage.repositories.events import EventRepository

__all__ = ["OrderRepository"]

AGGREGATE = "order"


def _encode(event: OrderEvent) -> dict[str, Any]:
    if isinstance(event, OrderAccepted):
        return {"exchange_order_id": event.exchange_order_id, "timestamp_ms": event.timestamp_ms}
    if isinstance(event, OrderFilled):
        return {"trade_id": event.fill.trade_id}
    if isinstance(event, OrderRejected):
        return {"reason": event.reason, "timestamp_ms": event.timestamp_ms}
    return {"timestamp_ms": event.timestamp_ms}


def _decode(row: EventRow, fills: dict[str, Fill]) -> OrderEvent:
    payload = row.payload
    try:
        if row.kind == "OrderAccepted":
            return OrderAccepted(payload["exchange_order_id"], payload["timestamp_ms"])
        if row.kind == "OrderFilled":
            return OrderFilled(fills[payload["trade_id"]])
        if row.kind == "OrderRejected":
            return OrderRejected(payload["reason"], payload["timestamp_ms"])
        if row.kind == "OrderCancelled":
            return OrderCancelled(payload["timestamp_ms"])
        if row.kind == "OrderExpired":
            return OrderExpired(payload["timestamp_ms"])
    except KeyError as exc:
        raise StorageError(
            f"order {row.aggregate_id}: event {row.id} ({row.kind}) refers to {exc} which is not stored"
        ) from None
    raise StorageError(f"order {row.aggregate_id}: event {row.id} has unknown kind {row.kind!r}")


def _fill(row: FillRow) -> Fill:
    return Fill(
        trade_id=row.trade_id,
        price=row.price,
        amount=row.amount,
        fee=Money(row.fee, row.fee_currency),
        is_maker=row.is_maker,
        timestamp_ms=row.ts_ms,
    )


class OrderRepository(Repository):
    """Save domain orders (row, fills, events) and load them back by replaying their events."""

    def save(
        self,
        order: Order,
        *,
        account_id: int,
        bot_id: int | None = None,
        deal_id: int | None = None,
        leg: str | None = None,
        role: str | None = None,
    ) -> None:
        """Store the order, or store what happened to it since it was last saved.

        Events already stored are kept; the order's newer events (and their fills) are
        appended. Saving is idempotent.

        Parameters
        ----------
        order
            The domain order.
        account_id
            The account it trades on (fixed once stored).
        bot_id, deal_id
            The bot and deal that placed it, if any (fixed once stored).
        leg, role
            The bot's name for the order within its deal and what it does for it (stored on insert).

        Raises
        ------
        DuplicateFillError
            A new fill's trade id is already stored for this account and symbol.
        StorageError
            The stored order differs in a fixed field, or has events this copy does not have.
        """
        row = self._row(order.client_order_id)
        stored_kinds: list[str] = []
        if row is not None:
            self._check_same(row, order, account_id=account_id, bot_id=bot_id, deal_id=deal_id)
            stored_kinds = list(
                self.session.scalars(
                    select(EventRow.kind)
                    .where(EventRow.aggregate_type == AGGREGATE, EventRow.aggregate_id == order.client_order_id)
                    .order_by(EventRow.id)
                )
            )
        known = [type(e).__name__ for e in order.events[: len(stored_kinds)]]
        if len(stored_kinds) > len(order.events) or known != stored_kinds:
            raise StorageError(
                f"order {order.client_order_id}: the database has events {stored_kinds}, this copy has "
                f"{[type(e).__name__ for e in order.events]}; expected this copy to extend the stored one "
                "(load the order again before changing it)"
            )
        new_events = order.events[len(stored_kinds) :]
        self._refuse_stored_trades(order, account_id, [e.fill for e in new_events if isinstance(e, OrderFilled)])

        now = self.clock()
        if row is None:
            row = OrderRow(
                client_order_id=order.client_order_id,
                account_id=account_id,
                bot_id=bot_id,
                deal_id=deal_id,
                symbol=order.symbol,
                side=order.side,
                type=order.type.value,
                price=order.price,
                amount=order.amount,
                created_at=now,
                leg=leg,
                role=role,
            )
            self.session.add(row)
        row.status = order.status.value
        row.exchange_order_id = order.exchange_order_id
        row.reason = order.reason
        row.updated_at = now
        self._flush(order)
        for event in new_events:
            if isinstance(event, OrderFilled):
                self.session.add(self._fill_row(row, event.fill))
        self._flush(order)
        events = EventRepository(self.session, clock=self.clock)
        for event in new_events:
            events.append(type(event).__name__, AGGREGATE, order.client_order_id, _encode(event), ts=now)

    def get(self, client_order_id: str) -> Order | None:
        """Return the order rebuilt from its events, or None when it is not stored."""
        row = self._row(client_order_id)
        return None if row is None else self._rebuild([row])[0]

    def get_by_exchange_id(self, account_id: int, symbol: str, exchange_order_id: str) -> Order | None:
        """Return the account's order with this identity (exchanges number orders per symbol), or None."""
        row = self.session.scalar(
            select(OrderRow).where(
                OrderRow.account_id == account_id,
                OrderRow.symbol == symbol,
                OrderRow.exchange_order_id == exchange_order_id,
            )
        )
        return None if row is None else self._rebuild([row])[0]

    def open_orders(self, account_id: int, symbol: str | None = None) -> list[Order]:
        """Return the account's orders that may still fill (accepted or partially filled), oldest first."""
        query = select(OrderRow).where(
            OrderRow.account_id == account_id, OrderRow.status.in_(("accepted", "partially_filled"))
        )
        if symbol is not None:
            query = query.where(OrderRow.symbol == symbol)
        return self._rebuild(list(self.session.scalars(query.order_by(OrderRow.id))))

    def unsent(self, account_id: int | None = None) -> list[tuple[Order, int, int | None, int | None, str | None]]:
        """Return orders still INITIALIZED (stored before sending; the answer, if any, was not seen).

        Each comes with its account id, bot id, deal id and leg, oldest first.
        """
        return self._with_refs(("initialized",), account_id)

    def active(self, account_id: int | None = None) -> list[tuple[Order, int, int | None, int | None, str | None]]:
        """Return orders that may still fill (accepted, partially filled) with account, bot, deal and leg."""
        return self._with_refs(("accepted", "partially_filled"), account_id)

    def _with_refs(
        self, statuses: tuple[str, ...], account_id: int | None
    ) -> list[tuple[Order, int, int | None, int | None, str | None]]:
        query = select(OrderRow).where(OrderRow.status.in_(statuses))
        if account_id is not None:
            query = query.where(OrderRow.account_id == account_id)
        rows = list(self.session.scalars(query.order_by(OrderRow.id)))
        return [
            (order, row.account_id, row.bot_id, row.deal_id, row.leg)
            for order, row in zip(self._rebuild(rows), rows, strict=True)
        ]

    def legs(self, deal_id: int) -> dict[str, str | None]:
        """Return client order id -> leg for the deal's orders."""
        rows = self.session.execute(select(OrderRow.client_order_id, OrderRow.leg).where(OrderRow.deal_id == deal_id))
        return dict(rows.tuples().all())

    def for_bot(self, bot_id: int | None = None) -> list[tuple[Order, int | None, int | None, str | None]]:
        """Return orders (of one bot, or all) with bot id, deal id and leg, oldest first."""
        query = select(OrderRow)
        if bot_id is not None:
            query = query.where(OrderRow.bot_id == bot_id)
        rows = list(self.session.scalars(query.order_by(OrderRow.id)))
        return [(order, row.bot_id, row.deal_id, row.leg) for order, row in zip(self._rebuild(rows), rows, strict=True)]

    def tagged(self, deal_id: int) -> list[tuple[Order, str | None, str | None]]:
        """Return the deal's orders with their leg and role, oldest first."""
        query = select(OrderRow).where(OrderRow.deal_id == deal_id).order_by(OrderRow.id)
        rows = list(self.session.scalars(query))
        return [(order, row.leg, row.role) for order, row in zip(self._rebuild(rows), rows, strict=True)]

    def for_deal(self, deal_id: int) -> list[Order]:
        """Return the deal's orders, oldest first."""
        query = select(OrderRow).where(OrderRow.deal_id == deal_id).order_by(OrderRow.id)
        return self._rebuild(list(self.session.scalars(query)))

    # --- helpers -----------------------------------------------------------------------------

    def _row(self, client_order_id: str) -> OrderRow | None:
        return self.session.scalar(select(OrderRow).where(OrderRow.client_order_id == client_order_id))

    @staticmethod
    def _check_same(row: OrderRow, order: Order, *, account_id: int, bot_id: int | None, deal_id: int | None) -> None:
        given = {
            "account_id": account_id,
            "symbol": order.symbol,
            "side": order.side,
            "type": order.type.value,
            "price": order.price,
            "amount": order.amount,
        }
        if bot_id is not None:
            given["bot_id"] = bot_id
        if deal_id is not None:
            given["deal_id"] = deal_id
        for name, value in given.items():
            if getattr(row, name) != value:
                raise StorageError(
                    f"order {order.client_order_id}: {name} is stored as {getattr(row, name)!r}, "
                    f"got {value!r}; expected the same order (a client order id is used once)"
                )

    def _refuse_stored_trades(self, order: Order, account_id: int, fills: Sequence[Fill]) -> None:
        if not fills:
            return
        clash = self.session.execute(
            select(FillRow.trade_id, OrderRow.client_order_id)
            .join(OrderRow, FillRow.order_id == OrderRow.id)
            .where(
                FillRow.account_id == account_id,
                FillRow.symbol == order.symbol,
                FillRow.trade_id.in_([f.trade_id for f in fills]),
            )
        ).first()
        if clash is not None:
            raise DuplicateFillError(
                f"order {order.client_order_id}: trade {clash.trade_id} on {order.symbol} is already stored "
                f"for order {clash.client_order_id} of this account; a trade id is recorded once"
            )

    @staticmethod
    def _fill_row(row: OrderRow, fill: Fill) -> FillRow:
        return FillRow(
            order_id=row.id,
            account_id=row.account_id,
            symbol=row.symbol,
            trade_id=fill.trade_id,
            price=fill.price,
            amount=fill.amount,
            fee=fill.fee.amount,
            fee_currency=fill.fee.currency,
            is_maker=fill.is_maker,
            ts_ms=fill.timestamp_ms,
        )

    def _flush(self, order: Order) -> None:
        try:
            self.session.flush()
        except IntegrityError as exc:
            message = str(exc.orig)
            if "trade_id" in message:
                raise DuplicateFillError(
                    f"order {order.client_order_id}: one of its trade ids is already stored for this "
                    f"account and symbol ({message.splitlines()[0]})"
                ) from None
            raise StorageError(f"order {order.client_order_id} cannot be stored: {message.splitlines()[0]}") from None

    def _rebuild(self, rows: list[OrderRow]) -> list[Order]:
        if not rows:
            return []
        fills: dict[int, dict[str, Fill]] = defaultdict(dict)
        for fill_row in self.session.scalars(select(FillRow).where(FillRow.order_id.in_([r.id for r in rows]))):
            fills[fill_row.order_id][fill_row.trade_id] = _fill(fill_row)
        events: dict[str, list[EventRow]] = defaultdict(list)
        event_rows = self.session.scalars(
            select(EventRow)
            .where(
                EventRow.aggregate_type == AGGREGATE,
                EventRow.aggregate_id.in_([r.client_order_id for r in rows]),
            )
            .order_by(EventRow.id)
        )
        for event_row in event_rows:
            events[event_row.aggregate_id].append(event_row)
        return [self._replay(row, events[row.client_order_id], fills[row.id]) for row in rows]

    @staticmethod
    def _replay(row: OrderRow, events: list[EventRow], fills: dict[str, Fill]) -> Order:
        try:
            order = Order(
                client_order_id=row.client_order_id,
                symbol=row.symbol,
                side=row.side,  # type: ignore[arg-type]  # the check constraint allows buy/sell only
                type=OrderType(row.type),
                amount=row.amount,
                price=row.price,
            )
            for event_row in events:
                order.apply(_decode(event_row, fills))
        except (OrderStateError, ValidationError) as exc:
            raise StorageError(f"order {row.client_order_id}: its stored events do not replay: {exc}") from None
        if order.status.value != row.status or len(order.fills) != len(fills):
            raise StorageError(
                f"order {row.client_order_id}: stored status {row.status!r} with {len(fills)} fills, but its "
                f"events rebuild {order.status.value!r} with {len(order.fills)} fills"
            )
        return order
