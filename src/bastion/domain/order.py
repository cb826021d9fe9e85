"""Orders, fills and the order state machine.

An :class:`Order` changes only through :meth:`Order.apply`, which checks the event against a
transition table and refuses a fill whose trade id it has already seen. Replaying the same
events always rebuilds the same order, which is what crash recovery and reconciliation use.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal

from bastion.domain.market import Side
from bastion.domain.money import Money, to_decimal
from bastion.errors import DuplicateFillError, OrderStateError, ValidationError

__all__ = [
    "Fill",
    "Order",
    "OrderAccepted",
    "OrderCancelled",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderRejected",
    "OrderStatus",
    "OrderType",
]


class OrderStatus(enum.StrEnum):
    """Where an order is in its life."""

    INITIALIZED = "initialized"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        """True while the order may still fill."""
        return self in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)

    @property
    def is_closed(self) -> bool:
        """True once nothing can change the order any more."""
        return self in _TERMINAL


class OrderType(enum.StrEnum):
    """Order types Bastion sends."""

    LIMIT = "limit"
    MARKET = "market"


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill:
    """One execution (trade) of an order."""

    trade_id: str
    price: Decimal
    amount: Decimal
    fee: Money
    is_maker: bool
    timestamp_ms: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "price", to_decimal(self.price, what="fill price"))
        object.__setattr__(self, "amount", to_decimal(self.amount, what="fill amount"))
        if not self.trade_id:
            raise ValidationError("a fill needs a trade id")
        if self.price <= 0 or self.amount <= 0:
            raise ValidationError(
                f"fill {self.trade_id}: price and amount must be positive, got {self.price} x {self.amount}"
            )

    @property
    def cost(self) -> Decimal:
        """Quote value of the fill (price x amount), before fees."""
        return self.price * self.amount


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    """The exchange acknowledged the order and gave it an id."""

    exchange_order_id: str
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """Part or all of the order executed."""

    fill: Fill


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    """The order was cancelled; what filled before stays filled."""

    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The exchange (or Bastion's signer) refused the order."""

    reason: str
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class OrderExpired:
    """The exchange expired the order (time in force, or a market order that ran out of book)."""

    timestamp_ms: int


OrderEvent = OrderAccepted | OrderFilled | OrderCancelled | OrderRejected | OrderExpired

_TRANSITIONS: dict[tuple[OrderStatus, type], tuple[OrderStatus, ...]] = {
    (OrderStatus.INITIALIZED, OrderAccepted): (OrderStatus.ACCEPTED,),
    (OrderStatus.INITIALIZED, OrderRejected): (OrderStatus.REJECTED,),
    (OrderStatus.ACCEPTED, OrderFilled): (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED),
    (OrderStatus.ACCEPTED, OrderCancelled): (OrderStatus.CANCELLED,),
    (OrderStatus.ACCEPTED, OrderExpired): (OrderStatus.EXPIRED,),
    (OrderStatus.PARTIALLY_FILLED, OrderFilled): (OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED),
    (OrderStatus.PARTIALLY_FILLED, OrderCancelled): (OrderStatus.CANCELLED,),
    (OrderStatus.PARTIALLY_FILLED, OrderExpired): (OrderStatus.EXPIRED,),
}


@dataclass(slots=True, kw_only=True)
class Order:
    """An order and everything that happened to it. Change it only with :meth:`apply`."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    amount: Decimal
    price: Decimal | None = None
    status: OrderStatus = OrderStatus.INITIALIZED
    exchange_order_id: str | None = None
    reason: str | None = None
    fills: list[Fill] = field(default_factory=list)
    events: list[OrderEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.side not in ("buy", "sell"):
            raise ValidationError(f"order side must be 'buy' or 'sell', got {self.side!r}")
        if type(self.type) is not OrderType:
            self.type = OrderType(self.type)
        self.amount = to_decimal(self.amount, what="order amount")
        if self.amount <= 0:
            raise ValidationError(f"order amount must be positive, got {self.amount}")
        if self.type is OrderType.LIMIT:
            if self.price is None:
                raise ValidationError(f"limit order {self.client_order_id} needs a price")
            self.price = to_decimal(self.price, what="order price")
            if self.price <= 0:
                raise ValidationError(f"order price must be positive, got {self.price}")
        if self.status is not OrderStatus.INITIALIZED or self.fills or self.events:
            raise ValidationError("an Order starts INITIALIZED; rebuild later states by applying events")

    # --- derived values ---------------------------------------------------------------------

    @property
    def filled(self) -> Decimal:
        """Base amount filled so far."""
        return sum((f.amount for f in self.fills), Decimal(0))

    @property
    def remaining(self) -> Decimal:
        """Base amount still to fill."""
        return self.amount - self.filled

    @property
    def cost(self) -> Decimal:
        """Quote value filled so far, before fees."""
        return sum((f.cost for f in self.fills), Decimal(0))

    @property
    def average_price(self) -> Decimal | None:
        """Volume-weighted fill price, or None before the first fill."""
        filled = self.filled
        return None if filled == 0 else self.cost / filled

    def fees(self) -> dict[str, Decimal]:
        """Fees paid so far, by currency."""
        totals: dict[str, Decimal] = {}
        for f in self.fills:
            totals[f.fee.currency] = totals.get(f.fee.currency, Decimal(0)) + f.fee.amount
        return totals

    # --- the state machine ------------------------------------------------------------------

    def apply(self, event: OrderEvent) -> None:
        """Apply one event, or raise OrderStateError and change nothing.

        Raises
        ------
        OrderStateError
            The event is not allowed in the current state, or a fill would exceed the amount.
        DuplicateFillError
            A fill with this trade id was applied before.
        """
        targets = _TRANSITIONS.get((self.status, type(event)))
        if targets is None:
            raise OrderStateError(
                f"order {self.client_order_id}: {type(event).__name__} is not allowed when {self.status.value}"
            )
        if isinstance(event, OrderFilled):
            fill = event.fill
            if any(f.trade_id == fill.trade_id for f in self.fills):
                raise DuplicateFillError(
                    f"order {self.client_order_id}: trade {fill.trade_id} was already applied"
                )
            new_filled = self.filled + fill.amount
            if new_filled > self.amount:
                raise OrderStateError(
                    f"order {self.client_order_id}: fill {fill.trade_id} of {fill.amount} would make "
                    f"{new_filled} filled, more than the order amount {self.amount}"
                )
            self.fills.append(fill)
            self.status = OrderStatus.FILLED if new_filled == self.amount else OrderStatus.PARTIALLY_FILLED
        elif isinstance(event, OrderAccepted):
            self.exchange_order_id = event.exchange_order_id
            self.status = targets[0]
        elif isinstance(event, OrderRejected):
            self.reason = event.reason
            self.status = targets[0]
        else:
            self.status = targets[0]
        self.events.append(event)
