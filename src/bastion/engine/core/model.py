"""The engine core's vocabulary: bot states, order tags, rejection kinds, deal snapshots."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from bastion.bots.interface import DealOutcome, Direction, OrderRole

__all__ = [
    "BotStatus",
    "DealSnapshot",
    "DealStatus",
    "NotifyKind",
    "OrderTag",
    "RejectKind",
    "StopMode",
]


class BotStatus(enum.StrEnum):
    """What the engine does with a bot.

    ``running`` decides and opens deals; ``stopping`` manages its open deals (take profit, stop
    loss) but opens none, and becomes ``stopped`` when the last one ends; ``paused`` (a policy
    denial, a halted account, funds missing) and ``stopped`` do nothing until ``bot start``;
    ``error`` (an exception while viewing, deciding or applying) is retried with backoff.
    """

    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    PAUSED = "paused"
    ERROR = "error"


class DealStatus(enum.StrEnum):
    """Where a deal is in its life (the same values as storage's)."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class StopMode(enum.StrEnum):
    """What stopping a bot does to its open deals."""

    KEEP = "keep"
    CANCEL = "cancel"
    CLOSE = "close"


class RejectKind(enum.StrEnum):
    """Why an order was refused, as the shell classified the signer's answer.

    ``policy_denied`` and ``account_halted`` come from the signer's firewall; the others from
    the exchange. A bot whose order is refused for one of :data:`PAUSING` pauses at once.
    """

    POLICY_DENIED = "policy_denied"
    ACCOUNT_HALTED = "account_halted"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXCHANGE_REFUSED = "exchange_refused"


#: Refusals that repeat whatever the bot does next: its bot pauses instead of trying again.
PAUSING = frozenset({RejectKind.POLICY_DENIED, RejectKind.ACCOUNT_HALTED, RejectKind.INSUFFICIENT_FUNDS})


class NotifyKind(enum.StrEnum):
    """Notification kinds the core emits (the notifier's kinds)."""

    DEAL_OPENED = "deal_opened"
    DEAL_CLOSED = "deal_closed"
    SAFETY_ORDER_FILLED = "safety_order_filled"
    STOP_LOSS = "stop_loss"
    ERROR = "error"
    POLICY_DENIAL = "policy_denial"
    BOT_STATUS = "bot_status"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderTag:
    """Where an order belongs: account, bot, deal, the bot's leg name and the order's role."""

    account: str
    bot_id: int
    deal_id: int
    leg: str
    role: OrderRole | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DealSnapshot:
    """A deal as storage keeps it: identity, status, outcome and the figures from its fills."""

    id: int
    bot_id: int
    pair: str
    direction: Direction
    status: DealStatus
    outcome: DealOutcome | None
    opened_ms: int
    closed_ms: int | None
    base_order_price: Decimal | None
    safety_orders_filled: int
    avg_price: Decimal | None
    take_profit_price: Decimal | None
    close_price: Decimal | None
    amount: Decimal
    cost_quote: Decimal
    profit_quote: Decimal | None
