"""Bybit spot (v5 API).

Allowlist from ccxt's ``bybit`` API definitions (``api['public']['get']``:
``v5/market/instruments-info``, ``v5/market/tickers``, ``v5/market/orderbook``,
``v5/market/time``; ``api['private']``: ``v5/order/create``, ``v5/order/cancel``,
``v5/order/realtime``, ``v5/order/history``, ``v5/execution/list``,
``v5/account/wallet-balance``, ``v5/account/info``, ``v5/user/query-api``).

Key permissions: ``GET /v5/user/query-api``: ``result.readOnly`` (0 read-write, 1 read only),
``result.permissions`` (``Spot: ["SpotTrade"]``, ``Wallet: ["AccountTransfer",
"SubMemberTransfer", "SubMemberTransferList", "Withdraw"]``, ``FiatP2P``, ``FiatBybitPay``, ...),
``result.ips`` (``["*"]`` when the key is not bound to an IP)
(https://bybit-exchange.github.io/docs/v5/user/apikey-info).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bastion.errors import ExchangeError
from bastion.exchanges.port import ApiRestrictions
from bastion.exchanges.venues._common import CANCEL, CHECK, RECREATE, csv, redact, require, unwrap
from bastion.exchanges.venues._venue import Endpoint, KeyWords, Venue

__all__ = ["ENDPOINTS", "OPTIONS", "VENUE", "parse_permissions"]

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/v5/market/instruments-info", "markets (load_markets, category=spot)", public=True),
    Endpoint("GET", "/v5/market/tickers", "24h ticker with best bid/ask (fetch_ticker, fetch_bids_asks)", public=True),
    Endpoint("GET", "/v5/market/orderbook", "order book (fetch_order_book)", public=True),
    Endpoint("GET", "/v5/market/time", "server time (fetch_time)", public=True),
    Endpoint("POST", "/v5/order/create", "place an order (create_order)"),
    Endpoint("POST", "/v5/order/cancel", "cancel one order (cancel_order)"),
    Endpoint("GET", "/v5/order/realtime", "open orders and one recent order (fetch_open_orders, fetch_order)"),
    Endpoint("GET", "/v5/order/history", "closed orders (fetch_closed_orders)"),
    Endpoint("GET", "/v5/execution/list", "own trades (fetch_my_trades)"),
    Endpoint("GET", "/v5/account/wallet-balance", "balances (fetch_balance)"),
    Endpoint("GET", "/v5/account/info", "account mode; ccxt reads it before orders and balances"),
    Endpoint("GET", "/v5/user/query-api", "the key's permissions; ccxt also reads it before orders and balances"),
)

OPTIONS: Mapping[str, Any] = MappingProxyType({"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot"})

# Further Bybit permission groups that move money off the account, with their UI names.
_MONEY_OUT = {"FiatP2P": "P2P (FiatP2P)", "FiatBybitPay": "Bybit Pay (FiatBybitPay)"}


def _groups(payload: Mapping[str, Any]) -> dict[str, list[str]]:
    permissions = payload.get("permissions") or {}
    if not isinstance(permissions, Mapping):
        raise ExchangeError(
            f"Bybit answered 'permissions' as {type(permissions).__name__}; expected an object of lists"
        )
    return {str(group): csv(items) for group, items in permissions.items()}


def parse_permissions(raw: Mapping[str, Any]) -> ApiRestrictions:
    """Parse Bybit's ``GET /v5/user/query-api`` answer (whole, or its ``result``).

    ``Wallet: Withdraw`` is withdrawal, ``Wallet: SubMemberTransfer``/``SubMemberTransferList``
    internal (master/sub) transfer, ``Wallet: AccountTransfer`` transfer between the account's
    own wallets (reported as universal transfer, as Binance names it). ``ips == ["*"]`` means
    the key is not bound to an IP.

    Raises
    ------
    ExchangeError
        The answer has no ``readOnly``, ``permissions`` or ``ips``.
    """
    expected = "expected Bybit API key info with 'readOnly', 'permissions' and 'ips'"
    payload = unwrap(raw, "Bybit", "result", expected)
    for name in ("readOnly", "permissions"):
        require(payload, name, "Bybit", expected)
    permissions = _groups(payload)
    wallet = set(permissions.get("Wallet", []))
    ips = [ip for ip in csv(require(payload, "ips", "Bybit", expected)) if ip != "*"]
    read_write = str(payload.get("readOnly")).strip() == "0"
    return ApiRestrictions(
        can_read=True,  # every Bybit key can read; readOnly=1 only takes writing away
        can_trade_spot=read_write and "SpotTrade" in permissions.get("Spot", []),
        can_withdraw="Withdraw" in wallet,
        can_internal_transfer=bool(wallet & {"SubMemberTransfer", "SubMemberTransferList"}),
        can_universal_transfer="AccountTransfer" in wallet,
        ip_restricted=bool(ips),
        raw=redact(payload),
    )


def extra_refusals(perms: ApiRestrictions, words: KeyWords) -> list[str]:
    """Refuse P2P and Bybit Pay, which pay money out of the account."""
    listed = perms.raw.get("permissions")
    groups = listed if isinstance(listed, Mapping) else {}
    return [
        f"The key has the {label} permission, which can pay money out of the account: "
        f"on {words.where}, untick {label.split(' (')[0]}."
        for group, label in _MONEY_OUT.items()
        if csv(groups.get(group))
    ]


WORDS = KeyWords(
    where="Bybit's API Management page (https://www.bybit.com/app/user/api-management), Edit",
    withdraw='untick "Wallet > Withdrawal"',
    internal='untick "Wallet > Subaccount Transfer"',
    universal='untick "Wallet > Account Transfer"',
    read="make sure the key is active (every Bybit key can read)",
    trade='choose "Read-Write" and tick the SPOT trade permission (the API reports it as Spot: SpotTrade)',
    ip='choose "Only IPs with permissions granted are allowed to access the OpenAPI" and add the signer\'s IP',
)

REVOKE: tuple[str, ...] = (
    "Log in on the Bybit website (keys cannot be deleted in the app) and open your username > Account & "
    "Security > API Management (https://www.bybit.com/app/user/api-management).",
    "Find the key by its last four characters, click Delete in the Action column and Confirm.",
    CANCEL,
    CHECK,
    RECREATE.format(
        perms='"Read-Write" and the SPOT trade permission',
        ip='"Only IPs with permissions granted are allowed to access the OpenAPI"',
    ),
)

VENUE = Venue(
    id="bybit",
    ccxt_id="bybit",
    title="Bybit",
    endpoints=ENDPOINTS,
    options=OPTIONS,
    permission_method="private_get_v5_user_query_api",
    parse_permissions=parse_permissions,
    words=WORDS,
    extra_refusals=extra_refusals,
    revoke_steps=REVOKE,
    lookup_client_id_param="orderLinkId",
    # ccxt's bybit.fetch_order refuses to run without it: it reads only the last 500 orders.
    fetch_order_params=MappingProxyType({"acknowledged": True}),
    client_id_escapes=MappingProxyType({".": "d"}),
    trade_paging="time",
    quirks=(
        "ccxt reads the account mode (v5/account/info, v5/user/query-api) before orders and balances",
        "client order ids are orderLinkId, up to 36 letters, digits, '-' and '_': '.' is sent as '_d', '_' as '__'",
        "fetch_order sees only the account's last 500 orders (ccxt asks for acknowledged=True)",
    ),
)
