"""Frozen values the repositories hand out for aggregates that have no domain type yet.

Orders and markets come back as their domain types (:class:`bastion.domain.Order`,
:class:`bastion.domain.Market`); candles as :class:`bastion.domain.Candle`; accounts, bots, deals and
log events come back as the records below.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "AccountRecord",
    "AccountState",
    "BotRecord",
    "DealDirection",
    "DealRecord",
    "DealStatus",
    "EventRecord",
    "UpsertCounts",
]


class AccountState(enum.StrEnum):
    """What an account may do: trade, only reduce exposure, or nothing."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRecord:
    """An exchange account Bastion trades on (its keys live in the signer, not here)."""

    id: int
    name: str
    exchange: str
    state: AccountState
    created_at: datetime
    url: str | None = None
    """The exchange's API URL when it is not the exchange's own (the local simulator); never a secret."""
    paper: bool = False
    """A paper account: orders matched in the engine against public market data, never sent."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BotRecord:
    """A bot: its type, account and configuration (TOML text, parsed by the bot's config)."""

    id: int
    name: str
    type: str
    account_id: int
    config_toml: str
    enabled: bool
    created_at: datetime
    status: str = "stopped"
    status_reason: str | None = None


class DealStatus(enum.StrEnum):
    """Where a deal is in its life."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


DealDirection = Literal["long", "short"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DealRecord:
    """One DCA deal of a bot: base order, safety orders, take-profit and close.

    ``id`` is None until the deal is first saved. Change a deal with
    :func:`dataclasses.replace` and save it again.
    """

    id: int | None = None
    bot_id: int
    pair: str
    direction: DealDirection = "long"
    status: DealStatus = DealStatus.OPEN
    base_order_price: Decimal | None = None
    safety_orders_filled: int = 0
    avg_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    close_price: Decimal | None = None
    amount: Decimal = Decimal(0)
    cost_quote: Decimal = Decimal(0)
    profit_quote: Decimal | None = None
    opened_at: datetime
    closed_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EventRecord:
    """One entry of the append-only event log."""

    id: int
    ts: datetime
    kind: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    """What a bulk upsert did: rows inserted, rows whose values changed, rows already equal."""

    new: int
    updated: int
    unchanged: int
