"""Binance spot.

Allowlist from ccxt's ``binance`` API definitions (``api['public']``: ``exchangeInfo``,
``ticker/24hr``, ``ticker/bookTicker``, ``depth``, ``time``, ``klines``; ``api['private']``:
``order``, ``openOrders``, ``allOrders``, ``account``, ``myTrades``; ``api['sapi']``:
``account/apiRestrictions``) for the unified spot methods Bastion calls.

Key permissions: ``GET /sapi/v1/account/apiRestrictions``, booleans ``ipRestrict``,
``enableReading``, ``enableSpotAndMarginTrading``, ``enableWithdrawals``,
``enableInternalTransfer``, ``permitsUniversalTransfer``
(https://developers.binance.com/docs/wallet/account/api-key-permission).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bastion.exchanges.port import ApiRestrictions
from bastion.exchanges.venues._common import CANCEL, CHECK, RECREATE, flag, redact, require, unwrap
from bastion.exchanges.venues._venue import Endpoint, KeyWords, Venue

__all__ = ["ENDPOINTS", "OPTIONS", "VENUE", "parse_permissions"]

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v3/exchangeInfo", "markets (load_markets)", public=True),
    Endpoint("GET", "/api/v3/ticker/24hr", "24h ticker (fetch_ticker, fetch_tickers)", public=True),
    Endpoint("GET", "/api/v3/ticker/bookTicker", "best bid/ask (fetch_bids_asks)", public=True),
    Endpoint("GET", "/api/v3/depth", "order book (fetch_order_book)", public=True),
    Endpoint("GET", "/api/v3/time", "server time (fetch_time, time-difference adjustment)", public=True),
    Endpoint("POST", "/api/v3/order", "place an order (create_order)"),
    Endpoint("DELETE", "/api/v3/order", "cancel one order (cancel_order)"),
    Endpoint("GET", "/api/v3/order", "one order (fetch_order)"),
    Endpoint("GET", "/api/v3/openOrders", "open orders (fetch_open_orders)"),
    Endpoint("GET", "/api/v3/allOrders", "all orders (fetch_orders, fetch_closed_orders)"),
    Endpoint("GET", "/api/v3/account", "balances (fetch_balance)"),
    Endpoint("GET", "/api/v3/myTrades", "own trades (fetch_my_trades)"),
    Endpoint("GET", "/sapi/v1/account/apiRestrictions", "the key's permissions"),
)

#: Spot markets only, no currency list (a private wallet endpoint), no margin list.
OPTIONS: Mapping[str, Any] = MappingProxyType(
    {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "defaultType": "spot",
        "warnOnFetchOpenOrdersWithoutSymbol": False,
    }
)


def parse_permissions(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse Binance's ``GET /sapi/v1/account/apiRestrictions`` answer (also the simulator's).

    Raises
    ------
    ExchangeError
        The answer is not an object with ``enableWithdrawals`` and ``ipRestrict``.
    """
    expected = "expected Binance apiRestrictions fields such as enableWithdrawals and ipRestrict"
    payload = unwrap(raw, "Binance", None, expected)
    for name in ("enableWithdrawals", "ipRestrict"):
        require(payload, name, "Binance", expected)
    return ApiRestrictions(
        can_read=flag(payload.get("enableReading")),
        can_trade_spot=flag(payload.get("enableSpotAndMarginTrading")),
        can_withdraw=flag(payload.get("enableWithdrawals")),
        can_internal_transfer=flag(payload.get("enableInternalTransfer")),
        can_universal_transfer=flag(payload.get("permitsUniversalTransfer")),
        ip_restricted=flag(payload.get("ipRestrict")),
        raw=redact(payload),
    )


_PAGE = "Binance's API Management page (https://www.binance.com/en/my/settings/api-management), Edit restrictions"

WORDS = KeyWords(
    where=_PAGE,
    withdraw='untick "Enable Withdrawals"',
    internal='untick "Enable Internal Transfer"',
    universal='untick "Permits Universal Transfer"',
    read='tick "Enable Reading"',
    trade='tick "Enable Spot & Margin Trading" (spot trading)',
    ip='choose "Restrict access to trusted IPs only (Recommended)" and add the signer\'s IP address',
)

REVOKE: tuple[str, ...] = (
    "Log in at https://www.binance.com and open Account > API Management "
    "(https://www.binance.com/en/my/settings/api-management).",
    "Find the key (Bastion shows its last four characters, such as ****abcd), click Delete and confirm with "
    "your two-factor code. Delete it; do not only edit its restrictions.",
    CANCEL,
    CHECK,
    RECREATE.format(
        perms='"Enable Reading" and "Enable Spot & Margin Trading"',
        ip='"Restrict access to trusted IPs only (Recommended)"',
    ),
)

VENUE = Venue(
    id="binance",
    ccxt_id="binance",
    title="Binance",
    endpoints=ENDPOINTS,
    options=OPTIONS,
    permission_method="sapi_get_account_apirestrictions",
    parse_permissions=parse_permissions,
    words=WORDS,
    revoke_steps=REVOKE,
    lookup_client_id_param="origClientOrderId",
    trade_paging="trade_id",
    quirks=(
        "orders are found and cancelled by client order id with origClientOrderId",
        "own trades page by increasing trade id (fromId)",
    ),
)
