"""The leak detector's bookkeeping: which orders on the exchange did Bastion send?

Every order the signer places is recorded in the audit log before it goes out (its client
order id, symbol and side) and after (the exchange's order id). :class:`SentOrders` is that
record in memory, rebuilt from the log when the signer starts. An order the exchange reports
for the account is *ours* when its client order id is one we sent for the same symbol and side,
and, once we know the exchange id we got back, that id matches too: an attacker who read our
ids through the leaked key and reused one would still be caught. Anything else is *foreign*:
the key is being used somewhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bastion.exchanges.port import OrderSnapshot

__all__ = ["ForeignOrder", "SentOrders"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignOrder:
    """An order on the exchange that the signer did not send."""

    exchange_order_id: str
    client_order_id: str | None
    symbol: str
    side: str
    type: str
    status: str
    amount: str
    price: str | None
    filled: str
    timestamp_ms: int | None
    why: str

    def to_json(self) -> dict[str, Any]:
        """Return the order as a JSON-ready dict."""
        return {
            "exchange_order_id": self.exchange_order_id,
            "client_order_id": self.client_order_id,
            "symbol": self.symbol,
            "side": self.side,
            "type": self.type,
            "status": self.status,
            "amount": self.amount,
            "price": self.price,
            "filled": self.filled,
            "timestamp_ms": self.timestamp_ms,
            "why": self.why,
        }


def _plain(value: Any) -> str:
    return format(value, "f")


class SentOrders:
    """The orders one account's signer sent, by client order id and by exchange order id."""

    def __init__(self) -> None:
        self._by_client: dict[str, tuple[str, str]] = {}
        self._exchange_of: dict[str, str] = {}
        self._exchange_ids: set[str] = set()
        self._acknowledged: set[str] = set()

    def __len__(self) -> int:
        return len(self._by_client)

    def sent(self, client_order_id: str, symbol: str, side: str) -> None:
        """Record an order about to be sent."""
        self._by_client[client_order_id] = (symbol, side)

    def used_for(self, client_order_id: str) -> tuple[str, str] | None:
        """The (symbol, side) this client order id was sent for, or None if it never was."""
        return self._by_client.get(client_order_id)

    def answered(self, client_order_id: str, exchange_order_id: str) -> None:
        """Record the exchange's id for an order we sent."""
        if client_order_id in self._by_client:
            self._exchange_of[client_order_id] = exchange_order_id
            self._exchange_ids.add(exchange_order_id)

    def acknowledge(self, exchange_order_ids: Iterable[str]) -> None:
        """Stop reporting these foreign orders (the user has seen them and re-opened the account)."""
        self._acknowledged.update(exchange_order_ids)

    def is_ours(self, exchange_order_id: str) -> bool:
        """Whether an exchange order id is one we got back for an order we sent."""
        return exchange_order_id in self._exchange_ids

    def judge(self, order: OrderSnapshot) -> ForeignOrder | None:
        """Return the order as a :class:`ForeignOrder` if the signer did not send it, else None."""
        if order.exchange_order_id in self._acknowledged:
            return None
        cid = order.client_order_id
        why = None
        mine = self._by_client.get(cid) if cid else None
        if mine is None:
            why = "client order id was never sent by this signer"
        elif mine != (order.symbol, order.side):
            why = f"client order id was sent for {mine[1]} {mine[0]}, not {order.side} {order.symbol}"
        else:
            known = self._exchange_of.get(cid)  # type: ignore[arg-type]
            if known is not None and known != order.exchange_order_id:
                why = f"client order id was answered with exchange order {known}, not {order.exchange_order_id}"
            elif known is None:
                # Sent but the answer was lost (timeout): it is ours; learn the id.
                self.answered(cid, order.exchange_order_id)  # type: ignore[arg-type]
        if why is None:
            return None
        return ForeignOrder(
            exchange_order_id=order.exchange_order_id,
            client_order_id=cid,
            symbol=order.symbol,
            side=str(order.side),
            type=str(order.type),
            status=str(order.status),
            amount=_plain(order.amount),
            price=None if order.price is None else _plain(order.price),
            filled=_plain(order.filled),
            timestamp_ms=order.timestamp_ms,
            why=why,
        )

    def replay(self, kind: str, payload: Mapping[str, Any]) -> None:
        """Feed one audit-log entry (at start-up, in log order)."""
        if kind == "request" and payload.get("op") == "place_order":
            params = payload.get("params") or {}
            cid, symbol, side = params.get("client_order_id"), params.get("symbol"), params.get("side")
            if isinstance(cid, str) and isinstance(symbol, str) and isinstance(side, str):
                self.sent(cid, symbol, side)
        elif kind == "outcome" and payload.get("op") == "place_order" and payload.get("ok"):
            order = payload.get("result") or {}
            cid, eid = order.get("client_order_id"), order.get("exchange_order_id")
            if isinstance(cid, str) and isinstance(eid, str):
                self.answered(cid, eid)
        elif kind == "leak_ack":
            ids = payload.get("exchange_order_ids") or []
            self.acknowledge(str(i) for i in ids)
        elif kind == "reconciled":
            cid, eid = payload.get("client_order_id"), payload.get("exchange_order_id")
            if isinstance(cid, str) and isinstance(eid, str):
                self.answered(cid, eid)
