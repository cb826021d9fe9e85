"""ccxt adapters implementing the exchange port, blocking and asyncio.

Both classes build their requests and parse their answers through the same helpers in
``_Base``; they differ only in whether they ``await`` the ccxt call.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt

from bastion.domain import Candle, Market, OrderType, Side
from bastion.errors import BadSymbol, ExchangeError, MarketRuleError, ValidationError
from bastion.exchanges.ccxt.errors import translate
from bastion.exchanges.ccxt.factory import create_client
from bastion.exchanges.ccxt.parse import (
    parse_api_restrictions,
    parse_balance,
    parse_candle,
    parse_order,
    parse_order_book,
    parse_ticker,
    parse_trade,
)
from bastion.exchanges.credentials import ApiCredentials
from bastion.exchanges.port import ApiRestrictions, Balance, OrderBook, OrderSnapshot, Ticker, Trade
from bastion.exchanges.venues import canonical_id, find_venue

__all__ = ["AsyncCcxtExchange", "CcxtExchange"]

_TIME_IN_FORCE = frozenset({"GTC", "IOC", "FOK"})


class _Base:
    exchange_id: str
    client: Any
    _markets: dict[str, Market]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.exchange_id})"

    def market(self, symbol: str) -> Market:
        """Return the loaded market for ``symbol``; call ``load_markets`` first."""
        try:
            return self._markets[symbol]
        except KeyError:
            if not self._markets:
                raise ExchangeError(f"{self.exchange_id}: markets are not loaded; call load_markets() first") from None
            raise BadSymbol(
                f"{self.exchange_id} does not list {symbol!r}; it lists {len(self._markets)} markets "
                f"such as {', '.join(sorted(self._markets)[:5])}",
                exchange=self.exchange_id,
            ) from None

    def _store_markets(self, raw: dict[str, Any]) -> dict[str, Market]:
        self._markets = {
            symbol: Market.from_ccxt(m) for symbol, m in raw.items() if m.get("spot") and m.get("active") is not False
        }
        return dict(self._markets)

    def _order_args(
        self,
        symbol: str,
        side: Side,
        type: OrderType | str,
        amount: Decimal | None,
        price: Decimal | None,
        client_order_id: str,
        quote_amount: Decimal | None,
        time_in_force: str | None = None,
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Validate an order against the market's rules and return ccxt create_order arguments."""
        order_type = OrderType(type)
        if time_in_force is not None and (order_type is not OrderType.LIMIT or time_in_force not in _TIME_IN_FORCE):
            raise ValidationError(
                f"time_in_force must be one of {', '.join(sorted(_TIME_IN_FORCE))} on a limit order, "
                f"got {time_in_force!r} on a {order_type} order"
            )
        if side not in ("buy", "sell"):
            raise ValidationError(f"side must be 'buy' or 'sell', got {side!r}")
        if not client_order_id:
            raise ValidationError("every order needs a client order id (it makes retries idempotent)")
        market = self.market(symbol)
        venue = find_venue(self.exchange_id)
        sent_id = venue.encode_client_id(client_order_id) if venue is not None else client_order_id
        params: dict[str, Any] = {"clientOrderId": sent_id}
        if time_in_force is not None:
            params["timeInForce"] = time_in_force
        if order_type is OrderType.LIMIT:
            if amount is None or price is None:
                raise ValidationError(f"a limit order needs amount and price, got amount={amount} price={price}")
            market.check_order(price, amount)
            return (symbol, "limit", side, str(amount), str(price)), params
        if quote_amount is not None:
            if amount is not None:
                raise ValidationError("give a market order either amount or quote_amount, not both")
            if quote_amount <= 0:
                raise ValidationError(f"quote_amount must be positive, got {quote_amount}")
            if market.min_notional is not None and quote_amount < market.min_notional:
                raise MarketRuleError(
                    f"{symbol}: order value {quote_amount} {market.quote} is below the minimum notional "
                    f"{market.min_notional} {market.quote}",
                    rule="min_notional",
                    symbol=symbol,
                )
            params["cost"] = str(quote_amount)
            return (symbol, "market", side, None, None), params
        if amount is None:
            raise ValidationError("a market order needs amount (base) or quote_amount")
        market.check_amount(amount)
        return (symbol, "market", side, str(amount), None), params

    def _id_args(self, exchange_order_id: str | None, client_order_id: str | None) -> tuple[str | None, dict[str, Any]]:
        if exchange_order_id is None and client_order_id is None:
            raise ValidationError("give exchange_order_id or client_order_id to find an order")
        if exchange_order_id is not None:
            return exchange_order_id, {}
        assert client_order_id is not None
        venue = find_venue(self.exchange_id)
        if venue is None:  # an exchange without a module: ccxt's unified parameter
            return None, {"clientOrderId": client_order_id}
        try:
            return venue.lookup(client_order_id)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def _parse_order(self, raw: dict[str, Any]) -> OrderSnapshot:
        """Parse a ccxt order, its client order id read back to ours (see ``Venue.client_id_escapes``)."""
        venue = find_venue(self.exchange_id)
        sent = raw.get("clientOrderId")
        if venue is not None and isinstance(sent, str):
            raw = {**raw, "clientOrderId": venue.decode_client_id(sent)}
        return parse_order(raw)

    @staticmethod
    def _trade_params(from_id: str | None, until_ms: int | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if from_id is not None:
            params["fromId"] = from_id
        if until_ms is not None:
            params["until"] = until_ms  # ccxt's unified "until" (KuCoin endAt, ...)
        return params

    def _fetch_params(self) -> dict[str, Any]:
        venue = find_venue(self.exchange_id)
        return dict(venue.fetch_order_params) if venue is not None else {}

    def _restrictions(self, raw: Any) -> ApiRestrictions:
        venue = find_venue(self.exchange_id)
        if venue is not None and venue.parse_permissions is not None:
            return venue.parse_permissions(raw)
        return parse_api_restrictions(raw)

    def _restrictions_method(self) -> Callable[..., Any]:
        venue = find_venue(self.exchange_id)
        name = venue.permission_method if venue is not None else None
        method = getattr(self.client, name, None) if name is not None else None
        if method is None:
            raise ExchangeError(
                f"{self.exchange_id}: reading API key permissions is not supported for this exchange",
                exchange=self.exchange_id,
            )
        return method

    @staticmethod
    def _parse_trades(raw: list[dict[str, Any]]) -> list[Trade]:
        return [parse_trade(t) for t in raw]

    @staticmethod
    def _acknowledged_only(raw: dict[str, Any]) -> bool:
        """Return True when a create/cancel answer carries the order's id but not its state.

        Binance answers with the whole order; KuCoin with ``{"orderId": ...}`` only, so the
        port reads the order back to return the same snapshot on every exchange.
        """
        return raw.get("status") is None and raw.get("id") is not None

    @staticmethod
    def _needs_fills(raw: dict[str, Any]) -> bool:
        return not raw.get("trades") and bool(raw.get("filled"))


class CcxtExchange(_Base):
    """Blocking exchange port over a sync ccxt client.

    Parameters
    ----------
    exchange_id
        ccxt exchange id, or ``"simulator"`` with ``url``.
    credentials
        API key and secret, or None for public data only.
    url
        Simulator base URL.
    client
        An already-built ccxt client to wrap instead (for tests of other exchanges).
    """

    def __init__(
        self,
        exchange_id: str,
        *,
        credentials: ApiCredentials | None = None,
        url: str | None = None,
        client: Any | None = None,
        timeout_ms: int = 10_000,
    ) -> None:
        self.exchange_id = canonical_id(exchange_id)
        self.client = client or create_client(exchange_id, credentials=credentials, url=url, timeout_ms=timeout_ms)
        self._markets = {}

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ccxt.BaseError as exc:
            raise translate(exc, self.client, exchange=self.exchange_id) from None

    def load_markets(self, *, reload: bool = False) -> dict[str, Market]:
        """Load (or reload) the exchange's spot markets."""
        return self._store_markets(self._call(self.client.load_markets, reload))

    def fetch_ohlcv(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        """Return candles, oldest first."""
        return [parse_candle(r) for r in self._call(self.client.fetch_ohlcv, symbol, timeframe, since_ms, limit)]

    def fetch_ticker(self, symbol: str) -> Ticker:
        """Return the market's ticker."""
        return parse_ticker(self._call(self.client.fetch_ticker, symbol))

    def fetch_order_book(self, symbol: str, *, limit: int | None = None) -> OrderBook:
        """Return the order book."""
        return parse_order_book(symbol, self._call(self.client.fetch_order_book, symbol, limit))

    def fetch_balance(self) -> dict[str, Balance]:
        """Return non-zero balances by currency."""
        return parse_balance(self._call(self.client.fetch_balance))

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
    ) -> OrderSnapshot:
        """Check the order against the market's rules, then place it (``time_in_force``: GTC, IOC, FOK)."""
        args, params = self._order_args(symbol, side, type, amount, price, client_order_id, quote_amount, time_in_force)
        return self._complete(symbol, self._call(self.client.create_order, *args, params))

    def _complete(self, symbol: str, raw: dict[str, Any]) -> OrderSnapshot:
        if self._acknowledged_only(raw):
            raw = self._call(self.client.fetch_order, str(raw["id"]), symbol, self._fetch_params())
            if self._needs_fills(raw):
                raw = {**raw, "trades": self._call(self.client.fetch_order_trades, str(raw["id"]), symbol)}
        return self._parse_order(raw)

    def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        """Return one order by exchange id or client order id."""
        oid, params = self._id_args(exchange_order_id, client_order_id)
        return self._parse_order(self._call(self.client.fetch_order, oid, symbol, {**self._fetch_params(), **params}))

    def cancel_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        """Cancel one order; return it as the exchange reports it after the cancel."""
        oid, params = self._id_args(exchange_order_id, client_order_id)
        return self._complete(symbol, self._call(self.client.cancel_order, oid, symbol, params))

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        """Return open orders, of one market or all."""
        return [self._parse_order(o) for o in self._call(self.client.fetch_open_orders, symbol)]

    def fetch_my_trades(
        self,
        symbol: str,
        *,
        since_ms: int | None = None,
        limit: int | None = None,
        from_id: str | None = None,
        until_ms: int | None = None,
    ) -> list[Trade]:
        """Return our own trades in a market (from trade id ``from_id`` on, up to ``until_ms``, when given)."""
        params = self._trade_params(from_id, until_ms)
        return self._parse_trades(self._call(self.client.fetch_my_trades, symbol, since_ms, limit, params))

    def fetch_order_trades(self, symbol: str, exchange_order_id: str) -> list[Trade]:
        """Return the trades of one of our orders, however many trades the account made since."""
        trades = self._parse_trades(self._call(self.client.fetch_order_trades, exchange_order_id, symbol))
        return [t for t in trades if t.order_id == exchange_order_id]

    def fetch_api_restrictions(self) -> ApiRestrictions:
        """Return what the API key may do."""
        return self._restrictions(self._call(self._restrictions_method()))

    def close(self) -> None:
        """Release the client's HTTP session."""
        session = getattr(self.client, "session", None)
        if session is not None:
            session.close()


class AsyncCcxtExchange(_Base):
    """Asyncio exchange port over an async ccxt client; same parameters as :class:`CcxtExchange`."""

    def __init__(
        self,
        exchange_id: str,
        *,
        credentials: ApiCredentials | None = None,
        url: str | None = None,
        client: Any | None = None,
        timeout_ms: int = 10_000,
    ) -> None:
        self.exchange_id = canonical_id(exchange_id)
        self.client = client or create_client(
            exchange_id, asynchronous=True, credentials=credentials, url=url, timeout_ms=timeout_ms
        )
        self._markets = {}

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(*args, **kwargs)
        except ccxt.BaseError as exc:
            raise translate(exc, self.client, exchange=self.exchange_id) from None

    async def load_markets(self, *, reload: bool = False) -> dict[str, Market]:
        """Load (or reload) the exchange's spot markets."""
        return self._store_markets(await self._call(self.client.load_markets, reload))

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str, *, since_ms: int | None = None, limit: int | None = None
    ) -> list[Candle]:
        """Return candles, oldest first."""
        rows = await self._call(self.client.fetch_ohlcv, symbol, timeframe, since_ms, limit)
        return [parse_candle(r) for r in rows]

    async def fetch_ticker(self, symbol: str) -> Ticker:
        """Return the market's ticker."""
        return parse_ticker(await self._call(self.client.fetch_ticker, symbol))

    async def fetch_order_book(self, symbol: str, *, limit: int | None = None) -> OrderBook:
        """Return the order book."""
        return parse_order_book(symbol, await self._call(self.client.fetch_order_book, symbol, limit))

    async def fetch_balance(self) -> dict[str, Balance]:
        """Return non-zero balances by currency."""
        return parse_balance(await self._call(self.client.fetch_balance))

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
    ) -> OrderSnapshot:
        """Check the order against the market's rules, then place it (``time_in_force``: GTC, IOC, FOK)."""
        args, params = self._order_args(symbol, side, type, amount, price, client_order_id, quote_amount, time_in_force)
        return await self._complete(symbol, await self._call(self.client.create_order, *args, params))

    async def _complete(self, symbol: str, raw: dict[str, Any]) -> OrderSnapshot:
        if self._acknowledged_only(raw):
            raw = await self._call(self.client.fetch_order, str(raw["id"]), symbol, self._fetch_params())
            if self._needs_fills(raw):
                trades = await self._call(self.client.fetch_order_trades, str(raw["id"]), symbol)
                raw = {**raw, "trades": trades}
        return self._parse_order(raw)

    async def fetch_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        """Return one order by exchange id or client order id."""
        oid, params = self._id_args(exchange_order_id, client_order_id)
        raw = await self._call(self.client.fetch_order, oid, symbol, {**self._fetch_params(), **params})
        return self._parse_order(raw)

    async def cancel_order(
        self, symbol: str, *, exchange_order_id: str | None = None, client_order_id: str | None = None
    ) -> OrderSnapshot:
        """Cancel one order; return it as the exchange reports it after the cancel."""
        oid, params = self._id_args(exchange_order_id, client_order_id)
        return await self._complete(symbol, await self._call(self.client.cancel_order, oid, symbol, params))

    async def fetch_open_orders(self, symbol: str | None = None) -> list[OrderSnapshot]:
        """Return open orders, of one market or all."""
        return [self._parse_order(o) for o in await self._call(self.client.fetch_open_orders, symbol)]

    async def fetch_my_trades(
        self,
        symbol: str,
        *,
        since_ms: int | None = None,
        limit: int | None = None,
        from_id: str | None = None,
        until_ms: int | None = None,
    ) -> list[Trade]:
        """Return our own trades in a market (from trade id ``from_id`` on, up to ``until_ms``, when given)."""
        params = self._trade_params(from_id, until_ms)
        return self._parse_trades(await self._call(self.client.fetch_my_trades, symbol, since_ms, limit, params))

    async def fetch_order_trades(self, symbol: str, exchange_order_id: str) -> list[Trade]:
        """Return the trades of one of our orders, however many trades the account made since."""
        trades = self._parse_trades(await self._call(self.client.fetch_order_trades, exchange_order_id, symbol))
        return [t for t in trades if t.order_id == exchange_order_id]

    async def fetch_api_restrictions(self) -> ApiRestrictions:
        """Return what the API key may do."""
        return self._restrictions(await self._call(self._restrictions_method()))

    async def close(self) -> None:
        """Close the client's aiohttp session."""
        await self.client.close()
