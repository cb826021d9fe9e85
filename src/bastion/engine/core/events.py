"""What goes into the engine core: typed events, each applied with :meth:`EngineCore.apply`.

Sources: the shell's clock and market data (:class:`TimeAdvanced`, :class:`PriceUpdated`),
storage at start (:class:`BotLoaded`, :class:`DealLoaded`), a bot's decision
(:class:`BotDecided`) or its failure (:class:`BotFailed`), what the exchange said about an
order (:class:`Accepted`, :class:`Filled`, :class:`Cancelled`, :class:`Expired`,
:class:`Rejected`), pending webhook signals (:class:`SignalsArrived`) and the user's manual
commands (:class:`CloseDealCommand` ...). A backtester or paper trader sends the same events
with a simulated clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bastion.bots.interface import Bot, BotView, Decision, Direction
from bastion.domain import Fill, Market, Order
from bastion.engine.core.model import BotStatus, DealStatus, OrderTag, RejectKind, StopMode

__all__ = [
    "Accepted",
    "AddFundsCommand",
    "BotDecided",
    "BotFailed",
    "BotLoaded",
    "CancelDealCommand",
    "Cancelled",
    "CloseDealCommand",
    "Command",
    "DealLoaded",
    "EditBotCommand",
    "Event",
    "Expired",
    "Filled",
    "PriceUpdated",
    "Rejected",
    "SignalsArrived",
    "StartBotCommand",
    "StopBotCommand",
    "TimeAdvanced",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeAdvanced:
    """The clock now (epoch ms; simulated in a backtest)."""

    now_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceUpdated:
    """The latest price of ``symbol`` on ``exchange``."""

    exchange: str
    symbol: str
    last: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BotLoaded:
    """A bot to run (or its new config); ``status`` and the rest as storage has them."""

    bot_id: int
    name: str
    kind: str
    account: str
    exchange: str
    bot: Bot
    config: Any
    config_toml: str
    markets: Mapping[str, Market]
    pairs: tuple[str, ...]
    takes_signals: bool = False
    status: BotStatus = BotStatus.RUNNING
    reason: str = ""
    state: Mapping[str, str] = field(default_factory=dict)
    closed_deals: int = 0
    last_closed_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DealLoaded:
    """An open deal and its orders, from storage at start."""

    deal_id: int
    bot_id: int
    pair: str
    direction: Direction
    opened_ms: int
    state: Mapping[str, str]
    orders: tuple[tuple[Order, OrderTag], ...]
    status: DealStatus = DealStatus.OPEN


@dataclass(frozen=True, slots=True, kw_only=True)
class BotDecided:
    """A bot's decision on ``view`` (the view the core built for it)."""

    bot_id: int
    view: BotView
    decision: Decision


@dataclass(frozen=True, slots=True, kw_only=True)
class BotFailed:
    """Viewing, deciding or applying for the bot raised; ``error`` says what (one line)."""

    bot_id: int
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalsArrived:
    """The bot has webhook signals waiting."""

    bot_id: int


# --------------------------------------------------------------------------- orders


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """The exchange has the order under ``exchange_order_id``."""

    client_order_id: str
    exchange_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Filled:
    """One execution of the order (a trade id is applied once)."""

    client_order_id: str
    fill: Fill


@dataclass(frozen=True, slots=True, kw_only=True)
class Cancelled:
    """The order was cancelled (what filled before stays)."""

    client_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Expired:
    """The order expired (an IOC market order that found too little: what filled stays)."""

    client_order_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejected:
    """The signer or the exchange refused the order; ``kind`` classifies why."""

    client_order_id: str
    kind: RejectKind
    reason: str


# --------------------------------------------------------------------------- manual commands


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseDealCommand:
    """Close a deal now: cancel its orders, then sell what it holds (at ``limit_price`` or market)."""

    command_id: int | None
    deal_id: int
    limit_price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelDealCommand:
    """Cancel a deal: cancel its orders and keep the assets."""

    command_id: int | None
    deal_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class AddFundsCommand:
    """Add ``amount`` (base) to a DCA deal, at ``price`` (limit) or at market."""

    command_id: int | None
    deal_id: int
    amount: Decimal
    price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StopBotCommand:
    """Stop a bot; ``deals`` says what happens to its open deals."""

    command_id: int | None
    bot_id: int
    deals: StopMode = StopMode.KEEP


@dataclass(frozen=True, slots=True, kw_only=True)
class StartBotCommand:
    """Run a stopped, paused or failed bot again."""

    command_id: int | None
    bot_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EditBotCommand:
    """Replace a bot's config; refused (naming the fields) if unsafe fields change while deals are open."""

    command_id: int | None
    bot_id: int
    bot: Bot
    config: Any
    config_toml: str


Command = CloseDealCommand | CancelDealCommand | AddFundsCommand | StopBotCommand | StartBotCommand | EditBotCommand

Event = (
    TimeAdvanced
    | PriceUpdated
    | BotLoaded
    | DealLoaded
    | BotDecided
    | BotFailed
    | SignalsArrived
    | Accepted
    | Filled
    | Cancelled
    | Expired
    | Rejected
    | Command
)
