"""Coinbase Advanced Trade spot.

Allowlist from ccxt's ``coinbase`` API definitions (``api['v3']['public']['get']``:
``brokerage/market/products``, ``brokerage/market/products/{product_id}/ticker``,
``brokerage/market/product_book``; ``api['v2']['public']['get']``: ``time``;
``api['v3']['private']``: ``brokerage/orders`` (POST), ``brokerage/orders/batch_cancel``,
``brokerage/orders/historical/{order_id}``, ``brokerage/orders/historical/batch``,
``brokerage/orders/historical/fills``, ``brokerage/transaction_summary`` (fees, read by
load_markets), ``brokerage/key_permissions``; ``api['v2']['private']['get']``: ``accounts``).

Key permissions: ``GET /api/v3/brokerage/key_permissions``: ``can_view``, ``can_trade``,
``can_transfer`` (https://docs.cdp.coinbase.com/advanced-trade/reference/retailbrokerageapi_getapikeypermissions).
Coinbase does not report a key's IP allowlist, so a Coinbase key counts as unrestricted.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bastion.exchanges.port import ApiRestrictions
from bastion.exchanges.venues._common import CANCEL, CHECK, RECREATE, flag, redact, require, unwrap
from bastion.exchanges.venues._venue import Endpoint, KeyWords, Venue

__all__ = ["ENDPOINTS", "OPTIONS", "VENUE", "parse_permissions"]

_V3 = "/api/v3/brokerage"

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", f"{_V3}/market/products", "markets and tickers (load_markets, fetch_tickers)", public=True),
    Endpoint("GET", f"{_V3}/market/products/{{product_id}}/ticker", "ticker (fetch_ticker)", public=True),
    Endpoint("GET", f"{_V3}/market/product_book", "order book (fetch_order_book)", public=True),
    Endpoint("GET", "/v2/time", "server time (fetch_time)", public=True),
    Endpoint("GET", f"{_V3}/transaction_summary", "the account's fee tier (load_markets with a key)"),
    Endpoint("POST", f"{_V3}/orders", "place an order (create_order)"),
    Endpoint("POST", f"{_V3}/orders/batch_cancel", "cancel orders by id (cancel_order)"),
    Endpoint("GET", f"{_V3}/orders/historical/{{order_id}}", "one order (fetch_order)"),
    Endpoint("GET", f"{_V3}/orders/historical/batch", "open and closed orders (fetch_open_orders, ...)"),
    Endpoint("GET", f"{_V3}/orders/historical/fills", "own trades (fetch_my_trades)"),
    Endpoint("GET", "/v2/accounts", "balances (fetch_balance)"),
    Endpoint("GET", f"{_V3}/key_permissions", "the key's permissions (can_view, can_trade, can_transfer)"),
)

OPTIONS: Mapping[str, Any] = MappingProxyType({"defaultType": "spot"})


def parse_permissions(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse Coinbase's ``GET /api/v3/brokerage/key_permissions`` answer.

    ``can_transfer`` (sending crypto or money out) counts as withdrawal.

    Raises
    ------
    ExchangeError
        The answer has no ``can_transfer`` or no ``can_trade``.
    """
    expected = "expected Coinbase key permissions with 'can_view', 'can_trade' and 'can_transfer'"
    payload = unwrap(raw, "Coinbase", None, expected)
    for name in ("can_trade", "can_transfer"):
        require(payload, name, "Coinbase", expected)
    return ApiRestrictions(
        can_read=flag(payload.get("can_view")),
        can_trade_spot=flag(payload.get("can_trade")),
        can_withdraw=flag(payload.get("can_transfer")),
        can_internal_transfer=False,
        can_universal_transfer=False,
        ip_restricted=False,  # not reported
        raw=redact(payload),
    )


WORDS = KeyWords(
    where="the Coinbase Developer Platform's API keys page (https://portal.cdp.coinbase.com/access/api)",
    withdraw='untick the "Transfer" permission',
    internal='untick the "Transfer" permission',
    universal='untick the "Transfer" permission',
    read='tick the "View" permission',
    trade='tick the "Trade" permission',
    ip='add the signer\'s IP address under "IP allowlist" (Coinbase does not report it, so this warning stays)',
)

REVOKE: tuple[str, ...] = (
    "Log in at https://portal.cdp.coinbase.com and open API Keys (https://portal.cdp.coinbase.com/access/api).",
    "Find the key by its name and its last four characters, open its menu, choose Delete and confirm.",
    CANCEL,
    CHECK,
    RECREATE.format(perms='the "View" and "Trade" permissions', ip='"IP allowlist"'),
)

VENUE = Venue(
    id="coinbase",
    ccxt_id="coinbase",
    title="Coinbase",
    endpoints=ENDPOINTS,
    options=OPTIONS,
    permission_method="v3_private_get_brokerage_key_permissions",
    parse_permissions=parse_permissions,
    words=WORDS,
    revoke_steps=REVOKE,
    lookup_client_id_param=None,
    trade_paging="time",
    quirks=(
        "secrets are EC private keys (JWT signing)",
        "orders cannot be looked up by client order id, only by Coinbase's order id",
        "cancel goes through batch_cancel with one id",
        "the key's IP allowlist is not reported: keys count as unrestricted (--allow-unrestricted-ip)",
    ),
)
