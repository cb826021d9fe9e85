"""The exchange port: what Bastion needs from any exchange, in Bastion's own types.

Adapters (``bastion.exchanges.ccxt``) implement :class:`ExchangePort` (blocking) and
:class:`AsyncExchangePort` (asyncio) and return only these frozen, Decimal-valued records,
so nothing above the adapter sees a ccxt dict or a float. ``tests/contract`` runs one suite
against every adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from bastion.domain import Candle, Fill, Market, OrderStatus, OrderType, Side

__all__ = [
    "ApiRestrictions",
    "AsyncExchangePort",
    "Balance",
    "Candle",
    "ExchangePort",
    "OrderBook",
    "OrderSnapshot",
    "Ticker",
    "Trade",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticker:
    """Best bid/ask, last price and 24 h volumes of a market."""

    symbol: str
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    base_volume: Decimal | None
    quote_volume: Decimal | None
    timestamp_ms: int | None
    #: The price 24 h ago (the 24 h window's open), when the exchange reports it.
    open_24h: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderBook:
    """Price levels, best first: ``bids`` descending, ``asks`` ascending, as (price, amount)."""

    symbol: str
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]
    timestamp_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """One currency's balance: ``free`` can be spent, ``used`` is locked in open orders."""

    currency: str
    free: Decimal
    used: Decimal

    @property
    def total(self) -> Decimal:
        """Free plus used."""
        return self.free + self.used


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade:
    """One of our own executions as the exchange reports it."""

    trade_id: str
    order_id: str
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    is_maker: bool
    timestamp_ms: int
    #: What the trade cost in the quote currency as the exchange booked it (None: not reported).
    cost: Decimal | None = None

    def to_fill(self) -> Fill:
        """Return this trade as a domain :class:`~bastion.domain.Fill`."""
        from bastion.domain import Money

        return Fill(
            trade_id=self.trade_id,
            price=self.price,
            amount=self.amount,
            fee=Money(self.fee, self.fee_currency),
            is_maker=self.is_maker,
            timestamp_ms=self.timestamp_ms,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSnapshot:
    """An order as the exchange reports it at one moment."""

    exchange_order_id: str
    client_order_id: str | None
    symbol: str
    side: Side
    type: OrderType
    status: OrderStatus
    amount: Decimal
    price: Decimal | None
    filled: Decimal
    cost: Decimal
    timestamp_ms: int | None
    trades: tuple[Trade, ...] = ()

    @property
    def remaining(self) -> Decimal:
        """Amount not filled yet."""
        return self.amount - self.filled

    @property
    def average_price(self) -> Decimal | None:
        """Average fill price, or None before the first fill."""
        return None if self.filled == 0 else self.cost / self.filled


@dataclass(frozen=True, slots=True)
class ApiRestrictions:
    """What an API key may do, as the exchange reports it."""

    can_read: bool
    can_trade_spot: bool
    can_withdraw: bool
    can_internal_transfer: bool
    can_universal_transfer: bool
    ip_restricted: bool
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def dangerous_permissions(self) -> tuple[str, ...]:
        """Names of enabled permissions that can move money off the account."""
        names = []
        if self.can_withdraw:
            names.append("withdrawals")
        if self.can_internal_transfer:
            names.append("internal transfer")
        if self.can_universal_transfer:
            names.append("universal transfer")
        return tuple(names)


class ExchangePort(Protocol):
    """Blocking access to one exchange account (or to public data only, without a key)."""

    exchange_id: str

    def load_markets(self, *, reload: bool = False) -> dict[str, Market]: ...
    def market(self, symbol: str) -> Market: ...
    def fetch_ohlcv(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int | None = None
    ) -> list[Candle]: ...
    def fetch_ticker(self, symbol: str) -> Ticker: ...
    def fetch_order_book(self, symbol: str, *, limit: int | None = None) -> OrderBook: ...
    def fetch_balance(self) -> dict[str, Balance]: ...
    def create_order(
        self,
        symbol: str,
        side: Side,
        type: OrderType | str,
        amount: Decimal | None,
        price: Decimal | None = None,
        *,
        client_order_id: str,
        quote_amount: Decimal | None = None,
        time_in_force: str | None = None,
    ) -> OrderSnapshot: ...
    def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot: ...
    def cancel_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot: ...
    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]: ...
    def fetch_my_trades(
        self, symbol: str, *, since_ms: int | None = None, limit: int | None = None, from_id: str | None = None
    ) -> list[Trade]: ...
    def fetch_order_trades(self, symbol: str, exchange_order_id: str) -> list[Trade]: ...
    def fetch_api_restrictions(self) -> ApiRestrictions: ...
    def close(self) -> None: ...


class AsyncExchangePort(Protocol):
    """The same calls as :class:`ExchangePort`, for asyncio."""

    exchange_id: str

    async def load_markets(self, *, reload: bool = False) -> dict[str, Market]: ...
    def market(self, symbol: str) -> Market: ...
    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int | None = None
    ) -> list[Candle]: ...
    async def fetch_ticker(self, symbol: str) -> Ticker: ...
    async def fetch_order_book(self, symbol: str, *, limit: int | None = None) -> OrderBook: ...
    async def fetch_balance(self) -> dict[str, Balance]: ...
    async def create_order(
        self,
        symbol: str,
        side: Side,
        type: OrderType | str,
        amount: Decimal | None,
        price: Decimal | None = None,
        *,
        client_order_id: str,
        quote_amount: Decimal | None = None,
        time_in_force: str | None = None,
    ) -> OrderSnapshot: ...
    async def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot: ...
    async def cancel_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot: ...
    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]: ...
    async def fetch_my_trades(
        self, symbol: str, *, since_ms: int | None = None, limit: int | None = None, from_id: str | None = None
    ) -> list[Trade]: ...
    async def fetch_order_trades(self, symbol: str, exchange_order_id: str) -> list[Trade]: ...
    async def fetch_api_restrictions(self) -> ApiRestrictions: ...
    async def close(self) -> None: ...
