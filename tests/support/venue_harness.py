"""What every exchange module's allowlist test checks, with ccxt clients whose network is cut off.

A *canned* client is the real ccxt class of the venue, guarded by the signer's allowlist, whose
``fetch`` records each request and answers the few the method needs before the one under test
(the market list, an account-mode probe) from a table, and stops with :class:`Stop` at the
first other request. So a test sees exactly the (method, path) pairs ccxt's unified method would
send, after the guard let them through; a path off the list raises ForbiddenEndpoint instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import ccxt
import pytest

from bastion.custody.signer.endpoints import guard_client
from bastion.errors import ForbiddenEndpoint
from bastion.exchanges.venues import Venue

__all__ = [
    "CREDENTIALS",
    "DANGEROUS_WORDS",
    "UNIFIED",
    "Stop",
    "assert_no_money_moving_path",
    "assert_refused",
    "canned_client",
    "run_unified",
    "with_btc_usdt",
]

CREDENTIALS = {"apiKey": "k" * 24, "secret": "c2VjcmV0c2VjcmV0c2VjcmV0", "password": "p" * 8}

DANGEROUS_WORDS = (
    "withdraw",
    "transfer",
    "sub-account",
    "subaccount",
    "sub/",
    "margin",
    "loan",
    "borrow",
    "lend",
    "futures",
    "fapi",
    "dapi",
    "papi",
    "eapi",
    "deposit",
    "convert",
    "leverage",
    "position",
    "create-api",
    "update-api",
    "delete-api",
    "apikey/",
    "asset/",
    "capital",
    "broker/",
    "p2p",
    "pay",
    "earn",
    "staking",
    "wallet/",
    "ledger",
)
# Words that hold a dangerous word but are not one (Coinbase's whole API is under /brokerage/).
_HARMLESS = ("brokerage",)
# Public market-data reads may name margin (Gate's spot market list reads the public margin pairs).
_PUBLIC_OK = ("margin",)


class Stop(Exception):
    """Raised by the canned fetch at the first request it has no answer for."""


def canned_client(venue: Venue, answers: Mapping[str, Any] | None = None) -> tuple[Any, list[tuple[str, str]]]:
    """Return a guarded ccxt client of ``venue`` with canned answers, and the list of requests it sends."""
    client = getattr(ccxt, venue.ccxt_id)({**CREDENTIALS, "enableRateLimit": False})
    sent: list[tuple[str, str]] = []
    table = dict(answers or {})

    def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        path = urlsplit(url).path
        sent.append((method, path))
        if path in table:
            return table[path]
        raise Stop

    client.fetch = fetch
    if venue.simulator:
        client.urls["api"] = _loopback(client.urls["api"])
    guard_client(client, venue.id)
    return client, sent


def _loopback(api: Any) -> Any:
    if isinstance(api, str):
        return "http://127.0.0.1:9" + urlsplit(api).path
    if isinstance(api, dict):
        return {k: _loopback(v) for k, v in api.items()}
    return api


def with_btc_usdt(client: Any, market_id: str) -> Any:
    """Give the client one BTC/USDT spot market with exchange id ``market_id`` (no request)."""
    client.set_markets(
        [
            {
                "id": market_id,
                "symbol": "BTC/USDT",
                "base": "BTC",
                "quote": "USDT",
                "baseId": "BTC",
                "quoteId": "USDT",
                "type": "spot",
                "spot": True,
                "margin": False,
                "swap": False,
                "future": False,
                "option": False,
                "contract": False,
                "linear": None,
                "inverse": None,
                "active": True,
                "created": None,
                "precision": {"amount": 0.0001, "price": 0.01},
                "limits": {"amount": {}, "price": {}, "cost": {}},
                "info": {"orderTypes": ["LIMIT", "MARKET"]},
                "altname": "XBTUSDT",
                "wsname": "XBT/USDT",
            }
        ]
    )
    return client


#: The unified spot methods Bastion calls (adapter, signer, leak scan): (name, call(client, venue, market id)).
UNIFIED: list[tuple[str, Callable[[Any, Venue, str], Any]]] = [
    ("load_markets", lambda c, v, m: c.load_markets()),
    ("fetch_ticker", lambda c, v, m: with_btc_usdt(c, m).fetch_ticker("BTC/USDT")),
    ("fetch_order_book", lambda c, v, m: with_btc_usdt(c, m).fetch_order_book("BTC/USDT", 20)),
    ("fetch_time", lambda c, v, m: c.fetch_time()),
    (
        "create_limit_order",
        lambda c, v, m: with_btc_usdt(c, m).create_order(
            "BTC/USDT", "limit", "buy", 0.001, 20000, {"clientOrderId": "b1"}
        ),
    ),
    (
        "create_ioc_order",
        lambda c, v, m: with_btc_usdt(c, m).create_order(
            "BTC/USDT", "limit", "buy", 0.001, 20000, {"clientOrderId": "b1", "timeInForce": "IOC"}
        ),
    ),
    ("cancel_order", lambda c, v, m: with_btc_usdt(c, m).cancel_order("1", "BTC/USDT")),
    ("cancel_by_client_id", lambda c, v, m: _by_client_id(c, v, m, "cancel_order")),
    ("fetch_order", lambda c, v, m: with_btc_usdt(c, m).fetch_order("1", "BTC/USDT", {"acknowledged": True})),
    ("fetch_order_by_client_id", lambda c, v, m: _by_client_id(c, v, m, "fetch_order")),
    ("fetch_open_orders", lambda c, v, m: with_btc_usdt(c, m).fetch_open_orders("BTC/USDT")),
    ("fetch_all_open_orders", lambda c, v, m: with_btc_usdt(c, m).fetch_open_orders()),
    ("fetch_closed_orders", lambda c, v, m: with_btc_usdt(c, m).fetch_closed_orders("BTC/USDT")),
    ("fetch_balance", lambda c, v, m: with_btc_usdt(c, m).fetch_balance()),
    ("fetch_my_trades", lambda c, v, m: with_btc_usdt(c, m).fetch_my_trades("BTC/USDT")),
    ("fetch_my_trades_since", lambda c, v, m: with_btc_usdt(c, m).fetch_my_trades("BTC/USDT", 1_700_000_000_000, 50)),
    ("fetch_order_trades", lambda c, v, m: with_btc_usdt(c, m).fetch_order_trades("1", "BTC/USDT")),
    ("fetch_permissions", lambda c, v, m: getattr(c, v.permission_method)() if v.permission_method else None),
]


def _by_client_id(client: Any, venue: Venue, market_id: str, name: str) -> Any:
    if venue.lookup_client_id_param is None and venue.client_id_as_order_id is None:
        pytest.skip(f"{venue.title} cannot look orders up by client order id")
    order_id, params = venue.lookup("b1")
    if name == "fetch_order":
        params = {**venue.fetch_order_params, **params}
    return getattr(with_btc_usdt(client, market_id), name)(order_id, "BTC/USDT", params)


def run_unified(
    venue: Venue, name: str, call: Callable[[Any, Venue, str], Any], market_id: str, answers: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Run one unified method on a canned client; return what it sent (skip what ccxt does not offer).

    ForbiddenEndpoint (the guard refusing a path ccxt sends) propagates and fails the test.
    """
    client, sent = canned_client(venue, answers)
    try:
        call(client, venue, market_id)
    except Stop:
        pass
    except ccxt.NotSupported:
        pytest.skip(f"ccxt {venue.ccxt_id} has no {name}")
    except ccxt.BaseError as exc:  # ccxt refusing its own arguments before sending: not the guard's business
        if sent:
            raise
        pytest.skip(f"ccxt {venue.ccxt_id}.{name} refused the test's arguments: {exc}")
    if name == "fetch_permissions" and venue.permission_method is None:
        assert sent == []
        return sent
    assert sent, f"{venue.id}.{name} sent nothing"
    return sent


