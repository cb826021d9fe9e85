"""KuCoin spot REST endpoints (classic, non-HF account) over the shared :class:`Venue`.

The same matching core, accounts and replay as the Binance front; only the wire format
differs: KuCoin's paths, the envelope ``{"code": "200000", "data": ...}``, string error codes,
``BTC-USDT`` symbols, 24-hex order ids and header signatures (:mod:`.auth`).

Candle times. KuCoin's candle endpoint is windowed by wall-clock ``startAt``/``endAt`` (seconds)
and ccxt computes that window from its own clock, so this front shows the replayed history on
the wall clock: for each candle size, the bucket holding the current candle is shown as the
bucket holding "now", and every other candle keeps its distance to it. (The Binance front
shows the recorded times; orders, fills and tickers use the wall clock on both fronts.)

The account is a classic one (``GET /api/v1/hf/accounts/opened`` answers false), so ccxt uses
the classic order endpoints, where open orders can be listed across symbols.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bastion.domain import TIMEFRAMES_MS
from bastion.exchanges.simulator.apierrors import ApiError
from bastion.exchanges.simulator.candles import bucket_start
from bastion.exchanges.simulator.format import dumps, fmt
from bastion.exchanges.simulator.keys import KeyEntry
from bastion.exchanges.simulator.kucoin import errors as K
from bastion.exchanges.simulator.kucoin import render as R
from bastion.exchanges.simulator.kucoin.auth import KucoinKeyRing
from bastion.exchanges.simulator.kucoin.errors import KucoinError, bad_param, from_binance
from bastion.exchanges.simulator.market_data import MarketData
from bastion.exchanges.simulator.matching import Clock, FeeSchedule, SymbolEngine
from bastion.exchanges.simulator.orders import BUY, LIMIT, LIMIT_MAKER, MARKET, SELL, Order
from bastion.exchanges.simulator.params import Params, parse_params
from bastion.exchanges.simulator.venue import Venue

__all__ = ["GENERAL", "SPOT", "KucoinApi", "KucoinCall", "KucoinRoute"]

GENERAL = "General"
SPOT = "Spot"
_ANY_KEY = ""
#: KuCoin candle types -> the core's interval names.
CANDLE_TYPES = {
    "1min": "1m",
    "3min": "3m",
    "5min": "5m",
    "15min": "15m",
    "30min": "30m",
    "1hour": "1h",
    "2hour": "2h",
    "4hour": "4h",
    "6hour": "6h",
    "8hour": "8h",
    "12hour": "12h",
    "1day": "1d",
    "1week": "1w",
}
_MAX_CANDLES = 1500
_DECIMAL = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
_CLIENT_OID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_INT = re.compile(r"^[0-9]{1,20}$")
_TIF = frozenset({"GTC", "IOC", "FOK"})


@dataclass(slots=True)
class KucoinCall:
    """One request as the handlers see it."""

    params: Params
    body: dict[str, Any] = field(default_factory=dict)
    path_param: str = ""
    key: KeyEntry | None = None
    fill_fraction: Decimal | None = None


@dataclass(frozen=True, slots=True)
class KucoinRoute:
    """A handler and what it needs: None for public, else the KuCoin permission ('' = any key)."""

    handler: Callable[[KucoinCall], Any]
    permission: str | None = None


def _decimal(value: Any, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    text = str(value)
    if _DECIMAL.match(text) is None:
        raise bad_param(f"{name} invalid: expected a plain positive decimal such as 0.001, got {text[:40]!r}")
    return Decimal(text)


def _integer(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    text = str(value)
    if _INT.match(text) is None:
        raise bad_param(f"{name} invalid: expected a non-negative integer, got {text[:40]!r}")
    return int(text)


class KucoinApi:
    """The KuCoin endpoints of one venue.

    Parameters
    ----------
    venue
        Symbols, accounts and orders.
    keyring
        The API keys (each with its passphrase).
    clock
        Wall-clock epoch milliseconds.
    fees
        Maker and taker rates reported by tickers (the venue charges its own).
    """

    def __init__(self, venue: Venue, keyring: KucoinKeyRing, *, clock: Clock, fees: FeeSchedule) -> None:
        self.venue = venue
        self.keyring = keyring
        self.clock = clock
        self.fees = fees
        self.started_ms = clock()
        self.market_data = {symbol: MarketData(engine) for symbol, engine in venue.engines.items()}
        self._engines = list(venue.engines.values())
        self._index = {e.symbol_id: i for i, e in enumerate(self._engines)}
        self._by_kucoin = {R.kucoin_symbol(e.rules): e for e in self._engines}
        read, trade = GENERAL, SPOT
        self.routes: dict[tuple[str, str], KucoinRoute] = {
            ("GET", "/api/v1/timestamp"): KucoinRoute(lambda c: self.clock()),
            ("GET", "/api/v1/status"): KucoinRoute(lambda c: {"status": "open", "msg": ""}),
            ("GET", "/api/v3/currencies"): KucoinRoute(self.currencies),
            ("GET", "/api/v2/symbols"): KucoinRoute(self.symbols),
            ("GET", "/api/v1/market/allTickers"): KucoinRoute(self.all_tickers),
            ("GET", "/api/v1/market/stats"): KucoinRoute(self.stats),
            ("GET", "/api/v1/market/orderbook/level1"): KucoinRoute(self.level1),
            ("GET", "/api/v1/market/orderbook/level2_20"): KucoinRoute(lambda c: self.book(c, 20)),
            ("GET", "/api/v1/market/orderbook/level2_100"): KucoinRoute(lambda c: self.book(c, 100)),
            ("GET", "/api/v1/market/candles"): KucoinRoute(self.candles),
            ("GET", "/api/v3/market/orderbook/level2"): KucoinRoute(lambda c: self.book(c, None), read),
            ("GET", "/api/v1/hf/accounts/opened"): KucoinRoute(lambda c: False, read),
            ("GET", "/api/v3/margin/symbols"): KucoinRoute(lambda c: {"timestamp": self.clock(), "items": []}, read),
            ("GET", "/api/v1/isolated/symbols"): KucoinRoute(lambda c: [], read),
            ("GET", "/api/v1/user/api-key"): KucoinRoute(self.api_key_info, _ANY_KEY),
            ("GET", "/api/v1/accounts"): KucoinRoute(self.accounts, read),
            ("POST", "/api/v1/orders"): KucoinRoute(self.new_order, trade),
            ("GET", "/api/v1/orders"): KucoinRoute(self.list_orders, read),
            ("DELETE", "/api/v1/orders"): KucoinRoute(self.cancel_all, trade),
            ("GET", "/api/v1/fills"): KucoinRoute(self.fills, read),
        }
        #: Routes with one path parameter: (method, prefix) -> route.
        self.prefix_routes: dict[tuple[str, str], KucoinRoute] = {
            ("GET", "/api/v1/orders/"): KucoinRoute(self.get_order, read),
            ("DELETE", "/api/v1/orders/"): KucoinRoute(self.cancel_order, trade),
            ("GET", "/api/v1/order/client-order/"): KucoinRoute(self.get_order_by_client_oid, read),
            ("DELETE", "/api/v1/order/client-order/"): KucoinRoute(self.cancel_by_client_oid, trade),
        }

    # --- dispatch -------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[KucoinRoute, str] | None:
        """Return the route of ``method path`` and its path parameter, or None."""
        route = self.routes.get((method, path))
        if route is not None:
            return route, ""
        head, sep, tail = path.rpartition("/")
        if sep and tail:
            route = self.prefix_routes.get((method, head + "/"))
            if route is not None:
                return route, tail
        return None

    def handle(
        self,
        matched: tuple[KucoinRoute, str],
        method: str,
        raw_path: str,
        raw_query: str,
        raw_body: bytes,
        headers: Mapping[str, str],
        fill_fraction: Decimal | None = None,
    ) -> bytes:
        """Authenticate (private routes), run the handler and return the JSON envelope.

        Raises
        ------
        KucoinError
            Whatever KuCoin would answer instead.
        """
        route, path_param = matched
        params = parse_params(raw_query.encode("utf-8", "surrogateescape"), b"")
        call = KucoinCall(params, path_param=path_param, fill_fraction=fill_fraction)
        if route.permission is not None:
            endpoint = raw_path + ("?" + raw_query if raw_query else "")
            call.key = self.keyring.verify(headers, method, endpoint, raw_body, self.clock(), route.permission or None)
        if raw_body:
            call.body = self._json_body(raw_body)
        try:
            data = route.handler(call)
        except ApiError as exc:
            raise from_binance(exc) from None
        return dumps({"code": K.OK, "data": data})

    @staticmethod
    def _json_body(raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw)
        except ValueError:
            raise bad_param('the body must be a JSON object such as {"symbol": "BTC-USDT"}') from None
        if not isinstance(body, dict):
            raise bad_param(f"the body must be a JSON object, got {type(body).__name__}")
        return body

    # --- helpers --------------------------------------------------------------------------

    def _engine(self, kucoin_symbol: str | None) -> SymbolEngine:
        if not kucoin_symbol:
            raise bad_param("symbol is required, such as BTC-USDT")
        engine = self._by_kucoin.get(kucoin_symbol)
        if engine is None:
            raise KucoinError(K.BAD_SYMBOL, "Unsupported trading pair.")
        return engine

    def _data(self, engine: SymbolEngine) -> MarketData:
        return self.market_data[engine.symbol_id]

    def _oid(self, order: Order) -> str:
        return R.order_id(self._index[order.symbol], order.order_id)

    def _order_json(self, order: Order) -> dict[str, Any]:
        engine = self.venue.engines[order.symbol]
        return R.order_json(order, self._oid(order), engine.rules, self._data(engine).decimals)

    @staticmethod
    def _key(call: KucoinCall) -> KeyEntry:
        if call.key is None:  # pragma: no cover - private routes always set it
            raise KucoinError(K.MISSING_HEADER, "Please check the header of your request", status=401)
        return call.key

    @staticmethod
    def _page(params: Params) -> tuple[int, int]:
        current = _integer(params, "currentPage") or 1
        size = _integer(params, "pageSize") or 50
        return current, max(10, min(size, 500))

    # --- public ---------------------------------------------------------------------------

    def currencies(self, call: KucoinCall) -> Any:
        """GET /api/v3/currencies: every asset the markets trade."""
        assets = sorted({a for e in self._engines for a in (e.rules.base, e.rules.quote)})
        return [R.currency_json(a) for a in assets]

    def symbols(self, call: KucoinCall) -> Any:
        """GET /api/v2/symbols (``market`` filters by quote market)."""
        market = call.params.text("market")
        return [R.symbol_json(e.rules) for e in self._engines if market is None or e.rules.quote == market]

    def _ticker(self, engine: SymbolEngine) -> dict[str, Any]:
        return R.ticker_fields(self._data(engine).ticker_24h(), engine.fees)

    def all_tickers(self, call: KucoinCall) -> Any:
        """GET /api/v1/market/allTickers."""
        tickers = []
        for engine in self._engines:
            sid = R.kucoin_symbol(engine.rules)
            tickers.append({"symbol": sid, "symbolName": sid, **self._ticker(engine)})
        return {"time": self.clock(), "ticker": tickers}

    def stats(self, call: KucoinCall) -> Any:
        """GET /api/v1/market/stats?symbol=: the 24 h ticker of one market."""
        engine = self._engine(call.params.text("symbol"))
        return {"time": self.clock(), "symbol": R.kucoin_symbol(engine.rules), **self._ticker(engine)}

    def level1(self, call: KucoinCall) -> Any:
        """GET /api/v1/market/orderbook/level1?symbol=: best bid and ask."""
        engine = self._engine(call.params.text("symbol"))
        t = self._data(engine).ticker_24h()
        return {
            "time": self.clock(),
            "sequence": str(engine.book_version),
            "price": t["lastPrice"],
            "size": t["lastQty"],
            "bestBid": t["bidPrice"],
            "bestBidSize": t["bidQty"],
            "bestAsk": t["askPrice"],
            "bestAskSize": t["askQty"],
        }

    def book(self, call: KucoinCall, depth: int | None) -> Any:
        """GET level2_20 / level2_100 (public) and /api/v3/market/orderbook/level2 (full, private)."""
        engine = self._engine(call.params.text("symbol"))
        d = self._data(engine).decimals
        book = engine.book()
        bids = [[fmt(p, d.price), fmt(q, d.qty)] for p, q in book.bids if q > 0]
        asks = [[fmt(p, d.price), fmt(q, d.qty)] for p, q in book.asks if q > 0]
        if depth is not None:
            bids, asks = bids[:depth], asks[:depth]
        return {"time": self.clock(), "sequence": str(engine.book_version), "bids": bids, "asks": asks}

    def candles(self, call: KucoinCall) -> Any:
        """GET /api/v1/market/candles?symbol=&type=&startAt=&endAt= (seconds; newest first, at most 1500)."""
        p = call.params
        engine = self._engine(p.text("symbol"))
        kind = p.text("type")
        interval = CANDLE_TYPES.get(kind or "")
        if interval is None:
            raise bad_param(f"type invalid: expected one of {', '.join(CANDLE_TYPES)}, got {kind!r}")
        data = self._data(engine)
        try:
            current = data.klines(interval, start_time=None, end_time=None, limit=1)[-1][0]
        except ApiError:
            raise bad_param(f"type {kind} is finer than the recorded candles") from None
        shift = bucket_start(self.clock(), TIMEFRAMES_MS[interval]) - current
        start_s, end_s = _integer(p, "startAt") or 0, _integer(p, "endAt") or 0
        end_ms = end_s * 1000 - shift if end_s else None
        rows = data.klines(interval, start_time=None, end_time=end_ms, limit=_MAX_CANDLES)
        start_ms = start_s * 1000 - shift
        return [
            [str((r[0] + shift) // 1000), r[1], r[4], r[2], r[3], r[5], r[7]]
            for r in reversed(rows)
            if r[0] >= start_ms
        ]

    # --- account --------------------------------------------------------------------------

    def api_key_info(self, call: KucoinCall) -> Any:
        """GET /api/v1/user/api-key: the calling key's permissions."""
        key = self._key(call)
        restrictions = key.restrictions
        return {
            "remark": key.account,
            "apiKey": key.api_key,
            "apiVersion": 2,
            "permission": ",".join(self.keyring.permissions(key)),
            "ipWhitelist": "127.0.0.1" if key.allows("ipRestrict") else "",
            "createdAt": restrictions.get("createTime", self.started_ms),
            "uid": R.uid(key.account),
            "isMaster": True,
        }

    def accounts(self, call: KucoinCall) -> Any:
        """GET /api/v1/accounts?type=&currency=: the trading account's balances."""
        key = self._key(call)
        kind = call.params.text("type")
        currency = call.params.text("currency")
        if kind not in (None, "trade"):
            return []
        balances = self.venue.ledger.balances(key.account)
        return [
            R.account_json(key.account, asset, free, locked)
            for asset, (free, locked) in sorted(balances.items())
            if currency is None or asset == currency
        ]

    # --- orders ---------------------------------------------------------------------------

    def new_order(self, call: KucoinCall) -> Any:
        """POST /api/v1/orders (JSON body): place a limit or market order; answers its id."""
        key = self._key(call)
        b = call.body
        cid = b.get("clientOid")
        if not cid:
            raise bad_param("validation.createOrder.clientOidIsRequired")
        if not isinstance(cid, str) or _CLIENT_OID.match(cid) is None:
            raise bad_param("clientOid invalid: expected up to 40 letters, digits, '-' or '_'")
        engine = self._engine(b.get("symbol"))
        side = str(b.get("side", "")).upper()
        if side not in (BUY, SELL):
            raise bad_param(f"side invalid: expected buy or sell, got {b.get('side')!r}")
        kind = str(b.get("type") or "limit").lower()
        size = _decimal(b.get("size"), "size")
        order: dict[str, Any] = {"side": side, "client_order_id": cid}
        if kind == "limit":
            price = _decimal(b.get("price"), "price")
            if price is None or size is None:
                raise bad_param("price and size are required for a limit order")
            tif = str(b.get("timeInForce") or "GTC")
            if tif not in _TIF:
                raise bad_param(f"timeInForce invalid: expected GTC, IOC or FOK, got {tif!r}")
            post_only = b.get("postOnly") in (True, "true")
            order.update(
                order_type=LIMIT_MAKER if post_only else LIMIT,
                price=price,
                quantity=size,
                time_in_force=None if post_only else tif,
            )
        elif kind == "market":
            funds = _decimal(b.get("funds"), "funds")
            if (size is None) == (funds is None):
                raise bad_param("a market order needs exactly one of size or funds")
            order.update(order_type=MARKET, quantity=size, quote_order_qty=funds)
        else:
            raise bad_param(f"type invalid: expected limit or market, got {b.get('type')!r}")
        try:
            placed = self.venue.place(
                key.account, engine.symbol_id, fill_fraction=call.fill_fraction, key_hint=key.hint, **order
            )
        except ApiError as exc:
            raise from_binance(exc, engine.rules, size) from None
        return {"orderId": self._oid(placed)}

    def _find_by_id(self, account: str, oid: str) -> Order:
        decoded = R.decode_order_id(oid)
        if decoded is not None and decoded[0] < len(self._engines):
            order = self._engines[decoded[0]].find(account, order_id=decoded[1])
            if order is not None:
                return order
        raise KucoinError(K.BAD_PARAMS, K.MSG_ORDER_NOT_EXIST)

    def _find_by_client_oid(self, account: str, cid: str) -> Order | None:
        found = [o for e in self._engines if (o := e.find(account, client_order_id=cid)) is not None]
        if not found:
            return None
        open_orders = [o for o in found if o.is_open]
        return (open_orders or sorted(found, key=lambda o: o.time))[-1]

    def get_order(self, call: KucoinCall) -> Any:
        """GET /api/v1/orders/{orderId}."""
        return self._order_json(self._find_by_id(self._key(call).account, call.path_param))

    def get_order_by_client_oid(self, call: KucoinCall) -> Any:
        """GET /api/v1/order/client-order/{clientOid}."""
        order = self._find_by_client_oid(self._key(call).account, call.path_param)
        if order is None:
            raise KucoinError(K.BAD_PARAMS, K.MSG_ORDER_NOT_EXIST)
        return self._order_json(order)

    def _cancel(self, order: Order) -> None:
        try:
            self.venue.engines[order.symbol].cancel(order.account, order_id=order.order_id)
        except ApiError:
            raise KucoinError(K.BAD_PARAMS, K.MSG_CANCEL_NOT_EXIST) from None

    def cancel_order(self, call: KucoinCall) -> Any:
        """DELETE /api/v1/orders/{orderId}: answers ``{"cancelledOrderIds": [id]}``."""
        key = self._key(call)
        try:
            order = self._find_by_id(key.account, call.path_param)
        except KucoinError:
            raise KucoinError(K.BAD_PARAMS, K.MSG_CANCEL_NOT_EXIST) from None
        self._cancel(order)
        return {"cancelledOrderIds": [self._oid(order)]}

    def cancel_by_client_oid(self, call: KucoinCall) -> Any:
        """DELETE /api/v1/order/client-order/{clientOid}: answers the cancelled id and the clientOid."""
        key = self._key(call)
        order = self._find_by_client_oid(key.account, call.path_param)
        if order is None:
            raise KucoinError(K.BAD_PARAMS, K.MSG_CANCEL_NOT_EXIST)
        self._cancel(order)
        return {"cancelledOrderId": self._oid(order), "clientOid": order.client_order_id}

    def cancel_all(self, call: KucoinCall) -> Any:
        """DELETE /api/v1/orders?symbol=: cancel every open order (of one symbol or all)."""
        key = self._key(call)
        symbol = call.params.text("symbol")
        engines = [self._engine(symbol)] if symbol is not None else self._engines
        cancelled = [o for e in engines for o in e.cancel_all(key.account)]
        return {"cancelledOrderIds": [self._oid(o) for o in cancelled]}

    def list_orders(self, call: KucoinCall) -> Any:
        """GET /api/v1/orders?status=active|done&symbol=&side=&type=&startAt=&endAt= (newest first, paged)."""
        key = self._key(call)
        p = call.params
        status = p.text("status")
        if status not in (None, "active", "done"):
            raise bad_param(f"status invalid: expected active or done, got {status!r}")
        symbol = p.text("symbol")
        engines = [self._engine(symbol)] if symbol is not None else self._engines
        side, kind = p.text("side"), p.text("type")
        start, end = _integer(p, "startAt"), _integer(p, "endAt")
        orders = [
            o
            for e in engines
            for o in e.orders(key.account)
            if (status is None or o.is_open == (status == "active"))
            and (side is None or o.side == side.upper())
            and (kind is None or (o.type == MARKET) == (kind == "market"))
            and (start is None or o.time >= start)
            and (end is None or o.time <= end)
        ]
        orders.sort(key=lambda o: (o.time, self._oid(o)), reverse=True)
        current, size = self._page(p)
        return R.page([self._order_json(o) for o in orders], current, size)

    def fills(self, call: KucoinCall) -> Any:
        """GET /api/v1/fills?orderId=&symbol=&side=&startAt=&endAt= (newest first, paged)."""
        key = self._key(call)
        p = call.params
        symbol = p.text("symbol")
        engines = [self._engine(symbol)] if symbol is not None else self._engines
        order_filter: tuple[int, int] | None = None
        raw_order = p.text("orderId")
        if raw_order is not None:
            order_filter = R.decode_order_id(raw_order) or (-1, -1)
        side = p.text("side")
        start, end = _integer(p, "startAt"), _integer(p, "endAt")
        items: list[tuple[int, str, dict[str, Any]]] = []
        for engine in engines:
            index = self._index[engine.symbol_id]
            if order_filter is not None and order_filter[0] != index:
                continue
            d = self._data(engine).decimals
            for t in engine.trades(key.account):
                if order_filter is not None and t.order_id != order_filter[1]:
                    continue
                if side is not None and ("buy" if t.is_buyer else "sell") != side:
                    continue
                if (start is not None and t.time < start) or (end is not None and t.time > end):
                    continue
                tid = R.trade_id(index, t.trade_id)
                oid = R.order_id(index, t.order_id)
                order = engine.find(key.account, order_id=t.order_id)
                items.append((t.time, tid, R.fill_json(t, order, oid, tid, engine.rules, d, engine.fees)))
        items.sort(key=lambda item: (item[0], item[1]), reverse=True)
        current, size = self._page(p)
        return R.page([item[2] for item in items], current, size)
