"""Pure domain types: Decimal money, markets and their rounding, orders and fills, candles. No I/O."""

from bastion.domain.candle import TIMEFRAMES_MS, Candle, timeframe_ms
from bastion.domain.market import Market, Side
from bastion.domain.money import Money, Price, Qty, to_decimal
from bastion.domain.order import (
    Fill,
    Order,
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    OrderType,
)

__all__ = [
    "TIMEFRAMES_MS",
    "Candle",
    "Fill",
    "Market",
    "Money",
    "Order",
    "OrderAccepted",
    "OrderCancelled",
    "OrderEvent",
    "OrderExpired",
    "OrderFilled",
    "OrderRejected",
    "OrderStatus",
    "OrderType",
    "Price",
    "Qty",
    "Side",
    "timeframe_ms",
    "to_decimal",
]