def assert_refused(call: Callable[[], Any], exchange: str, method: str, path: str) -> None:
    """``call`` raises ForbiddenEndpoint naming ``method path`` on ``exchange``, and no signature."""
    with pytest.raises(ForbiddenEndpoint) as err:
        call()
    assert (err.value.exchange, err.value.method, err.value.path) == (exchange, method, path)
    assert path in str(err.value)
    assert "signature" not in str(err.value)


def assert_no_money_moving_path(venue: Venue, *, private_posts_are_reads: frozenset[str] = frozenset()) -> None:
    """No endpoint of ``venue`` withdraws, transfers, borrows, manages keys or trades derivatives.

    Writes (POST/DELETE) must place or cancel orders, except the POST paths in
    ``private_posts_are_reads`` (Kraken reads through POST).
    """
    assert venue.endpoints
    for endpoint in venue.endpoints:
        lowered = endpoint.path.lower()
        for harmless in _HARMLESS:
            lowered = lowered.replace(harmless, "")
        words = [w for w in DANGEROUS_WORDS if w in lowered]
        if endpoint.public:
            assert endpoint.method == "GET", endpoint
            words = [w for w in words if w not in _PUBLIC_OK]
        assert not words, (endpoint, words)
        assert endpoint.method in ("GET", "POST", "DELETE")
        if endpoint.method != "GET" and endpoint.path not in private_posts_are_reads:
            assert any(w in lowered for w in ("order", "cancel")), endpoint
        if any(w in lowered for w in ("api-key", "query-api", "apirestrictions", "config", "key_permissions")):
            assert endpoint.method == "GET", endpoint
