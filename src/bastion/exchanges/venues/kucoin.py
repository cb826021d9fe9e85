"""KuCoin spot (classic and high-frequency accounts).

Allowlist from ccxt's ``kucoin`` API definitions (``api['public']['get']``: ``symbols`` (v2),
``market/allTickers``, ``market/stats``, ``market/orderbook/level2_20|100``, ``timestamp``;
``api['private']``: ``hf/accounts/opened``, ``orders``, ``hf/orders``, ``orders/{orderId}``,
``hf/orders/{orderId}``, ``order/client-order/{clientOid}``,
``hf/orders/client-order/{clientOid}``, ``hf/orders/active``, ``hf/orders/done``,
``accounts``, ``fills``, ``hf/fills``, ``user/api-key``). ccxt uses the hf endpoints when the
account has an hf trading account (``GET /api/v1/hf/accounts/opened``), the classic ones
otherwise; both are listed.

Key permissions: ``GET /api/v1/user/api-key`` ("Get API Key Info"): ``data.permission``,
comma-separated (``General``, ``Spot``, ``Margin``, ``Futures``, ``Earn``, ``Withdrawal``,
``InnerTransfer``, ``FlexTransfers``; older keys ``Trade``, ``Transfer``); ``data.ipWhitelist``,
comma-separated, empty when none
(https://www.kucoin.com/docs-new/rest/account-info/account-funding/get-apikey-info).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from bastion.exchanges.port import ApiRestrictions
from bastion.exchanges.venues._common import CANCEL, CHECK, RECREATE, csv, redact, require, unwrap
from bastion.exchanges.venues._venue import Endpoint, KeyWords, Venue

__all__ = ["ENDPOINTS", "OPTIONS", "VENUE", "markets_without_margin", "parse_permissions"]

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v2/symbols", "markets (load_markets)", public=True),
    Endpoint(
        "GET", "/api/v1/market/allTickers", "24h tickers, fee rates (load_markets, fetch_tickers)", public=True
    ),
    Endpoint("GET", "/api/v1/market/stats", "24h ticker with best bid/ask (fetch_ticker)", public=True),
    Endpoint("GET", "/api/v1/market/orderbook/level2_20", "order book, 20 levels (fetch_order_book)", public=True),
    Endpoint("GET", "/api/v1/market/orderbook/level2_100", "order book, 100 levels (fetch_order_book)", public=True),
    Endpoint("GET", "/api/v1/timestamp", "server time (fetch_time)", public=True),
    Endpoint("GET", "/api/v1/hf/accounts/opened", "whether the account trades through hf endpoints (load_markets)"),
    Endpoint("POST", "/api/v1/hf/orders", "place an order, hf (create_order)"),
    Endpoint("POST", "/api/v1/orders", "place an order, classic (create_order)"),
    Endpoint("DELETE", "/api/v1/hf/orders/{orderId}", "cancel one order, hf (cancel_order)"),
    Endpoint("DELETE", "/api/v1/hf/orders/client-order/{clientOid}", "cancel one order by client id, hf"),
    Endpoint("DELETE", "/api/v1/orders/{orderId}", "cancel one order, classic (cancel_order)"),
    Endpoint("DELETE", "/api/v1/order/client-order/{clientOid}", "cancel one order by client id, classic"),
    Endpoint("GET", "/api/v1/hf/orders/{orderId}", "one order, hf (fetch_order)"),
    Endpoint("GET", "/api/v1/hf/orders/client-order/{clientOid}", "one order by client id, hf"),
    Endpoint("GET", "/api/v1/orders/{orderId}", "one order, classic (fetch_order)"),
    Endpoint("GET", "/api/v1/order/client-order/{clientOid}", "one order by client id, classic"),
    Endpoint("GET", "/api/v1/hf/orders/active", "open orders, hf (fetch_open_orders)"),
    Endpoint("GET", "/api/v1/hf/orders/done", "closed orders, hf (fetch_closed_orders)"),
    Endpoint("GET", "/api/v1/orders", "open and closed orders, classic"),
    Endpoint("GET", "/api/v1/accounts", "balances (fetch_balance)"),
    Endpoint("GET", "/api/v1/hf/fills", "own trades, hf (fetch_my_trades)"),
    Endpoint("GET", "/api/v1/fills", "own trades, classic (fetch_my_trades)"),
    Endpoint("GET", "/api/v1/user/api-key", "the key's permissions (permission, ipWhitelist)"),
)

#: Spot markets only; the classic (not unified) account, so no unified-account probe.
OPTIONS: Mapping[str, Any] = MappingProxyType(
    {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot", "uta": False}
)

_WITHDRAW = {"withdrawal", "withdraw", "transfer"}  # "Transfer" is the pre-2023 name of withdrawal
_INTERNAL = {"innertransfer"}
_UNIVERSAL = {"flextransfers", "flextransfer"}
_KNOWN = {"general", "spot", "trade", "margin", "futures", "earn", "leadtradefutures"}


def parse_permissions(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse KuCoin's ``GET /api/v1/user/api-key`` answer (whole, or its ``data``).

    Raises
    ------
    ExchangeError
        The answer has no ``permission``.
    """
    expected = "expected KuCoin API key info with 'permission' (such as 'General,Spot') and 'ipWhitelist'"
    payload = unwrap(raw, "KuCoin", "data", expected)
    perms = {p.lower() for p in csv(require(payload, "permission", "KuCoin", expected))}
    return ApiRestrictions(
        can_read="general" in perms,
        can_trade_spot=bool(perms & {"spot", "trade"}),
        can_withdraw=bool(perms & _WITHDRAW),
        can_internal_transfer=bool(perms & _INTERNAL),
        can_universal_transfer=bool(perms & _UNIVERSAL),
        ip_restricted=bool(csv(payload.get("ipWhitelist"))),
        raw=redact(payload),
    )


