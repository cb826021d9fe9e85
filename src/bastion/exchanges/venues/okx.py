"""OKX spot.

Allowlist from ccxt's ``okx`` API definitions (``api['public']['get']``: ``public/instruments``,
``market/ticker``, ``market/tickers``, ``market/books``, ``public/time``;
``api['private']``: ``trade/order`` (POST and GET), ``trade/cancel-order``,
``trade/orders-pending``, ``trade/orders-history``, ``trade/fills-history``,
``account/balance``, ``account/config``).

Key permissions: ``GET /api/v5/account/config``: ``data[0].perm``, comma-separated
``read_only``, ``trade``, ``withdraw``; ``data[0].ip``, comma-separated bound IPs, ``""`` when
none (https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-account-configuration).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bastion.exchanges.port import ApiRestrictions
from bastion.exchanges.venues._common import CANCEL, CHECK, RECREATE, csv, redact, require, unwrap
from bastion.exchanges.venues._venue import Endpoint, KeyWords, Venue

__all__ = ["ENDPOINTS", "OPTIONS", "VENUE", "parse_permissions"]

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v5/public/instruments", "markets (load_markets, instType=SPOT)", public=True),
    Endpoint("GET", "/api/v5/market/ticker", "24h ticker with best bid/ask (fetch_ticker)", public=True),
    Endpoint("GET", "/api/v5/market/tickers", "24h tickers (fetch_tickers)", public=True),
    Endpoint("GET", "/api/v5/market/books", "order book (fetch_order_book)", public=True),
    Endpoint("GET", "/api/v5/public/time", "server time (fetch_time)", public=True),
    Endpoint(
        "POST", "/api/v5/trade/order", "place one order (create_order; option createOrder=privatePostTradeOrder)"
    ),
    Endpoint("POST", "/api/v5/trade/cancel-order", "cancel one order (cancel_order)"),
    Endpoint("GET", "/api/v5/trade/order", "one order (fetch_order)"),
    Endpoint("GET", "/api/v5/trade/orders-pending", "open orders (fetch_open_orders)"),
    Endpoint("GET", "/api/v5/trade/orders-history", "closed orders, last 7 days (fetch_closed_orders)"),
    Endpoint("GET", "/api/v5/trade/fills-history", "own trades (fetch_my_trades)"),
    Endpoint("GET", "/api/v5/account/balance", "balances (fetch_balance)"),
    Endpoint("GET", "/api/v5/account/config", "the key's permissions (perm, ip)"),
)

#: Spot markets only; one order per request (not the batch endpoint).
OPTIONS: Mapping[str, Any] = MappingProxyType(
    {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot", "createOrder": "privatePostTradeOrder"}
)


def parse_permissions(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse OKX's ``GET /api/v5/account/config`` answer (whole, or its ``data[0]``).

    OKX reports no separate transfer permission.

    Raises
    ------
    ExchangeError
        The answer has no ``perm`` or no ``ip``.
    """
    expected = "expected OKX account config with 'perm' (such as 'read_only,trade') and 'ip'"
    payload = unwrap(raw, "OKX", "data", expected)
    perms = {p.lower() for p in csv(require(payload, "perm", "OKX", expected))}
    ips = csv(require(payload, "ip", "OKX", expected))
    return ApiRestrictions(
        can_read="read_only" in perms,
        can_trade_spot="trade" in perms,
        can_withdraw="withdraw" in perms,
        can_internal_transfer=False,
        can_universal_transfer=False,
        ip_restricted=bool(ips),
        raw=redact(payload),
    )


WORDS = KeyWords(
    where="OKX's API page (profile icon > API, https://www.okx.com/account/my-api), Edit",
    withdraw='untick the "Withdraw" permission',
    internal='untick every permission except "Read" and "Trade"',
    universal='untick every permission except "Read" and "Trade"',
    read='tick the "Read" permission',
    trade='tick the "Trade" permission (spot trading)',
    ip='enter the signer\'s IP address under "IP address" to bind the key to it',
)

REVOKE: tuple[str, ...] = (
    "Log in at https://www.okx.com, click the profile icon and choose API (https://www.okx.com/account/my-api).",
    "Find the key by its API key name and its last four characters, click Delete and confirm with your "
    "verification codes.",
    CANCEL,
    CHECK,
    RECREATE.format(perms='the "Read" and "Trade" permissions', ip='the "IP address" field'),
)

VENUE = Venue(
    id="okx",
    ccxt_id="okx",
    title="OKX",
    endpoints=ENDPOINTS,
    options=OPTIONS,
    permission_method="private_get_account_config",
    parse_permissions=parse_permissions,
    words=WORDS,
    revoke_steps=REVOKE,
    lookup_client_id_param="clOrdId",
    client_id_max_length=32,
    trade_paging="time",
    quirks=(
        "keys have a passphrase",
        "client order ids: letters and digits only, up to 32 (ids with '-' or '.' are refused by OKX)",
        "closed orders and fills are read from the 7-day history",
    ),
)
