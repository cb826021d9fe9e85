"""What the core derives from a deal's orders, kept up to date change by change.

A deal's figures, its bot's view of it and the parts of its snapshot are functions of its orders.
Rebuilding them from every order on every decision costs O(orders) each time, and a grid's one
deal gathers thousands of orders over a year (a quadratic backtest). :class:`DealCache` instead
takes in each order once when it is added and again only when the core marks it changed
(:meth:`DealCache.touch`, called where the core applies an order event), so a change costs
O(that order's fills) and an unchanged deal's view is reused as it is.

Orders are only ever appended to a deal (the core refuses a second order with the same client
id, so a leg names one order of its deal). A deal whose order list changed otherwise (a test
forgetting orders) is taken in again from scratch.
"""

from __future__ import annotations

from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING

from bastion.bots.interface import DealView, OrderRole, OrderView
from bastion.domain import OrderStatus
from bastion.engine.core.accounting import DealFigures, FigureTotals

if TYPE_CHECKING:
    from collections.abc import Mapping

    from bastion.engine.core.state import DealState, OrderEntry

__all__ = ["DealCache", "order_view"]

_ZERO = Decimal(0)
_ACTIVE = (OrderStatus.INITIALIZED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


def order_view(entry: OrderEntry, *, base: str, quote: str) -> OrderView:
    """The order as the bot sees it: fills summed, fees split by currency, its role."""
    order = entry.order
    filled = cost = fee_quote = fee_base = _ZERO
    updated = 0
    for f in order.fills:
        filled += f.amount
        cost += f.cost
        if f.fee.currency == quote:
            fee_quote += f.fee.amount
        if f.fee.currency == base:
            fee_base += f.fee.amount
        updated = max(updated, f.timestamp_ms)
    return OrderView(
        leg=entry.tag.leg,
        client_order_id=order.client_order_id,
        side=order.side,
        type=order.type,
        price=order.price,
        amount=order.amount,
        filled=filled,
        cost=cost,
        fee_quote=fee_quote,
        fee_base=fee_base,
        status=order.status,
        updated_ms=updated,
        role=entry.tag.role,
    )


class DealCache:
    """Figures, order views, a leg index and snapshot parts of one deal, updated incrementally."""

    __slots__ = (
        "_base",
        "_counted",
        "_entry_cid",
        "_index",
        "_index_view",
        "_known",
        "_position",
        "_quote",
        "_safety_filled",
        "_stale",
        "_take_profits",
        "_totals",
        "_view",
        "_views",
    )

    def __init__(self) -> None:
        self._known = 0
        self._stale: set[str] = set()
        self._reset_derived()

    def _reset_derived(self) -> None:
        self._counted: dict[str, int] = {}
        self._position: dict[str, int] = {}
        self._views: list[OrderView] = []
        self._index: dict[str, int] = {}
        self._index_view: Mapping[str, int] = MappingProxyType(self._index)
        self._totals: FigureTotals | None = None
        self._entry_cid: str | None = None
        self._safety_filled: set[str] = set()
        self._take_profits: dict[int, str] = {}
        self._view: DealView | None = None
        self._base = self._quote = ""

    def touch(self, client_order_id: str) -> None:
        """Mark one of the deal's orders as changed (a fill, a new status)."""
        self._stale.add(client_order_id)
        self._view = None

    def _sync(self, deal: DealState, orders: Mapping[str, OrderEntry]) -> FigureTotals:
        cids = deal.orders
        totals = self._totals
        known = self._known
        if totals is None or len(cids) < known or (known and cids[known - 1] != self._views[known - 1].client_order_id):
            self._known = 0
            self._stale.clear()
            self._reset_derived()
            self._base, self._quote = deal.pair.split("/")
            totals = self._totals = FigureTotals(direction=deal.direction, base=self._base, quote=self._quote)
        if self._known == len(cids) and not self._stale:
            return totals
        for position in range(self._known, len(cids)):
            cid = cids[position]
            entry = orders[cid]
            self._index.setdefault(entry.tag.leg, position)
            self._counted[cid] = 0
            self._position[cid] = position
            if self._entry_cid is None and entry.tag.role is OrderRole.ENTRY:
                self._entry_cid = cid
            self._refresh(entry, position, totals)
            self._stale.discard(cid)
        self._known = len(cids)
        for cid in self._stale:
            at = self._position.get(cid)
            if at is not None:
                self._refresh(orders[cid], at, totals)
        self._stale.clear()
        self._view = None
        return totals

    def _refresh(self, entry: OrderEntry, position: int, totals: FigureTotals) -> None:
        order = entry.order
        cid = order.client_order_id
        fills = order.fills
        for fill in fills[self._counted[cid] :]:
            totals.add(order.side, fill)
        self._counted[cid] = len(fills)
        view = order_view(entry, base=self._base, quote=self._quote)
        if position == len(self._views):
            self._views.append(view)
        else:
            self._views[position] = view
        role = entry.tag.role
        if role is OrderRole.SAFETY and order.status is OrderStatus.FILLED:
            self._safety_filled.add(cid)
        elif role is OrderRole.TAKE_PROFIT:
            if order.status in _ACTIVE:
                self._take_profits[position] = cid
            else:
                self._take_profits.pop(position, None)

    # ------------------------------------------------------------------ what the core reads

    def figures(self, deal: DealState, orders: Mapping[str, OrderEntry]) -> DealFigures:
        """The deal's figures from all its fills."""
        return self._sync(deal, orders).figures()

    def deal_view(self, deal: DealState, orders: Mapping[str, OrderEntry]) -> DealView:
        """The deal with its orders in placing order, as the bot sees it (reused while unchanged)."""
        self._sync(deal, orders)
        view = self._view
        if view is None or view.state != deal.state:
            view = self._view = DealView(
                id=deal.id,
                pair=deal.pair,
                direction=deal.direction,
                opened_ms=deal.opened_ms,
                orders=tuple(self._views),
                state=deal.state,
                leg_index=self._index_view,
            )
        return view

    def snapshot_parts(
        self, deal: DealState, orders: Mapping[str, OrderEntry]
    ) -> tuple[DealFigures, OrderView | None, int, OrderEntry | None]:
        """Return the figures, the first entry order (as the bot sees it: its fills summed once), how
        many safety orders filled completely and the newest take-profit order that can still fill."""
        figures = self._sync(deal, orders).figures()
        entry = None if self._entry_cid is None else self._views[self._position[self._entry_cid]]
        resting = orders[self._take_profits[max(self._take_profits)]] if self._take_profits else None
        return figures, entry, len(self._safety_filled), resting