def extra_refusals(perms: ApiRestrictions, words: KeyWords) -> list[str]:
    """Refuse any permission KuCoin adds later whose name says it moves money."""
    reasons = []
    mapped = _KNOWN | _WITHDRAW | _INTERNAL | _UNIVERSAL
    for name in csv(perms.raw.get("permission")):
        lowered = name.lower()
        if lowered not in mapped and ("transfer" in lowered or "withdraw" in lowered):
            reasons.append(
                f'The key has the "{name}" permission, which can move money off the account: '
                f'on {words.where}, untick "{name}".'
            )
    return reasons


def markets_without_margin(client: Any) -> None:
    """Make ``fetch_markets`` skip KuCoin's private margin symbol lists.

    ccxt's kucoin.fetch_markets reads cross and isolated margin symbols (private margin
    endpoints) unless it gets ``params={'marginables': False}``; load_markets passes its params on.
    """
    original: Callable[..., Any] = client.fetch_markets
    if inspect.iscoroutinefunction(original):

        async def fetch_markets_async(params: dict[str, Any] | None = None) -> Any:
            return await original({"marginables": False, **(params or {})})

        client.fetch_markets = fetch_markets_async
    else:

        def fetch_markets(params: dict[str, Any] | None = None) -> Any:
            return original({"marginables": False, **(params or {})})

        client.fetch_markets = fetch_markets


WORDS = KeyWords(
    where="KuCoin's API Management page (avatar > API Management, https://www.kucoin.com/account/api), Edit",
    withdraw='untick the "Withdrawal" permission (older keys: "Transfer")',
    internal='untick the inner transfer permission (the API reports it as "InnerTransfer")',
    universal='untick the "FlexTransfers" permission',
    read='tick the "General" permission',
    trade='tick the "Spot" trading permission',
    ip='enable "IP Restriction" and add the signer\'s IP address',
)

REVOKE: tuple[str, ...] = (
    "Log in at https://www.kucoin.com, click the avatar and choose API Management (https://www.kucoin.com/account/api).",
    "Find the key by its name and its last four characters, click Delete and complete the security "
    "verification (trading password, email and Google codes).",
    CANCEL,
    CHECK,
    RECREATE.format(perms='the "General" and "Spot" permissions', ip='"IP Restriction"'),
)

VENUE = Venue(
    id="kucoin",
    ccxt_id="kucoin",
    title="KuCoin",
    endpoints=ENDPOINTS,
    options=OPTIONS,
    permission_method="private_get_user_api_key",
    parse_permissions=parse_permissions,
    words=WORDS,
    extra_refusals=extra_refusals,
    revoke_steps=REVOKE,
    lookup_client_id_param="clientOid",
    client_id_max_length=40,
    client_id_escapes=MappingProxyType({".": "d"}),
    trade_paging="time",
    quirks=(
        "keys have a third part, the passphrase (key version 2: sent HMAC-signed)",
        "create and cancel answer only the order id; the order is read back",
        "an IOC order's unfilled rest is reported cancelled, not expired",
        "own trades page by time (startAt), newest first; fills have no fromId",
        "order books come in 20 or 100 levels only",
        "clientOid takes letters, digits, '-' and '_' only: a '.' of ours is sent as '_d', '_' as '__'",
    ),
    patch_client=markets_without_margin,
)
