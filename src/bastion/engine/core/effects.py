"""What comes out of the engine core: typed effects for the shell to carry out.

The live shell stores every ``Store*``/``MarkSignals``/``CommandDone`` effect of one
:meth:`~bastion.engine.core.EngineCore.apply` in one transaction, *then* sends the orders and
cancels (write-ahead: an order is stored before it is sent), then notifies. A backtester keeps
the stored effects in memory and answers the sends with its own matcher.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bastion.domain import Order
from bastion.engine.core.model import BotStatus, DealSnapshot, NotifyKind, OrderTag

__all__ = [
    "CommandDone",
    "Effect",
    "MarkSignals",
    "Notify",
    "RequestCancel",
    "SendOrder",
    "StoreBotConfig",
    "StoreBotState",
    "StoreBotStatus",
    "StoreDeal",
    "StoreDealState",
    "StoreOrder",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreOrder:
    """Store the order (new) or its new events; ``order`` is the core's copy: do not change it."""

    order: Order
    tag: OrderTag


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreDeal:
    """Insert (first time) or update the deal."""

    deal: DealSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreDealState:
    """Merge values into the deal's saved state."""

    deal_id: int
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreBotState:
    """Merge values into the bot's saved state."""

    bot_id: int
    values: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreBotStatus:
    """The bot's new status and why; ``enabled`` is what the user's on/off switch becomes."""

    bot_id: int
    status: BotStatus
    reason: str
    enabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreBotConfig:
    """The bot's new configuration text (an accepted edit)."""

    bot_id: int
    config_toml: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MarkSignals:
    """These signals were handed to the bot: mark them handled."""

    bot_id: int
    signal_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandDone:
    """A manual command's result."""

    command_id: int
    ok: bool
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SendOrder:
    """Send a stored INITIALIZED order."""

    order: Order
    tag: OrderTag


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestCancel:
    """Cancel an accepted order."""

    order: Order
    tag: OrderTag


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify:
    """Tell the user (the shell rate-limits per bot and kind)."""

    bot_id: int | None
    kind: NotifyKind
    title: str
    body: str


Effect = (
    StoreOrder
    | StoreDeal
    | StoreDealState
    | StoreBotState
    | StoreBotStatus
    | StoreBotConfig
    | MarkSignals
    | CommandDone
    | SendOrder
    | RequestCancel
    | Notify
)

#: Effects stored in one transaction before any send.
STORED = (
    StoreOrder,
    StoreDeal,
    StoreDealState,
    StoreBotState,
    StoreBotStatus,
    StoreBotConfig,
    MarkSignals,
    CommandDone,
)
