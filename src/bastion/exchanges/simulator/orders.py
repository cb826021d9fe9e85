"""Order and trade records of the matching core, with Binance's enums.

Statuses: NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, REJECTED (Binance spelling).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "BUY",
    "CANCELED",
    "EXPIRED",
    "FILLED",
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "NEW",
    "OPEN_STATUSES",
    "ORDER_TYPES",
    "PARTIALLY_FILLED",
    "REJECTED",
    "SELL",
    "SIDES",
    "TIME_IN_FORCE",
    "Order",
    "Trade",
]

NEW = "NEW"
PARTIALLY_FILLED = "PARTIALLY_FILLED"
FILLED = "FILLED"
CANCELED = "CANCELED"
EXPIRED = "EXPIRED"
REJECTED = "REJECTED"
OPEN_STATUSES = frozenset({NEW, PARTIALLY_FILLED})

BUY = "BUY"
SELL = "SELL"
SIDES = frozenset({BUY, SELL})

LIMIT = "LIMIT"
MARKET = "MARKET"
LIMIT_MAKER = "LIMIT_MAKER"
ORDER_TYPES = (LIMIT, LIMIT_MAKER, MARKET)
TIME_IN_FORCE = frozenset({"GTC", "IOC", "FOK"})

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill of one order."""

    symbol: str
    trade_id: int
    order_id: int
    account: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal
    commission: Decimal
    commission_asset: str
    time: int
    is_buyer: bool
    is_maker: bool


@dataclass(slots=True, eq=False)
class Order:
    """An order as the exchange keeps it; changed only by the matching engine."""

    symbol: str
    order_id: int
    client_order_id: str
    account: str
    side: str
    type: str
    time_in_force: str
    price: Decimal
    orig_qty: Decimal
    orig_quote_qty: Decimal
    time: int
    key_hint: str = ""
    status: str = NEW
    executed_qty: Decimal = _ZERO
    cumm_quote_exact: Decimal = _ZERO
    cumm_quote_qty: Decimal = _ZERO
    update_time: int = 0
    locked: Decimal = _ZERO
    trades: list[Trade] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Return True while the order can still fill."""
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> Decimal:
        """Return the quantity still to fill."""
        return self.orig_qty - self.executed_qty
