"""The core's mutable state: bots, deals and orders, changed only by :meth:`EngineCore.apply`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bastion.bots.interface import Bot, DealOutcome, Decision, Direction
from bastion.domain import Market, Order, OrderStatus
from bastion.engine.core.accounting import DealFigures
from bastion.engine.core.deal_cache import DealCache
from bastion.engine.core.model import BotStatus, DealSnapshot, DealStatus, OrderTag

__all__ = ["BotSlot", "Control", "DealState", "OrderEntry"]

_ACTIVE = (OrderStatus.INITIALIZED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


class Control(enum.StrEnum):
    """A deal taken over by a manual command: the bot no longer sees it."""

    CLOSE = "close"
    CANCEL = "cancel"


@dataclass(slots=True)
class OrderEntry:
    """An order with where it belongs."""

    order: Order
    tag: OrderTag

    @property
    def active(self) -> bool:
        """Whether it can still fill (or has not been answered yet)."""
        return self.order.status in _ACTIVE


@dataclass(slots=True)
class DealState:
    """One deal: identity, status, its orders (client ids, placing order) and manual control."""

    id: int
    bot_id: int
    pair: str
    direction: Direction
    opened_ms: int
    status: DealStatus = DealStatus.OPEN
    outcome: DealOutcome | None = None
    state: dict[str, str] = field(default_factory=dict)
    orders: list[str] = field(default_factory=list)
    control: Control | None = None
    limit_price: Decimal | None = None
    command_id: int | None = None
    attempts: int = 0
    closed_ms: int | None = None
    close_price: Decimal | None = None
    profit_quote: Decimal | None = None
    take_profit_price: Decimal | None = None
    take_profits: list[str] = field(default_factory=list, repr=False, compare=False)
    """Client ids of the deal's take-profit orders, in placing order (see :meth:`note_take_profit`)."""
    cache: DealCache = field(default_factory=DealCache, repr=False, compare=False)
    """Figures and views derived from the orders; the core calls :meth:`touch` when one changes."""

    @property
    def open(self) -> bool:
        """Whether the deal is still open."""
        return self.status is DealStatus.OPEN

    def touch(self, client_order_id: str) -> None:
        """Note that one of the deal's orders changed (its figures and views follow)."""
        self.cache.touch(client_order_id)

    def figures(self, orders: dict[str, OrderEntry]) -> DealFigures:
        """Add up the fills of the deal's orders."""
        return self.cache.figures(self, orders)

    def note_take_profit(self, orders: dict[str, OrderEntry]) -> None:
        """Keep :attr:`take_profit_price` as :meth:`snapshot` would, without building one.

        The newest take-profit order that can still fill names it (an older one is being replaced);
        with none resting it keeps the last one seen. A core that stores nothing (a backtest) calls
        this where the live core takes a snapshot, so both report the same take-profit price.
        """
        for cid in reversed(self.take_profits):
            entry = orders.get(cid)
            if entry is not None and entry.order.status in _ACTIVE:
                self.take_profit_price = entry.order.price
                return

    def snapshot(self, orders: dict[str, OrderEntry]) -> DealSnapshot:
        """The deal as storage keeps it, figures from the fills."""
        figures, entry, safety, resting = self.cache.snapshot_parts(self, orders)
        if resting is not None:  # the newest: an older one is being replaced
            self.take_profit_price = resting.order.price
        return DealSnapshot(
            id=self.id,
            bot_id=self.bot_id,
            pair=self.pair,
            direction=self.direction,
            status=self.status,
            outcome=self.outcome,
            opened_ms=self.opened_ms,
            closed_ms=self.closed_ms,
            base_order_price=None if entry is None else entry.average_price,
            safety_orders_filled=safety,
            avg_price=figures.average_entry,
            take_profit_price=self.take_profit_price,
            close_price=self.close_price,
            amount=figures.base_held,
            cost_quote=figures.quote_spent,
            profit_quote=self.profit_quote,
        )


@dataclass(slots=True)
class BotSlot:
    """A bot the core runs, with what it needs to decide when and what to show it."""

    id: int
    name: str
    kind: str
    account: str
    exchange: str
    bot: Bot
    config: Any
    config_toml: str
    markets: dict[str, Market]
    pairs: tuple[str, ...]
    takes_signals: bool
    status: BotStatus
    reason: str = ""
    state: dict[str, str] = field(default_factory=dict)
    closed_deals: int = 0
    last_closed_ms: int | None = None
    last: Decision | None = None
    dirty: bool = True
    signals_pending: bool = False
    marks: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    failures: int = 0
    retry_at_ms: int | None = None
    rejections: list[int] = field(default_factory=list)
