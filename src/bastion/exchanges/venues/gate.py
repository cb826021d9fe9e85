"""Gate (gate.com, formerly gate.io; ``gateio`` is accepted as an alias) spot, API v4.

Allowlist from ccxt's ``gate`` API definitions (``api['public']['spot']``:
``currency_pairs``, ``tickers``, ``order_book``, ``time``; ``api['public']['margin']``:
``currency_pairs``, a public list ccxt's spot ``fetch_markets`` reads for the margin flag;
``api['private']['spot']``: ``orders`` (POST, GET), ``orders/{order_id}`` (GET, DELETE),
``open_orders``, ``accounts``, ``my_trades``).

Key permissions: Gate's API reports none of a key's permissions (``GET /api/v4/account/detail``
gives its IP whitelist and mode only), so the signer cannot check that a Gate key cannot
withdraw and refuses it; public data (prices for the portfolio, candles) works without a key.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bastion.exchanges.venues._common import CANCEL, CHECK, RECREATE
from bastion.exchanges.venues._venue import Endpoint, Venue

__all__ = ["ENDPOINTS", "OPTIONS", "VENUE"]

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/api/v4/spot/currency_pairs", "markets (load_markets)", public=True),
    Endpoint("GET", "/api/v4/margin/currency_pairs", "the margin flag of spot markets (load_markets)", public=True),
    Endpoint("GET", "/api/v4/spot/tickers", "24h tickers (fetch_ticker, fetch_tickers)", public=True),
    Endpoint("GET", "/api/v4/spot/order_book", "order book (fetch_order_book)", public=True),
    Endpoint("GET", "/api/v4/spot/time", "server time (fetch_time)", public=True),
    Endpoint("POST", "/api/v4/spot/orders", "place an order (create_order)"),
    Endpoint("DELETE", "/api/v4/spot/orders/{order_id}", "cancel one order, by id or by t-client id (cancel_order)"),
    Endpoint("GET", "/api/v4/spot/orders/{order_id}", "one order, by id or by t-client id (fetch_order)"),
    Endpoint("GET", "/api/v4/spot/orders", "closed orders (fetch_closed_orders)"),
    Endpoint("GET", "/api/v4/spot/open_orders", "open orders (fetch_open_orders)"),
    Endpoint("GET", "/api/v4/spot/accounts", "balances (fetch_balance)"),
    Endpoint("GET", "/api/v4/spot/my_trades", "own trades (fetch_my_trades, fetch_order_trades)"),
)

#: Spot markets only; the classic spot account (no unified-account probe of account/detail).
OPTIONS: Mapping[str, Any] = MappingProxyType(
    {"fetchMarkets": {"types": ["spot"]}, "defaultType": "spot", "unifiedAccount": False}
)

REVOKE: tuple[str, ...] = (
    "Log in at https://www.gate.com, open the user menu and choose API Management (https://www.gate.com/myaccount/apiv4keys).",
    "Find the key by its last four characters, click Delete and confirm with your fund password and two-factor code.",
    CANCEL,
    CHECK,
    RECREATE.format(perms='"Spot Trade" read-write and no "Withdrawal"', ip='"IP Whitelist"'),
)


def _text(client_order_id: str) -> str:
    # Gate's custom order id is the order's "text", which must start with "t-"; ccxt adds it on create.
    return client_order_id if client_order_id.startswith("t-") else "t-" + client_order_id


VENUE = Venue(
    id="gate",
    ccxt_id="gate",
    title="Gate",
    endpoints=ENDPOINTS,
    options=OPTIONS,
    aliases=("gateio",),
    revoke_steps=REVOKE,
    client_id_as_order_id=_text,
    client_id_max_length=26,
    trade_paging="time",
    quirks=(
        "ccxt's id is gate; gateio (the old name) is accepted",
        "client order ids are the order's text, t- plus up to 26 characters; orders are found and cancelled "
        "with t-<id> in place of the order id",
        "the API does not report a key's permissions: the signer cannot check a key, so it refuses it",
    ),
)
