"""The bot interface: ``decide(view) -> Decision``, pure, over a read-only view.

A bot never acts. It reads a frozen :class:`BotView` (its config, its open deals with their
orders as the engine knows them, the markets' rules, the latest prices, its own small saved
state and a clock value) and returns a frozen :class:`Decision`: actions for the engine (open a
deal, place or cancel an order, close a deal, save state) plus the **price levels and the time
at which its decision can next change**. The engine (live, paper or backtest) calls ``decide``
again only when one of those levels is crossed, that time comes, or one of the bot's orders
changes (a fill, a cancel, a rejection). The same bot code runs everywhere; nothing in a bot
reads a clock, a database or the network.

Identity and idempotency
------------------------
Every order a bot places has a *leg* name that is unique within its deal and deterministic
(``"base"``, ``"so3"``, ``"tp.2"`` for the take-profit placed after the second safety order,
``"L4.b.7"`` for a grid level's 7th buy). The engine builds the client order id from (bot,
deal, leg, attempt), so deciding twice on the same view yields the same ids, and a retry after
a lost response finds the existing order instead of placing a second one.

Amounts and prices are Decimals already rounded with the market's tick and lot
(:meth:`bastion.domain.Market.round_price`, :meth:`~bastion.domain.Market.floor_amount`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Literal, Protocol

from bastion.domain import Candle, Market, OrderStatus, OrderType
from bastion.domain.market import Side

__all__ = [
    "ACTIVE_STATUSES",
    "Action",
    "Bot",
    "BotView",
    "CancelOrder",
    "CloseDeal",
    "DealOutcome",
    "DealView",
    "Decision",
    "Direction",
    "DisableBot",
    "OpenDeal",
    "OrderRole",
    "OrderView",
    "PlaceOrder",
    "PriceView",
    "SaveState",
    "Signal",
    "Watch",
]

Direction = Literal["long", "short"]

#: Order statuses in which an order can still fill.
ACTIVE_STATUSES = frozenset({OrderStatus.INITIALIZED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})


class OrderRole(enum.StrEnum):
    """What an order does for its deal; the engine reads this, never the leg name.

    ``ENTRY`` opens the position (a DCA base order, a grid's start buy, a SmartTrade or signal
    entry); ``SAFETY`` averages it (DCA safety order); ``ADD_FUNDS`` is a manual addition to the
    position; ``TAKE_PROFIT``, ``TRAILING``, ``STOP_LOSS`` and ``EXIT`` reduce it (``EXIT``: a
    signal's exit, a grid's stop sale, a manual close); ``GRID`` is a grid level order (buys and
    sells that do not open or close the deal).
    """

    ENTRY = "entry"
    SAFETY = "safety"
    ADD_FUNDS = "add_funds"
    TAKE_PROFIT = "take_profit"
    TRAILING = "trailing"
    STOP_LOSS = "stop_loss"
    EXIT = "exit"
    GRID = "grid"


class DealOutcome(enum.StrEnum):
    """Why a deal ended, as data (notifications, statistics and the UI read it)."""

    TAKE_PROFIT = "take_profit"
    TRAILING_TAKE_PROFIT = "trailing_take_profit"
    STOP_LOSS = "stop_loss"
    EXIT_SIGNAL = "exit_signal"
    ENTRY_UNFILLED = "entry_unfilled"
    NOTHING_TO_SELL = "nothing_to_sell"
    GRID_STOPPED = "grid_stopped"
    MANUAL_CLOSE = "manual_close"
    MANUAL_CANCEL = "manual_cancel"


def _frozen(mapping: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping or {}))


# --------------------------------------------------------------------------- the view


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceView:
    """A market's price now and its extremes since the bot last decided.

    Parameters
    ----------
    symbol
        Spot symbol such as ``"BTC/USDT"``.
    last
        The latest price (last trade, or the close of the latest candle in a backtest).
    high, low
        Highest and lowest price since the previous decision (for trailing and for levels
        crossed between two wakes); equal to ``last`` on the first decision.
    bid, ask
        Best bid and ask when known.
    time_ms
        When ``last`` was true.
    """

    symbol: str
    last: Decimal
    high: Decimal
    low: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    time_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderView:
    """One of the bot's orders as the engine knows it.

    Parameters
    ----------
    leg
        The bot's name for the order within its deal.
    client_order_id
        The id sent to the exchange.
    side, type, price, amount
        What was asked for (``price`` None for market orders).
    filled
        Base amount filled so far.
    cost
        Quote value of the fills (sum of price x amount), before fees.
    fee_quote, fee_base
        Fees paid so far in the quote and in the base currency.
    status
        Its state (see :class:`~bastion.domain.OrderStatus`).
    updated_ms
        When it last changed.
    role
        What it does for the deal (None when the engine does not know, e.g. in a bare test view).
    """

    leg: str
    client_order_id: str
    side: Side
    type: OrderType
    price: Decimal | None
    amount: Decimal
    filled: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)
    fee_quote: Decimal = Decimal(0)
    fee_base: Decimal = Decimal(0)
    status: OrderStatus = OrderStatus.INITIALIZED
    updated_ms: int = 0
    role: OrderRole | None = None

    @property
    def active(self) -> bool:
        """Whether it can still fill."""
        return self.status in ACTIVE_STATUSES

    @property
    def average_price(self) -> Decimal | None:
        """Average fill price, or None before a fill."""
        return None if self.filled == 0 else self.cost / self.filled


@dataclass(frozen=True, slots=True, kw_only=True)
class DealView:
    """An open deal of the bot with its orders.

    Parameters
    ----------
    id
        The deal's id (stable; part of its orders' client ids).
    pair
        Its symbol.
    direction
        ``long`` (buy first, sell to close) or ``short`` (spot: sell first, buy back lower).
    opened_ms
        When it was opened.
    orders
        Every order placed for it, in placing order.
    state
        Small values the bot saved for this deal with :class:`SaveState` (strings).
    leg_index
        Optional: the position in ``orders`` of each leg (the engine passes the one it keeps, so
        :meth:`order` costs O(1) on a deal with thousands of orders); built on first use when None.
    """

    id: int
    pair: str
    direction: Direction
    opened_ms: int
    orders: tuple[OrderView, ...] = ()
    state: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    leg_index: Mapping[str, int] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", _frozen(self.state))

    def order(self, leg: str) -> OrderView | None:
        """Return the order with this leg name, or None."""
        index = self.leg_index
        if index is None:
            built: dict[str, int] = {}
            for at, order in enumerate(self.orders):
                built.setdefault(order.leg, at)
            object.__setattr__(self, "leg_index", built)
            index = built
        position = index.get(leg)
        if position is None or position >= len(self.orders):
            return None
        found = self.orders[position]
        if found.leg != leg:  # an index that does not describe these orders
            return next((o for o in self.orders if o.leg == leg), None)
        return found

    def active_orders(self) -> tuple[OrderView, ...]:
        """Orders that can still fill."""
        return tuple(o for o in self.orders if o.active)


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """A trading signal delivered to a signal bot (already authenticated by the web layer).

    Parameters
    ----------
    id
        Unique id of the signal (its replay protection key).
    action
        ``enter_long``, ``exit_long``, ``enter_short`` or ``exit_short``.
    pair
        The symbol it is for.
    amount
        Order size, in ``currency_type`` units; None means the bot's configured size (for an
        exit: the whole position).
    currency_type
        ``base`` or ``quote``; ``percent`` for an exit of ``amount`` percent of the position.
    trigger_price
        The price the sender saw; informational.
    received_ms
        When it arrived (for a delayed signal, as the engine hands it over: when it became due).
    due_ms
        A delayed signal (3Commas ``delay_seconds``): the engine hands it to the bot only from
        this time on; None: at once.
    """

    id: str
    action: Literal["enter_long", "exit_long", "enter_short", "exit_short"]
    pair: str
    amount: Decimal | None = None
    currency_type: Literal["base", "quote", "percent"] = "quote"
    trigger_price: Decimal | None = None
    received_ms: int
    due_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BotView:
    """Everything a bot may read when it decides. Read-only.

    Parameters
    ----------
    bot
        The bot's name.
    now_ms
        The engine's clock (simulated in a backtest).
    markets
        Rules (tick, lot, minimums) of every market the bot trades.
    prices
        Latest price per symbol the bot watches.
    deals
        Its open deals.
    closed_deals
        How many deals it has closed so far.
    last_closed_ms
        When it last closed a deal (for cooldowns), or None.
    balances
        Free balance per currency of the bot's account.
    state
        Bot-level values it saved with :class:`SaveState` (``deal=None``).
    candles
        Latest *completed* candles per symbol, oldest first (:class:`~bastion.domain.Candle`), at
        the timeframe the bot's config asks for; empty when it asks none.
    signals
        Signals not yet handled (signal bots).
    """

    bot: str
    now_ms: int
    markets: Mapping[str, Market]
    prices: Mapping[str, PriceView]
    deals: tuple[DealView, ...] = ()
    closed_deals: int = 0
    last_closed_ms: int | None = None
    balances: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    state: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    candles: Mapping[str, tuple[Candle, ...]] = field(default_factory=lambda: MappingProxyType({}))
    signals: tuple[Signal, ...] = ()

    def __post_init__(self) -> None:
        for name in ("markets", "prices", "balances", "state", "candles"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def deal(self, deal_id: int) -> DealView | None:
        """Return the open deal with this id, or None."""
        for deal in self.deals:
            if deal.id == deal_id:
                return deal
        return None


# --------------------------------------------------------------------------- the decision


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenDeal:
    """Open a new deal; orders in the same decision refer to it by ``ref``."""

    ref: str
    pair: str
    direction: Direction = "long"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrder:
    """Place one order for a deal.

    Parameters
    ----------
    deal
        The deal's id, or the ``ref`` of an :class:`OpenDeal` in the same decision.
    leg
        The order's name, unique within the deal (see the module docstring).
    role
        What the order does for the deal (the engine reads this, never ``leg``).
    symbol, side, type
        What to trade.
    amount
        Base amount, floored to the lot step (None only for a market order sized in quote).
    price
        Limit price rounded to the tick; None for market orders.
    quote_amount
        For a market order sized in the quote currency.
    """

    deal: int | str
    leg: str
    role: OrderRole
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal | None
    price: Decimal | None = None
    quote_amount: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    """Cancel one of the bot's orders (by leg within a deal)."""

    deal: int
    leg: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CloseDeal:
    """Mark a deal closed (after its closing order filled); the engine computes its profit from fills.

    ``outcome`` says why, as data; ``reason`` is the same for a human.
    """

    deal: int
    outcome: DealOutcome
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DisableBot:
    """Open no new deal: the bot stops once its open deals are done (e.g. ``stop_and_disable``)."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveState:
    """Save small string values for a deal (``deal`` id or ref) or for the bot (``deal=None``)."""

    deal: int | str | None
    values: Mapping[str, str]

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _frozen(self.values))


Action = OpenDeal | PlaceOrder | CancelOrder | CloseDeal | SaveState | DisableBot


@dataclass(frozen=True, slots=True, kw_only=True)
class Watch:
    """Wake the bot when ``symbol`` trades at or above ``above``, or at or below ``below``."""

    symbol: str
    above: Decimal | None = None
    below: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """What a bot decided: actions now, and when its decision can next change.

    Parameters
    ----------
    actions
        In order: the engine applies them in this order.
    watch
        Price levels that can change the decision.
    wake_at_ms
        A time that can change it (cooldown end, stop-loss timeout, next candle close).
    notes
        Short human-readable reasons, for the log and the UI.
    """

    actions: tuple[Action, ...] = ()
    watch: tuple[Watch, ...] = ()
    wake_at_ms: int | None = None
    notes: tuple[str, ...] = ()


class Bot(Protocol):
    """What every bot type provides."""

    @property
    def name(self) -> str:
        """The bot's unique name."""
        ...

    def decide(self, view: BotView) -> Decision:
        """Return the bot's decision for this view. Pure: same view, same decision."""
        ...
