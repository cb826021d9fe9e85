"""The signer's HTTP allowlist: what a guarded ccxt client may call, and that nothing else leaves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from bastion.custody.signer.endpoints import allowed_endpoints, guard_client, spot_options
from bastion.errors import ConfigError, ForbiddenEndpoint

pytestmark = pytest.mark.timeout(120)

CREDENTIALS = {"apiKey": "k" * 24, "secret": "s" * 24, "password": "p" * 8}


def below_market(sim: Any, factor: float = 0.9) -> float:
    return round(float(sim.state()["symbols"]["BTCUSDT"]["close"]) * factor, 1)


# Each forbidden call: (ccxt implicit method, params, the path the guard must name).
FORBIDDEN_BINANCE: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "sapi_post_capital_withdraw_apply",
        {"coin": "USDT", "address": "x", "amount": "1"},
        "POST",
        "/sapi/v1/capital/withdraw/apply",
    ),
    (
        "sapi_post_asset_transfer",
        {"type": "MAIN_UMFUTURE", "asset": "USDT", "amount": "1"},
        "POST",
        "/sapi/v1/asset/transfer",
    ),
    (
        "sapi_post_sub_account_universaltransfer",
        {"asset": "USDT", "amount": "1"},
        "POST",
        "/sapi/v1/sub-account/universalTransfer",
    ),
    (
        "sapi_post_sub_account_transfer_subtosub",
        {"toEmail": "a@b.c", "asset": "USDT", "amount": "1"},
        "POST",
        "/sapi/v1/sub-account/transfer/subToSub",
    ),
    ("sapi_post_margin_loan", {"asset": "USDT", "amount": "1"}, "POST", "/sapi/v1/margin/loan"),
    (
        "sapi_post_margin_borrow_repay",
        {"asset": "USDT", "amount": "1", "type": "BORROW"},
        "POST",
        "/sapi/v1/margin/borrow-repay",
    ),
    (
        "sapi_post_sub_account_virtualsubaccount",
        {"subAccountString": "x"},
        "POST",
        "/sapi/v1/sub-account/virtualSubAccount",
    ),
    (
        "sapiv2_post_sub_account_subaccountapi_iprestriction",
        {"email": "a@b.c", "subAccountApiKey": "k"},
        "POST",
        "/sapi/v2/sub-account/subAccountApi/ipRestriction",
    ),
    (
        "fapiprivate_post_order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1"},
        "POST",
        "/fapi/v1/order",
    ),
    ("private_delete_openorders", {"symbol": "BTCUSDT"}, "DELETE", "/api/v3/openOrders"),
]


def _assert_refused(call: Callable[[], Any], method: str, path: str, exchange: str = "simulator") -> None:
    with pytest.raises(ForbiddenEndpoint) as err:
        call()
    assert (err.value.exchange, err.value.method, err.value.path) == (exchange, method, path)
    assert path in str(err.value)
    assert method in str(err.value)
    assert exchange in str(err.value)
    assert "signature" not in str(err.value)
    assert "timestamp" not in str(err.value)


# --- the real simulator ------------------------------------------------------------------------


def test_guarded_sync_client_trades_spot_and_refuses_money_moving_calls(simulator):
    client = guard_client(simulator.client("alice", timeout_ms=5000), "simulator")
    markets = client.load_markets()
    assert "BTC/USDT" in markets
    assert client.fetch_ticker("BTC/USDT")["last"] > 0
    assert client.fetch_order_book("BTC/USDT", 5)["bids"]
    assert client.fetch_time() > 0
    order = client.create_order("BTC/USDT", "limit", "buy", 0.001, below_market(simulator))
    assert client.fetch_order(order["id"], "BTC/USDT")["status"] == "open"
    assert [o["id"] for o in client.fetch_open_orders("BTC/USDT")] == [order["id"]]
    for method, params, verb, path in FORBIDDEN_BINANCE:
        _assert_refused(lambda m=method, p=params: getattr(client, m)(p), verb, path)
    # DELETE /api/v3/openOrders exists on the simulator: the order still being open shows nothing was sent
    assert client.fetch_order(order["id"], "BTC/USDT")["status"] == "open"
    assert client.cancel_order(order["id"], "BTC/USDT")["status"] == "canceled"
    assert client.fetch_balance()["USDT"]["total"] == 10000
    assert client.fetch_my_trades("BTC/USDT") == []
    assert client.sapi_get_account_apirestrictions()["enableWithdrawals"] is False
    assert simulator.unknown() == []


def test_guarded_async_client_trades_spot_and_refuses_money_moving_calls(simulator):
    async def main() -> None:
        client = guard_client(simulator.client("alice", asynchronous=True, timeout_ms=5000), "simulator")
        try:
            await client.load_markets()
            assert (await client.fetch_ticker("BTC/USDT"))["last"] > 0
            order = await client.create_order("BTC/USDT", "limit", "buy", 0.001, below_market(simulator))
            assert (await client.fetch_order(order["id"], "BTC/USDT"))["status"] == "open"
            assert len(await client.fetch_open_orders("BTC/USDT")) == 1
            for method, params, verb, path in FORBIDDEN_BINANCE:
                with pytest.raises(ForbiddenEndpoint) as err:
                    await getattr(client, method)(params)
                assert (err.value.method, err.value.path) == (verb, path)
            assert (await client.cancel_order(order["id"], "BTC/USDT"))["status"] == "canceled"
            assert (await client.fetch_balance())["BTC"]["total"] == 1
            assert await client.fetch_my_trades("BTC/USDT") == []
            assert (await client.sapi_get_account_apirestrictions())["enableReading"] is True
        finally:
            await client.close()

    asyncio.run(main())
    assert simulator.unknown() == []


def test_a_filled_order_shows_in_my_trades_through_the_guard(simulator):
    client = guard_client(simulator.client("alice", timeout_ms=5000), "simulator")
    client.load_markets()
    client.create_order("BTC/USDT", "market", "buy", 0.001)
    [trade] = client.fetch_my_trades("BTC/USDT")
    assert trade["side"] == "buy"
    assert simulator.unknown() == []


# --- URL and path tricks, no network -----------------------------------------------------------


class Recorder:
    """A stand-in for ccxt's own fetch: records what would have been sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def __call__(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        self.sent.append((method, url))
        return {}


