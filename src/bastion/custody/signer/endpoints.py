"""The signer's HTTP allowlist: the only exchange endpoints a signer-held key is ever sent to.

:func:`guard_client` wraps a ccxt client's ``fetch`` (the one place every ccxt REST request
passes through, after signing and before any I/O). The wrapper refuses, with
:class:`~bastion.errors.ForbiddenEndpoint` and before a byte leaves the process, any request

- whose scheme and host are not one of the client's ``urls['api']`` origins as configured
  when the guard was installed;
- whose path is ambiguous: percent-encoding, ``.``/``..`` or empty segments (``//``), a
  trailing slash, or any character outside ``A-Z a-z 0-9 / _ . -``;
- whose exact (HTTP method, path) pair is not on the exchange's list below.

Each list holds the public market data the signer reads for its own reference prices and the
private calls of its narrow RPC (place, cancel and get an order, open and closed orders,
balances, own trades, the key's permissions), spot only. Nothing that withdraws, transfers,
creates sub-accounts, changes API keys, borrows or touches margin/futures is on any list.
The paths are those ccxt 4.5.90 requests for the unified spot methods (read from its
``binance.py``, ``okx.py``, ``bybit.py`` and ``kucoin.py``, and checked by recording the
requests of each unified method with the network cut off).

The guard also sets the few ccxt options that keep the unified spot methods inside the lists
(spot markets only, no currency list, OKX single-order endpoint, KuCoin classic account without
margin symbol lists); see :func:`spot_options`.

Error messages name the method, the path and the exchange, never the query string or body
(they carry the request's signature).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from bastion.errors import ConfigError, ForbiddenEndpoint

__all__ = ["SUPPORTED_EXCHANGES", "allowed_endpoints", "guard_client", "spot_options"]

_GET, _POST, _DELETE = "GET", "POST", "DELETE"

# (method, path, what for). ``{name}`` is one path segment of letters, digits, '_' or '-'.
_BINANCE: tuple[tuple[str, str, str], ...] = (
    (_GET, "/api/v3/exchangeInfo", "markets (load_markets)"),
    (_GET, "/api/v3/ticker/24hr", "24h ticker (fetch_ticker, fetch_tickers)"),
    (_GET, "/api/v3/ticker/bookTicker", "best bid/ask (fetch_bids_asks)"),
    (_GET, "/api/v3/depth", "order book (fetch_order_book)"),
    (_GET, "/api/v3/time", "server time (fetch_time, time-difference adjustment)"),
    (_POST, "/api/v3/order", "place an order (create_order)"),
    (_DELETE, "/api/v3/order", "cancel one order (cancel_order)"),
    (_GET, "/api/v3/order", "one order (fetch_order)"),
    (_GET, "/api/v3/openOrders", "open orders (fetch_open_orders)"),
    (_GET, "/api/v3/allOrders", "all orders (fetch_orders, fetch_closed_orders)"),
    (_GET, "/api/v3/account", "balances (fetch_balance)"),
    (_GET, "/api/v3/myTrades", "own trades (fetch_my_trades)"),
    (_GET, "/sapi/v1/account/apiRestrictions", "the key's permissions"),
)

_OKX: tuple[tuple[str, str, str], ...] = (
    (_GET, "/api/v5/public/instruments", "markets (load_markets, instType=SPOT)"),
    (_GET, "/api/v5/market/ticker", "24h ticker with best bid/ask (fetch_ticker)"),
    (_GET, "/api/v5/market/tickers", "24h tickers (fetch_tickers)"),
    (_GET, "/api/v5/market/books", "order book (fetch_order_book)"),
    (_GET, "/api/v5/public/time", "server time (fetch_time)"),
    (_POST, "/api/v5/trade/order", "place one order (create_order, options createOrder=privatePostTradeOrder)"),
    (_POST, "/api/v5/trade/cancel-order", "cancel one order (cancel_order)"),
    (_GET, "/api/v5/trade/order", "one order (fetch_order)"),
    (_GET, "/api/v5/trade/orders-pending", "open orders (fetch_open_orders)"),
    (_GET, "/api/v5/trade/orders-history", "closed orders, last 7 days (fetch_closed_orders)"),
    (_GET, "/api/v5/trade/fills-history", "own trades (fetch_my_trades)"),
    (_GET, "/api/v5/account/balance", "balances (fetch_balance)"),
    (_GET, "/api/v5/account/config", "the key's permissions (perm, ip)"),
)

_BYBIT: tuple[tuple[str, str, str], ...] = (
    (_GET, "/v5/market/instruments-info", "markets (load_markets, category=spot)"),
    (_GET, "/v5/market/tickers", "24h ticker with best bid/ask (fetch_ticker, fetch_bids_asks)"),
    (_GET, "/v5/market/orderbook", "order book (fetch_order_book)"),
    (_GET, "/v5/market/time", "server time (fetch_time)"),
    (_POST, "/v5/order/create", "place an order (create_order)"),
    (_POST, "/v5/order/cancel", "cancel one order (cancel_order)"),
    (_GET, "/v5/order/realtime", "open orders and one recent order (fetch_open_orders, fetch_order)"),
    (_GET, "/v5/order/history", "closed orders (fetch_closed_orders)"),
    (_GET, "/v5/execution/list", "own trades (fetch_my_trades)"),
    (_GET, "/v5/account/wallet-balance", "balances (fetch_balance)"),
    (_GET, "/v5/account/info", "account mode; ccxt reads it before orders and balances"),
    (_GET, "/v5/user/query-api", "the key's permissions; ccxt also reads it before orders and balances"),
)

# KuCoin: ccxt uses the high-frequency (hf) endpoints when the account has an hf trading account
# (GET /api/v1/hf/accounts/opened), the classic ones otherwise; both are listed.
_KUCOIN: tuple[tuple[str, str, str], ...] = (
    (_GET, "/api/v2/symbols", "markets (load_markets)"),
    (_GET, "/api/v1/market/allTickers", "24h tickers and fee rates (load_markets, fetch_tickers)"),
    (_GET, "/api/v1/market/stats", "24h ticker with best bid/ask (fetch_ticker)"),
    (_GET, "/api/v1/market/orderbook/level2_20", "order book, 20 levels (fetch_order_book)"),
    (_GET, "/api/v1/market/orderbook/level2_100", "order book, 100 levels (fetch_order_book)"),
    (_GET, "/api/v1/timestamp", "server time (fetch_time)"),
    (_GET, "/api/v1/hf/accounts/opened", "whether the account trades through hf endpoints (load_markets)"),
    (_POST, "/api/v1/hf/orders", "place an order, hf (create_order)"),
    (_POST, "/api/v1/orders", "place an order, classic (create_order)"),
    (_DELETE, "/api/v1/hf/orders/{orderId}", "cancel one order, hf (cancel_order)"),
    (_DELETE, "/api/v1/hf/orders/client-order/{clientOid}", "cancel one order by client id, hf"),
    (_DELETE, "/api/v1/orders/{orderId}", "cancel one order, classic (cancel_order)"),
    (_DELETE, "/api/v1/order/client-order/{clientOid}", "cancel one order by client id, classic"),
    (_GET, "/api/v1/hf/orders/{orderId}", "one order, hf (fetch_order)"),
    (_GET, "/api/v1/hf/orders/client-order/{clientOid}", "one order by client id, hf"),
    (_GET, "/api/v1/orders/{orderId}", "one order, classic (fetch_order)"),
    (_GET, "/api/v1/order/client-order/{clientOid}", "one order by client id, classic"),
    (_GET, "/api/v1/hf/orders/active", "open orders, hf (fetch_open_orders)"),
    (_GET, "/api/v1/hf/orders/done", "closed orders, hf (fetch_closed_orders)"),
    (_GET, "/api/v1/orders", "open and closed orders, classic"),
    (_GET, "/api/v1/accounts", "balances (fetch_balance)"),
    (_GET, "/api/v1/hf/fills", "own trades, hf (fetch_my_trades)"),
    (_GET, "/api/v1/fills", "own trades, classic (fetch_my_trades)"),
    (_GET, "/api/v1/user/api-key", "the key's permissions (permission, ipWhitelist)"),
)

_LISTS: MappingProxyType[str, tuple[tuple[str, str, str], ...]] = MappingProxyType(
    {"binance": _BINANCE, "simulator": _BINANCE, "okx": _OKX, "bybit": _BYBIT, "kucoin": _KUCOIN}
)

#: Exchange ids the signer has an allowlist for.
SUPPORTED_EXCHANGES: tuple[str, ...] = tuple(_LISTS)

# The ccxt client class behind each id ("simulator" is ccxt's binance pointed at loopback).
_CCXT_ID = {"simulator": "binance"}

_SPOT_OPTIONS: MappingProxyType[str, dict[str, Any]] = MappingProxyType(
    {
        "binance": {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "defaultType": "spot",
        },
        "simulator": {
            "fetchMarkets": {"types": ["spot"]},
            "fetchCurrencies": False,
            "fetchMargins": False,
            "defaultType": "spot",
        },
        "okx": {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot", "createOrder": "privatePostTradeOrder"},
        "bybit": {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot"},
        "kucoin": {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot", "uta": False},
    }
)

_SEGMENT = r"[A-Za-z0-9_-]{1,128}"
_PATH_CHARS = re.compile(r"^[A-Za-z0-9/_.-]+$")
_METHOD = re.compile(r"^[A-Z]{3,7}$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_GUARD_MARK = "__bastion_endpoint_guard__"
_SHOWN = 120  # longest path shown in a message


def _supported(exchange_id: str) -> tuple[tuple[str, str, str], ...]:
    try:
        return _LISTS[exchange_id]
    except (KeyError, TypeError):
        raise ConfigError(
            f"the signer has no endpoint allowlist for exchange {exchange_id!r}; "
            f"supported exchange ids: {', '.join(SUPPORTED_EXCHANGES)}"
        ) from None


def allowed_endpoints(exchange_id: str) -> tuple[tuple[str, str], ...]:
    """Return the (HTTP method, path) pairs the signer may call on ``exchange_id``.

    Paths may hold ``{name}`` placeholders, each standing for one segment of letters, digits,
    ``_`` or ``-`` (such as a KuCoin order id).

    Raises
    ------
    ConfigError
        No allowlist for ``exchange_id``; the message names the supported ids.
    """
    return tuple((method, path) for method, path, _ in _supported(exchange_id))


def spot_options(exchange_id: str) -> dict[str, Any]:
    """Return the ccxt ``options`` that keep the unified spot methods inside the allowlist.

    :func:`guard_client` applies them; they are exposed so callers can see what it changes.

    Raises
    ------
    ConfigError
        No allowlist for ``exchange_id``.
    """
    _supported(exchange_id)
    return {
        name: dict(value) if isinstance(value, dict) else value for name, value in _SPOT_OPTIONS[exchange_id].items()
    }


def _compile(
    entries: tuple[tuple[str, str, str], ...],
) -> tuple[frozenset[tuple[str, str]], tuple[tuple[str, re.Pattern[str]], ...]]:
    exact = frozenset((m, p) for m, p, _ in entries if "{" not in p)
    templates = tuple(
        (m, re.compile("^" + re.sub(r"\\\{[A-Za-z]+\\\}", _SEGMENT, re.escape(p)) + "$"))
        for m, p, _ in entries
        if "{" in p
    )
    return exact, templates


def _api_urls(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _api_urls(item)


def _origin(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int]:
    scheme = scheme.lower()
    return scheme, (host or "").lower(), port if port is not None else (443 if scheme == "https" else 80)


def _configured_origins(client: Any) -> frozenset[tuple[str, str, int]]:
    implode = getattr(client, "implode_hostname", None)
    origins = set()
    for url in _api_urls(getattr(client, "urls", {}).get("api")):
        parts = urlsplit(implode(url) if implode is not None else url)
        if parts.scheme and parts.hostname:
            origins.add(_origin(parts.scheme, parts.hostname, parts.port))
    return frozenset(origins)


def _show(path: str) -> str:
    return repr(path if len(path) <= _SHOWN else path[:_SHOWN] + "...")


def _path_problem(path: str) -> str | None:
    """Return why ``path`` is ambiguous, or None when it is a plain canonical path."""
    if not path.startswith("/"):
        return "it does not start with '/'"
    if "%" in path:
        return "it holds percent-encoded characters"
    if _PATH_CHARS.match(path) is None:
        return "it holds characters outside letters, digits, '/', '_', '.' and '-'"
    if path != "/" and path.endswith("/"):
        return "it ends with '/'"
    segments = path.split("/")[1:]
    if "" in segments:
        return "it holds an empty segment ('//')"
    if "." in segments or ".." in segments:
        return "it holds a '.' or '..' segment"
    return None


class _Guard:
    """The check one guarded client runs before every request."""

    def __init__(self, exchange_id: str, origins: frozenset[tuple[str, str, int]]) -> None:
        self.exchange_id = exchange_id
        self.origins = origins
        self.exact, self.templates = _compile(_supported(exchange_id))

    def _refuse(self, method: str, path: str, why: str) -> ForbiddenEndpoint:
        return ForbiddenEndpoint(
            f"signer refused {method} {_show(path)} on {self.exchange_id}: {why}; nothing was sent",
            exchange=self.exchange_id,
            method=method,
            path=path,
        )

    def check(self, client: Any, url: str, method: str) -> None:
        """Raise ForbiddenEndpoint unless ``method url`` is on the allowlist."""
        shown_method = method if isinstance(method, str) and len(method) <= 10 else "?"
        try:
            parts = urlsplit(url)
            port = parts.port
        except (ValueError, TypeError, AttributeError):
            raise self._refuse(shown_method, "?", "the URL cannot be parsed") from None
        path = parts.path
        if not isinstance(method, str) or _METHOD.match(method) is None:
            raise self._refuse(shown_method, path, "the HTTP method is not an upper-case word such as GET")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise self._refuse(method, path, "the URL carries user information before the host")
        if parts.fragment:
            raise self._refuse(method, path, "the URL carries a fragment ('#')")
        if _origin(parts.scheme, parts.hostname, port) not in self.origins:
            expected = ", ".join(sorted(f"{s}://{h}:{p}" for s, h, p in self.origins)) or "none"
            raise self._refuse(
                method,
                path,
                f"{parts.scheme}://{parts.hostname}:{port or '-'} is not one of the client's configured API hosts "
                f"({expected})",
            )
        problem = _path_problem(path)
        if problem is not None:
            raise self._refuse(method, path, f"the path is ambiguous: {problem}")
        if (method, path) in self.exact:
            pass
        elif not any(m == method and pattern.match(path) for m, pattern in self.templates):
            raise self._refuse(
                method,
                path,
                f"it is not on the signer's allowlist of {len(self.exact) + len(self.templates)} "
                f"{self.exchange_id} endpoints (spot market data, orders, balances, own trades, key permissions)",
            )
        if client.check_proxy_url_settings(url, method, None, None) is not None:
            raise self._refuse(method, path, "the client has a URL-rewriting proxy, which would receive the request")


def _apply_spot_options(client: Any, exchange_id: str) -> None:
    for name, value in _SPOT_OPTIONS[exchange_id].items():
        current = client.options.get(name)
        if isinstance(value, dict) and isinstance(current, dict):
            client.options[name] = {**current, **value}
        else:
            client.options[name] = dict(value) if isinstance(value, dict) else value
    # ccxt's load_markets calls fetch_currencies when has['fetchCurrencies'] is True; on these
    # exchanges that is a private wallet endpoint (withdrawal fees and networks).
    client.has = {**client.has, "fetchCurrencies": False}
    if exchange_id == "kucoin":
        _kucoin_markets_without_margin(client)


def _kucoin_markets_without_margin(client: Any) -> None:
    # ccxt's kucoin.fetch_markets lists cross and isolated margin symbols (private margin
    # endpoints) unless it gets params={'marginables': False}; load_markets passes its params on.
    original: Callable[..., Any] = client.fetch_markets
    if inspect.iscoroutinefunction(original):

        async def fetch_markets_async(params: dict[str, Any] | None = None) -> Any:
            return await original({"marginables": False, **(params or {})})

        client.fetch_markets = fetch_markets_async
    else:

        def fetch_markets(params: dict[str, Any] | None = None) -> Any:
            return original({"marginables": False, **(params or {})})

        client.fetch_markets = fetch_markets


def guard_client(client: Any, exchange_id: str) -> Any:
    """Install the allowlist guard on a ccxt client (sync or asyncio) and return the client.

    Call it once the client's URLs are final: the API hosts are read now, and a request to any
    other host is refused later. The client's ``fetch`` is replaced on the instance by a wrapper
    that checks the host, the path and the method before any I/O (an ``async def`` wrapper for
    ``ccxt.async_support`` clients), and the options of :func:`spot_options` are applied.

    Parameters
    ----------
    client
        A ``ccxt.Exchange`` or ``ccxt.async_support`` client of the matching class (ccxt's
        ``binance`` for ``"simulator"``).
    exchange_id
        ``"binance"``, ``"okx"``, ``"bybit"``, ``"kucoin"`` or ``"simulator"``.

    Raises
    ------
    ConfigError
        No allowlist for ``exchange_id``; a client of another exchange; a simulator client whose
        API hosts are not on loopback; a client already guarded for another exchange id; or a
        client without API URLs.
    """
    _supported(exchange_id)
    client_id = getattr(client, "id", None)
    expected_id = _CCXT_ID.get(exchange_id, exchange_id)
    if client_id != expected_id:
        raise ConfigError(
            f"guard_client: expected a ccxt {expected_id!r} client for exchange id {exchange_id!r}, got {client_id!r}"
        )
    existing = getattr(client.fetch, _GUARD_MARK, None)
    if existing is not None:
        if existing != exchange_id:
            raise ConfigError(
                f"this client is already guarded for {existing!r}; it cannot be re-guarded for {exchange_id!r}"
            )
        return client
    origins = _configured_origins(client)
    if not origins:
        raise ConfigError(f"guard_client: the {client_id} client has no API URLs in urls['api']")
    if exchange_id == "simulator" and any(host not in _LOOPBACK_HOSTS for _, host, _ in origins):
        raise ConfigError(
            "guard_client: a 'simulator' client must point at loopback (127.0.0.1); "
            f"its API hosts are {', '.join(sorted({h for _, h, _ in origins}))}"
        )
    guard = _Guard(exchange_id, origins)
    original = client.fetch
    if inspect.iscoroutinefunction(original):

        async def fetch_async(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            guard.check(client, url, method)
            return await original(url, method, headers, body)

        wrapper: Any = fetch_async
    else:

        def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            guard.check(client, url, method)
            return original(url, method, headers, body)

        wrapper = fetch
    setattr(wrapper, _GUARD_MARK, exchange_id)
    _apply_spot_options(client, exchange_id)
    client.fetch = wrapper
    return client
