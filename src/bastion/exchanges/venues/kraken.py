"""Kraken spot.

Allowlist from ccxt's ``kraken`` API definitions (``api['public']['get']``: ``AssetPairs``,
``Ticker``, ``Depth``, ``Time``; ``api['private']['post']``: ``AddOrder``, ``CancelOrder``,
``QueryOrders``, ``OpenOrders``, ``ClosedOrders``, ``BalanceEx``, ``TradesHistory``,
``GetApiKeyInfo``). Every private Kraken call is a POST, so the list names each one.

Key permissions: ``POST /0/private/GetApiKeyInfo`` ("Get API Key Info", needs no permission):
``result.permissions``, a list such as ``query-funds``, ``withdraw-funds``,
``query-open-trades``, ``query-closed-trades``, ``modify-trades``, ``cancel-close-trades``;
``result.ipAllowlist``, empty when the key is not bound to an IP
(https://docs.kraken.com/api-reference/account-data/get-api-key-info).
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
    Endpoint("GET", "/0/public/AssetPairs", "markets (load_markets)", public=True),
    Endpoint("GET", "/0/public/Ticker", "24h tickers (fetch_ticker, fetch_tickers)", public=True),
    Endpoint("GET", "/0/public/Depth", "order book (fetch_order_book)", public=True),
    Endpoint("GET", "/0/public/Time", "server time (fetch_time)", public=True),
    Endpoint("POST", "/0/private/AddOrder", "place an order (create_order)"),
    Endpoint("POST", "/0/private/CancelOrder", "cancel one order (cancel_order)"),
    Endpoint("POST", "/0/private/QueryOrders", "one order (fetch_order)"),
    Endpoint("POST", "/0/private/OpenOrders", "open orders (fetch_open_orders)"),
    Endpoint("POST", "/0/private/ClosedOrders", "closed orders (fetch_closed_orders)"),
    Endpoint("POST", "/0/private/BalanceEx", "balances (fetch_balance)"),
    Endpoint("POST", "/0/private/TradesHistory", "own trades (fetch_my_trades)"),
    Endpoint("POST", "/0/private/GetApiKeyInfo", "the key's permissions (permissions, ipAllowlist)"),
)

OPTIONS: Mapping[str, Any] = MappingProxyType({"defaultType": "spot"})

_KNOWN = {
    "query-funds",
    "earn-funds",
    "query-open-trades",
    "query-closed-trades",
    "modify-trades",
    "cancel-close-trades",
    "query-ledger",
    "export-data",
}


def parse_permissions(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse Kraken's ``POST /0/private/GetApiKeyInfo`` answer (whole, or its ``result``).

    Raises
    ------
    ExchangeError
        The answer has no ``permissions``.
    """
    expected = "expected Kraken API key info with 'permissions' (such as ['query-funds', 'modify-trades'])"
    payload = unwrap(raw, "Kraken", "result", expected)
    perms = {p.lower() for p in csv(require(payload, "permissions", "Kraken", expected))}
    return ApiRestrictions(
        can_read="query-funds" in perms and "query-open-trades" in perms,
        can_trade_spot="modify-trades" in perms,
        can_withdraw=any("withdraw" in p for p in perms),
        can_internal_transfer=any("transfer" in p for p in perms),
        can_universal_transfer=False,
        ip_restricted=bool(csv(payload.get("ipAllowlist"))),
        raw=redact(payload),
    )


def extra_refusals(perms: ApiRestrictions, words: KeyWords) -> list[str]:
    """Refuse deposit permissions and any permission Kraken adds later that Bastion does not know."""
    reasons = []
    for name in csv(perms.raw.get("permissions")):
        lowered = name.lower()
        if lowered not in _KNOWN and "withdraw" not in lowered and "transfer" not in lowered:
            reasons.append(
                f'The key has the "{name}" permission, which Bastion does not need and does not know: '
                f"on {words.where}, untick it."
            )
    return reasons


WORDS = KeyWords(
    where="Kraken's API settings page (https://pro.kraken.com/app/settings/api), Edit",
    withdraw='untick "Withdraw Funds"',
    internal='untick every funding permission except "Query Funds"',
    universal='untick every funding permission except "Query Funds"',
    read='tick "Query Funds" and "Query Open Orders & Trades"',
    trade='tick "Create & Modify Orders" and "Cancel & Close Orders"',
    ip='add the signer\'s IP address under "IP address restriction"',
)

REVOKE: tuple[str, ...] = (
    "Log in at https://www.kraken.com, open the profile menu > Settings > API (https://pro.kraken.com/app/settings/api).",
    "Find the key by its name and its last four characters, open its menu, choose Delete key and confirm.",
    CANCEL,
    CHECK,
    RECREATE.format(
        perms='"Query Funds", "Query Open Orders & Trades", "Query Closed Orders & Trades", "Create & Modify '
        'Orders" and "Cancel & Close Orders"',
        ip='"IP address restriction"',
    ),
)

VENUE = Venue(
    id="kraken",
    ccxt_id="kraken",
    title="Kraken",
    endpoints=ENDPOINTS,
    options=OPTIONS,
    permission_method="private_post_getapikeyinfo",
    parse_permissions=parse_permissions,
    words=WORDS,
    extra_refusals=extra_refusals,
    revoke_steps=REVOKE,
    lookup_client_id_param="clientOrderId",
    trade_paging="time",
    quirks=(
        "every private call is a POST",
        "client order ids are cl_ord_id (ccxt maps clientOrderId)",
        "ccxt's fetch_order_trades needs the order's trade ids",
        "the key's permissions come from GetApiKeyInfo, a POST like every private call",
    ),
)