def guarded_offline(exchange_id: str = "binance") -> tuple[Any, Recorder]:
    client = getattr(ccxt, exchange_id)(dict(CREDENTIALS))
    recorder = Recorder()
    client.fetch = recorder
    return guard_client(client, exchange_id), recorder


API = "https://api.binance.com"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (f"{API}/api/v3/../../sapi/v1/capital/withdraw/apply", "'.' or '..' segment"),
        (f"{API}/api/v3/order/../order", "'.' or '..' segment"),
        (f"{API}/api/v3/./order", "'.' or '..' segment"),
        (f"{API}//api/v3/order", "empty segment"),
        (f"{API}/api//v3/order", "empty segment"),
        (f"{API}/api/v3/order/", "ends with '/'"),
        (f"{API}/api/v3/%6Frder", "percent-encoded"),
        (f"{API}/api%2Fv3/order", "percent-encoded"),
        (f"{API}/api/v3/%2e%2e/order", "percent-encoded"),
        (f"{API}/api/v3/order;jsessionid=1", "characters outside"),
        (f"{API}/api/v3/order\\..\\x", "characters outside"),
        (f"{API}/api/v3/ordér", "characters outside"),
        (f"{API}/api/v3/order?a=1#frag", "fragment"),
        ("https://api.binance.com@evil.example/api/v3/order", "user information"),
        ("https://user:pw@api.binance.com/api/v3/order", "user information"),
        ("https://evil.example/api/v3/order", "not one of the client's configured API hosts"),
        ("https://api.binance.com.evil.example/api/v3/order", "not one of the client's configured API hosts"),
        ("http://api.binance.com/api/v3/order", "not one of the client's configured API hosts"),
        ("https://api.binance.com:8443/api/v3/order", "not one of the client's configured API hosts"),
        (f"{API}/api/v3/withdraw", "not on the signer's allowlist"),
        (f"{API}/API/V3/ORDER", "not on the signer's allowlist"),
    ],
)
def test_path_and_host_tricks_are_refused_before_any_io(url, why):
    client, recorder = guarded_offline()
    with pytest.raises(ForbiddenEndpoint, match="nothing was sent") as err:
        client.fetch(url + ("" if "#" in url else "?signature=deadbeefcafe&timestamp=1"), "GET")
    assert why in str(err.value)
    assert "deadbeefcafe" not in str(err.value)
    assert recorder.sent == []


@pytest.mark.parametrize("method", ["get", "PATCH", "PUT", "G ET", ""])
def test_methods_off_the_list_or_not_upper_case_are_refused(method):
    client, recorder = guarded_offline()
    with pytest.raises(ForbiddenEndpoint):
        client.fetch(f"{API}/api/v3/order", method)
    assert recorder.sent == []


