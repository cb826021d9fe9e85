"""Binance spot REST endpoints over a :class:`Venue`: public market data and signed trading.

Handlers are synchronous and cheap; the HTTP server (:mod:`server`) does the I/O. Each handler
takes a :class:`Call` and returns a JSON-able object or raises :class:`ApiError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bastion.exchanges.simulator import apierrors as E
from bastion.exchanges.simulator.apierrors import ApiError, invalid_symbol, mandatory, one_of_mandatory
from bastion.exchanges.simulator.auth import KeyRing
from bastion.exchanges.simulator.format import dumps
from bastion.exchanges.simulator.keys import KeyEntry
from bastion.exchanges.simulator.market_data import KLINE_DEFAULT_LIMIT, KLINE_MAX_LIMIT, MarketData
from bastion.exchanges.simulator.matching import Clock, FeeSchedule, generated_client_id
from bastion.exchanges.simulator.orders import LIMIT, LIMIT_MAKER, ORDER_TYPES, SIDES, TIME_IN_FORCE
from bastion.exchanges.simulator.params import Params, parse_params
from bastion.exchanges.simulator.render import (
    account_json,
    cancel_json,
    exchange_info_fragment,
    order_json,
    placed_json,
    restrictions_json,
    trade_json,
)
from bastion.exchanges.simulator.venue import Venue

__all__ = ["PERMISSION_READ", "PERMISSION_TRADE", "BinanceApi", "Call", "Route"]

PERMISSION_READ = "enableReading"
PERMISSION_TRADE = "enableSpotAndMarginTrading"
_SIGNED_NO_PERMISSION = ""
_RESP_TYPES = ("ACK", "RESULT", "FULL")
_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
    {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
]


@dataclass(slots=True)
class Call:
    """One request as the handlers see it."""

    params: Params
    key: KeyEntry | None = None
    fill_fraction: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """A handler and what it needs: None for public, else the key permission ('' = any key)."""

    handler: Callable[[Call], Any]
    permission: str | None = None


class BinanceApi:
    """The Binance endpoints of one venue.

    Parameters
    ----------
    venue
        Symbols, accounts and orders.
    keyring
        The API keys.
    clock
        Wall-clock epoch milliseconds (the server's time).
    fees
        The fee rates the account endpoint reports.
    """

    def __init__(self, venue: Venue, keyring: KeyRing, *, clock: Clock, fees: FeeSchedule) -> None:
        self.venue = venue
        self.keyring = keyring
        self.clock = clock
        self.fees = fees
        self.started_ms = clock()
        self.market_data = {symbol: MarketData(engine) for symbol, engine in venue.engines.items()}
        self._info_fragments = {s: exchange_info_fragment(e.rules) for s, e in venue.engines.items()}
        self._info_head = dumps({"timezone": "UTC"})[:-1] + b',"serverTime":'
        self._info_middle = b',"rateLimits":' + dumps(_RATE_LIMITS) + b',"exchangeFilters":[],"symbols":['
        self._info_all = b",".join(self._info_fragments.values())
        read, trade, any_key = PERMISSION_READ, PERMISSION_TRADE, _SIGNED_NO_PERMISSION
        self.routes: dict[tuple[str, str], Route] = {
            ("GET", "/api/v3/ping"): Route(lambda c: {}),
            ("GET", "/api/v3/time"): Route(lambda c: {"serverTime": self.clock()}),
            ("GET", "/api/v3/exchangeInfo"): Route(self.exchange_info),
            ("GET", "/api/v3/klines"): Route(self.klines),
            ("GET", "/api/v3/uiKlines"): Route(self.klines),
            ("GET", "/api/v3/ticker/24hr"): Route(self.ticker_24h),
            ("GET", "/api/v3/ticker/bookTicker"): Route(self.book_ticker),
            ("GET", "/api/v3/ticker/price"): Route(self.ticker_price),
            ("GET", "/api/v3/avgPrice"): Route(self.avg_price),
            ("GET", "/api/v3/depth"): Route(self.depth),
            ("GET", "/sapi/v1/system/status"): Route(lambda c: {"status": 0, "msg": "normal"}),
            ("GET", "/api/v3/account"): Route(self.account, read),
            ("POST", "/api/v3/order"): Route(self.new_order, trade),
            ("POST", "/api/v3/order/test"): Route(self.test_order, trade),
            ("GET", "/api/v3/order"): Route(self.get_order, read),
            ("DELETE", "/api/v3/order"): Route(self.cancel_order, trade),
            ("GET", "/api/v3/openOrders"): Route(self.open_orders, read),
            ("DELETE", "/api/v3/openOrders"): Route(self.cancel_open_orders, trade),
            ("GET", "/api/v3/allOrders"): Route(self.all_orders, read),
            ("GET", "/api/v3/myTrades"): Route(self.my_trades, read),
            ("GET", "/sapi/v1/account/apiRestrictions"): Route(self.api_restrictions, any_key),
        }

    # --- dispatch -------------------------------------------------------------------------

    def handle(
        self,
        route: Route,
        raw_query: bytes,
        raw_body: bytes,
        api_key: str | None,
        fill_fraction: Decimal | None = None,
    ) -> bytes:
        """Authenticate (signed routes), run the handler and return the JSON answer.

        Raises
        ------
        ApiError
            Whatever Binance would answer instead.
        """
        params = parse_params(raw_query, raw_body)
        call = Call(params, fill_fraction=fill_fraction)
        if route.permission is not None:
            call.key = self.keyring.verify(api_key, raw_query, raw_body, params, self.clock(), route.permission or None)
        result = route.handler(call)
        return result if isinstance(result, bytes) else dumps(result)

    # --- helpers --------------------------------------------------------------------------

    def _data(self, symbol: str) -> MarketData:
        data = self.market_data.get(symbol)
        if data is None:
            raise invalid_symbol()
        return data

    def _symbols(self, params: Params) -> list[str] | None:
        symbol = params.text("symbol")
        if symbol is not None:
            self._data(symbol)
            return [symbol]
        raw = params.text("symbols")
        if raw is None:
            return None
        try:
            symbols = json.loads(raw)
        except ValueError:
            symbols = None
        if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
            raise E.bad_param("symbols", '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$')
        for s in symbols:
            self._data(s)
        return symbols

    def _per_symbol(self, params: Params, view: Callable[[MarketData], dict[str, Any]]) -> Any:
        symbols = self._symbols(params)
        if params.text("symbol") is not None:
            return view(self._data(params["symbol"]))
        names = symbols if symbols is not None else list(self.market_data)
        return [view(self.market_data[s]) for s in names]

    # --- public ---------------------------------------------------------------------------

    def exchange_info(self, call: Call) -> Any:
        """GET /api/v3/exchangeInfo (built from precomputed JSON fragments)."""
        symbols = self._symbols(call.params)
        body = self._info_all if symbols is None else b",".join(self._info_fragments[s] for s in symbols)
        return self._info_head + str(self.clock()).encode() + self._info_middle + body + b"]}"

    def klines(self, call: Call) -> Any:
        """GET /api/v3/klines."""
        p = call.params
        data = self._data(p.required("symbol"))
        return data.klines(
            p.required("interval"),
            start_time=p.integer("startTime"),
            end_time=p.integer("endTime"),
            limit=p.limit(KLINE_DEFAULT_LIMIT, KLINE_MAX_LIMIT),
        )

    def ticker_24h(self, call: Call) -> Any:
        """GET /api/v3/ticker/24hr (one symbol, a list, or all)."""
        return self._per_symbol(call.params, MarketData.ticker_24h)

    def book_ticker(self, call: Call) -> Any:
        """GET /api/v3/ticker/bookTicker."""
        return self._per_symbol(call.params, MarketData.book_ticker)

    def ticker_price(self, call: Call) -> Any:
        """GET /api/v3/ticker/price."""
        return self._per_symbol(call.params, MarketData.price)

    def avg_price(self, call: Call) -> Any:
        """GET /api/v3/avgPrice."""
        return self._data(call.params.required("symbol")).avg_price()

    def depth(self, call: Call) -> Any:
        """GET /api/v3/depth."""
        p = call.params
        return self._data(p.required("symbol")).depth(p.limit(100, 5000))

    # --- signed ---------------------------------------------------------------------------

    def account(self, call: Call) -> Any:
        """GET /api/v3/account."""
        key = _key(call)
        omit = (call.params.text("omitZeroBalances") or "").lower() == "true"
        balances = self.venue.ledger.balances(key.account)
        return account_json(key.account, balances, key, self.fees, self.clock(), omit_zero=omit)

    def api_restrictions(self, call: Call) -> Any:
        """GET /sapi/v1/account/apiRestrictions."""
        return restrictions_json(_key(call), self.started_ms)

    def _order_request(self, call: Call) -> dict[str, Any]:
        p = call.params
        symbol = p.required("symbol")
        side = p.required("side").upper()
        order_type = p.required("type").upper()
        if side not in SIDES:
            raise ApiError(E.INVALID_SIDE, "Invalid side.")
        if order_type not in ORDER_TYPES:
            raise ApiError(E.INVALID_ORDER_TYPE, "Invalid orderType.")
        quantity = p.decimal("quantity")
        price = p.decimal("price")
        quote_qty = p.decimal("quoteOrderQty")
        tif = p.text("timeInForce")
        if order_type == LIMIT:
            if tif is None:
                raise mandatory("timeInForce")
            if tif not in TIME_IN_FORCE:
                raise ApiError(-1115, "Invalid timeInForce.")
        elif tif is not None:  # MARKET and LIMIT_MAKER take no time in force
            raise ApiError(-1106, "Parameter 'timeInForce' sent when not required.")
        if order_type in (LIMIT, LIMIT_MAKER):
            if price is None:
                raise mandatory("price")
            if quantity is None:
                raise mandatory("quantity")
            if quote_qty is not None:
                raise ApiError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
        else:
            if quantity is None and quote_qty is None:
                raise one_of_mandatory("quantity", "quoteOrderQty")
            if quantity is not None and quote_qty is not None:
                raise ApiError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
            if price is not None:
                raise ApiError(-1106, "Parameter 'price' sent when not required.")
        resp_type = (p.text("newOrderRespType") or "FULL").upper()
        if resp_type not in _RESP_TYPES:
            raise E.bad_param("newOrderRespType", "^(ACK|RESULT|FULL)$")
        return {
            "symbol": symbol,
            "resp_type": resp_type,
            "order": {
                "side": side,
                "order_type": order_type,
                "quantity": quantity,
                "price": price,
                "quote_order_qty": quote_qty,
                "time_in_force": tif,
                "client_order_id": p.client_order_id("newClientOrderId"),
            },
        }

    def new_order(self, call: Call) -> Any:
        """POST /api/v3/order."""
        key = _key(call)
        request = self._order_request(call)
        order = self.venue.place(
            key.account,
            request["symbol"],
            fill_fraction=call.fill_fraction,
            key_hint=key.hint,
            **request["order"],
        )
        return placed_json(order, self._data(request["symbol"]).decimals, request["resp_type"])

    def test_order(self, call: Call) -> Any:
        """POST /api/v3/order/test: validate only (parameters and filters), place nothing."""
        request = self._order_request(call)
        rules = self.venue.engine(request["symbol"]).rules
        order = request["order"]
        if order["price"] is not None:
            rules.check_price(order["price"])
        if order["quantity"] is not None:
            rules.check_qty(order["quantity"])
        return {}

    def _locate(self, call: Call) -> tuple[str, int | None, str | None]:
        p = call.params
        symbol = p.required("symbol")
        self._data(symbol)
        order_id = p.integer("orderId")
        client_id = p.text("origClientOrderId")
        if order_id is None and client_id is None:
            raise one_of_mandatory("origClientOrderId", "orderId")
        return symbol, order_id, client_id

    def get_order(self, call: Call) -> Any:
        """GET /api/v3/order (by orderId or origClientOrderId)."""
        key = _key(call)
        symbol, order_id, client_id = self._locate(call)
        order = self.venue.engine(symbol).find(key.account, order_id=order_id, client_order_id=client_id)
        if order is None:
            raise ApiError(E.NO_SUCH_ORDER, E.MSG_ORDER_DOES_NOT_EXIST)
        return order_json(order, self.market_data[symbol].decimals)

    def cancel_order(self, call: Call) -> Any:
        """DELETE /api/v3/order (by orderId or origClientOrderId)."""
        key = _key(call)
        symbol, order_id, client_id = self._locate(call)
        order = self.venue.engine(symbol).cancel(key.account, order_id=order_id, client_order_id=client_id)
        now = self.clock()
        cancel_id = call.params.client_order_id("newClientOrderId") or generated_client_id(
            f"cancel:{symbol}:{order.order_id}:{now}"
        )
        return cancel_json(order, self.market_data[symbol].decimals, cancel_id, now)

    def open_orders(self, call: Call) -> Any:
        """GET /api/v3/openOrders (symbol optional)."""
        key = _key(call)
        symbol = call.params.text("symbol")
        if symbol is not None:
            self._data(symbol)
        orders = self.venue.open_orders(key.account, symbol)
        return [order_json(o, self.market_data[o.symbol].decimals) for o in orders]

    def cancel_open_orders(self, call: Call) -> Any:
        """DELETE /api/v3/openOrders: cancel every open order of the symbol."""
        key = _key(call)
        symbol = call.params.required("symbol")
        data = self._data(symbol)
        orders = self.venue.engine(symbol).cancel_all(key.account)
        if not orders:
            raise ApiError(E.CANCEL_REJECTED, E.MSG_UNKNOWN_ORDER)
        now = self.clock()
        return [
            cancel_json(o, data.decimals, generated_client_id(f"cancel:{symbol}:{o.order_id}:{now}"), now)
            for o in orders
        ]

    def all_orders(self, call: Call) -> Any:
        """GET /api/v3/allOrders."""
        key = _key(call)
        p = call.params
        symbol = p.required("symbol")
        data = self._data(symbol)
        order_id, start, end = p.integer("orderId"), p.integer("startTime"), p.integer("endTime")
        limit = p.limit(500, 1000)
        orders = [
            o
            for o in self.venue.engine(symbol).orders(key.account)
            if (order_id is None or o.order_id >= order_id)
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        orders = orders[:limit] if (order_id is not None or start is not None) else orders[-limit:]
        return [order_json(o, data.decimals) for o in orders]

    def my_trades(self, call: Call) -> Any:
        """GET /api/v3/myTrades."""
        key = _key(call)
        p = call.params
        symbol = p.required("symbol")
        data = self._data(symbol)
        order_id, from_id = p.integer("orderId"), p.integer("fromId")
        start, end = p.integer("startTime"), p.integer("endTime")
        limit = p.limit(500, 1000)
        trades = [
            t
            for t in self.venue.engine(symbol).trades(key.account)
            if (order_id is None or t.order_id == order_id)
            and (from_id is None or t.trade_id >= from_id)
            and (start is None or t.time >= start)
            and (end is None or t.time <= end)
        ]
        trades = trades[:limit] if (from_id is not None or start is not None) else trades[-limit:]
        return [trade_json(t, data.decimals) for t in trades]


def _key(call: Call) -> KeyEntry:
    if call.key is None:  # pragma: no cover - signed routes always set it
        raise ApiError(E.REJECTED_MBX_KEY, E.MSG_REJECTED_KEY, status=401)
    return call.key