def test_allowed_requests_pass_through_unchanged_and_host_case_does_not_matter():
    client, recorder = guarded_offline()
    client.fetch(f"{API}/api/v3/order?symbol=BTCUSDT&signature=abc", "POST", {"X": "1"}, "body")
    client.fetch("https://API.Binance.com:443/api/v3/depth?symbol=BTCUSDT", "GET")
    assert recorder.sent == [
        ("POST", f"{API}/api/v3/order?symbol=BTCUSDT&signature=abc"),
        ("GET", "https://API.Binance.com:443/api/v3/depth?symbol=BTCUSDT"),
    ]


def test_a_url_rewriting_proxy_is_refused():
    client, recorder = guarded_offline()
    client.proxyUrl = "https://proxy.example/?url="
    with pytest.raises(ForbiddenEndpoint, match="proxy"):
        client.fetch(f"{API}/api/v3/order", "GET")
    assert recorder.sent == []


def test_hosts_are_read_when_the_guard_is_installed():
    client, recorder = guarded_offline()
    client.urls["api"]["private"] = "https://evil.example/api/v3"
    with pytest.raises(ForbiddenEndpoint, match=r"evil\.example"):
        client.private_get_account()
    assert recorder.sent == []


def test_async_clients_get_an_async_guard():
    async def main() -> None:
        client = ccxt_async.binance(dict(CREDENTIALS))
        sent: list[str] = []

        async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            sent.append(url)
            return {"serverTime": 1}

        client.fetch = fetch
        guard_client(client, "binance")
        try:
            assert await client.fetch_time() == 1
            with pytest.raises(ForbiddenEndpoint):
                await client.sapi_post_capital_withdraw_apply({"coin": "BTC", "address": "x", "amount": "1"})
        finally:
            await client.close()
        assert [urlsplit(u).path for u in sent] == ["/api/v3/time"]

    asyncio.run(main())


def test_kucoin_order_id_placeholders_match_one_plain_segment_only():
    client, recorder = guarded_offline("kucoin")
    base = "https://api.kucoin.com"
    client.fetch(f"{base}/api/v1/hf/orders/5bd6e9286d99522a52e458de?symbol=BTC-USDT", "DELETE")
    client.fetch(f"{base}/api/v1/order/client-order/bastion-0001_a", "GET")
    for path in (
        "/api/v1/hf/orders/5bd6/../../withdrawals",
        "/api/v1/hf/orders/a.b",
        "/api/v1/hf/orders/a/b",
        "/api/v1/orders/" + "x" * 129,
    ):
        with pytest.raises(ForbiddenEndpoint):
            client.fetch(base + path, "DELETE")
    assert len(recorder.sent) == 2


# --- configuration errors ----------------------------------------------------------------------


def test_unknown_exchange_ids_name_the_supported_ones():
    with pytest.raises(ConfigError, match="supported exchange ids: binance, kucoin, okx, bybit, gate") as err:
        guard_client(ccxt.bitfinex(), "bitfinex")
    assert "'bitfinex'" in str(err.value)
    with pytest.raises(ConfigError, match="supported exchange ids"):
        allowed_endpoints("binanceus")
    with pytest.raises(ConfigError, match="supported exchange ids"):
        spot_options("huobi")


def test_a_client_of_another_exchange_is_refused():
    with pytest.raises(ConfigError, match="expected a ccxt 'okx' client"):
        guard_client(ccxt.binance(), "okx")
    with pytest.raises(ConfigError, match="expected a ccxt 'binance' client for exchange id 'simulator'"):
        guard_client(ccxt.okx(), "simulator")


def test_a_simulator_client_must_point_at_loopback():
    with pytest.raises(ConfigError, match="loopback"):
        guard_client(ccxt.binance(), "simulator")


def test_guarding_twice_is_harmless_but_changing_the_exchange_id_is_refused(simulator):
    client = guard_client(simulator.client("alice"), "simulator")
    wrapper = client.fetch
    assert guard_client(client, "simulator") is client
    assert client.fetch is wrapper
    with pytest.raises(ConfigError, match="already guarded for 'simulator'"):
        guard_client(client, "binance")


def test_the_guard_sets_the_spot_only_options():
    okx, _ = guarded_offline("okx")
    assert okx.options["createOrder"] == "privatePostTradeOrder"
    assert okx.options["fetchMarkets"]["types"] == ["spot"]
    assert okx.has["fetchCurrencies"] is False
    binance, _ = guarded_offline("binance")
    assert binance.options["fetchCurrencies"] is False
    assert binance.options["fetchMarkets"]["types"] == ["spot"]
    assert binance.options["fetchMarkets"]["loadAllOptions"] is False  # ccxt's other keys are kept
    assert spot_options("kucoin")["uta"] is False


# The lists themselves, and that ccxt's unified spot methods stay inside them, are tested per
# exchange in tests/exchanges/venues/.
