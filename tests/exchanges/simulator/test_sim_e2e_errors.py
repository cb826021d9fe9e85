"""Binance error codes and injected faults, as the real ccxt client maps them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import ccxt
import pytest

from bastion.exchanges.ccxt.factory import create_client
from bastion.exchanges.credentials import ApiCredentials
from support.simulator import SimulatorProcess, make_key, sign_query

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimulatorProcess]:
    keys = [
        make_key("alice", {"USDT": "10000", "BTC": "1"}),
        make_key("alice", {"USDT": "10000", "BTC": "1"}),  # a second key on the same account
        make_key("poor", {"USDT": "20"}),
        make_key("reader", {"USDT": "100"}, {"enableSpotAndMarginTrading": False}),
        make_key("risky", {}, {"enableWithdrawals": True, "ipRestrict": True, "createTime": 1600000000000}),
        make_key("faults", {"USDT": "10000", "BTC": "1"}),
        make_key("changing", {"USDT": "1000"}),
    ]
    with SimulatorProcess(tmp_path_factory.mktemp("sim-errors"), keys=keys) as process:
        yield process


@pytest.fixture(autouse=True)
def _clean(sim: SimulatorProcess) -> Iterator[None]:
    yield
    sim.clear_faults()


def client(sim: SimulatorProcess, account: str = "alice", **kwargs):
    exchange = sim.client(account, timeout_ms=kwargs.pop("timeout_ms", 5000), **kwargs)
    exchange.load_markets()
    return exchange


def below_market(sim: SimulatorProcess, factor: float = 0.9) -> float:
    return round(float(sim.state()["symbols"]["BTCUSDT"]["close"]) * factor, 1)


# --- authentication ------------------------------------------------------------------------


def test_wrong_secret_is_authentication_error(sim):
    key = sim.key("alice")
    exchange = create_client("simulator", url=sim.url, credentials=ApiCredentials(key["api_key"], "x" * 64))
    exchange.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        exchange.fetch_balance()


def test_wrong_secret_is_authentication_error_async(sim):
    key = sim.key("alice")

    async def main():
        exchange = create_client(
            "simulator", url=sim.url, credentials=ApiCredentials(key["api_key"], "y" * 64), asynchronous=True
        )
        try:
            await exchange.load_markets()
            with pytest.raises(ccxt.AuthenticationError, match="Signature for this request is not valid"):
                await exchange.fetch_balance()
        finally:
            await exchange.close()

    asyncio.run(main())


def test_unknown_and_malformed_keys_are_authentication_errors(sim):
    for api_key, code in (("Z" * 64, -2015), ("bad key!", -2014)):
        exchange = create_client("simulator", url=sim.url, credentials=ApiCredentials(api_key, "s" * 64))
        exchange.load_markets()
        with pytest.raises(ccxt.AuthenticationError, match=str(code)):
            exchange.fetch_balance()
        assert exchange.last_http_response
        assert json.loads(exchange.last_http_response)["code"] == code
    status, _, raw = sim.http("GET", "/api/v3/account", query=sign_query("s", {"timestamp": 1}))
    assert (status, json.loads(raw)) == (401, {"code": -2014, "msg": "API-key format invalid."})


def test_stale_timestamp_is_invalid_nonce(sim):
    exchange = client(sim)
    exchange.options["timeDifference"] = 70_000  # ccxt signs with milliseconds() - timeDifference
    with pytest.raises(ccxt.InvalidNonce, match="outside of the recvWindow"):
        exchange.fetch_balance()
    status, body = sim.signed("GET", "/api/v3/account", {"timestamp": int(time.time() * 1000) - 6000})
    assert (status, body) == (400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."})
    ok, _ = sim.signed("GET", "/api/v3/account", {"timestamp": int(time.time() * 1000) - 6000, "recvWindow": 60000})
    assert ok == 200
    status, body = sim.signed("GET", "/api/v3/account", {"timestamp": int(time.time() * 1000) + 5000})
    assert body["code"] == -1021
    assert "ahead of the server" in body["msg"]
    status, body = sim.signed("GET", "/api/v3/account", {"recvWindow": 60001})
    assert (status, body["code"]) == (400, -1131)


def test_signature_covers_raw_query_plus_body_like_binance(sim):
    key = sim.key("alice")
    headers = {"X-MBX-APIKEY": key["api_key"]}
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = f"quantity=0.00100&price={below_market(sim)}&timestamp={int(time.time() * 1000)}"
    # Binance signs totalParams = query + body with no separator
    signed_body = sign_query(key["secret"], query + body)[len(query) :]
    status, _, raw = sim.http("POST", "/api/v3/order", query=query, body=signed_body, headers=headers)
    assert status == 200, raw
    assert json.loads(raw)["status"] == "NEW"
    # the same parameters signed as if joined by '&' are refused
    wrong = sign_query(key["secret"], query + "&" + body)[len(query) + 1 :]
    status, _, raw = sim.http("POST", "/api/v3/order", query=query, body=wrong, headers=headers)
    assert (status, json.loads(raw)) == (400, {"code": -1022, "msg": "Signature for this request is not valid."})


def test_missing_signature_and_mandatory_parameters_are_minus_1102(sim):
    key = sim.key("alice")
    status, _, raw = sim.http(
        "GET", "/api/v3/account", query=f"timestamp={int(time.time() * 1000)}", headers={"X-MBX-APIKEY": key["api_key"]}
    )
    assert (status, json.loads(raw)["code"]) == (400, -1102)
    exchange = client(sim)
    with pytest.raises(ccxt.BadRequest, match="-1102"):
        exchange.privatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"})


def test_key_without_trading_permission_is_refused_for_orders_only(sim):
    exchange = client(sim, "reader")
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.001, below_market(sim))
    assert exchange.fetch_balance()["USDT"]["free"] == 100
    assert exchange.fetch_balance()["info"]["canTrade"] is False


def test_api_restrictions_report_the_configured_flags(sim):
    restrictions = client(sim, "risky").sapiGetAccountApiRestrictions()
    assert restrictions["ipRestrict"] is True
    assert restrictions["enableWithdrawals"] is True
    assert restrictions["createTime"] == 1600000000000
    assert restrictions["enableReading"] is True
    assert restrictions["enableInternalTransfer"] is False
    assert restrictions["permitsUniversalTransfer"] is False
    assert restrictions["enableMargin"] is False
    assert restrictions["enableFutures"] is False
    assert restrictions["enableVanillaOptions"] is False


def test_restrictions_change_at_runtime_through_the_admin_api(sim):
    key = sim.key("changing")["api_key"]
    exchange = client(sim, "changing")
    assert exchange.sapiGetAccountApiRestrictions()["enableWithdrawals"] is False
    answer = sim.set_restrictions(key, enableWithdrawals=True, ipRestrict=True)
    assert answer["apiKey"] == f"****{key[-4:]}"
    assert (answer["restrictions"]["enableWithdrawals"], answer["restrictions"]["ipRestrict"]) == (True, True)
    restrictions = exchange.sapiGetAccountApiRestrictions()
    assert (restrictions["enableWithdrawals"], restrictions["ipRestrict"]) == (True, True)
    assert restrictions["enableReading"] is True  # fields not given keep their value
    assert exchange.fetch_balance()["info"]["canWithdraw"] is True
    sim.set_restrictions(key, enableSpotAndMarginTrading=False)
    # ccxt reports -2015 after an earlier success as DDoSProtection, before it as AuthenticationError
    with pytest.raises((ccxt.AuthenticationError, ccxt.DDoSProtection), match="-2015"):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.001, below_market(sim))
    sim.set_restrictions(key, enableWithdrawals=False, ipRestrict=False, enableSpotAndMarginTrading=True)
    assert exchange.sapiGetAccountApiRestrictions()["enableWithdrawals"] is False
    assert sim.key("changing")["restrictions"]["enableWithdrawals"] is False


def test_bad_restriction_changes_are_refused_with_what_was_expected(sim):
    from support.simulator import SimulatorAdminError

    key = sim.key("changing")["api_key"]
    with pytest.raises(SimulatorAdminError, match="unknown restriction 'enableTeleport'; expected one of") as err:
        sim.set_restrictions(key, enableTeleport=True)
    assert err.value.status == 400
    with pytest.raises(SimulatorAdminError, match="restriction enableWithdrawals must be true or false, got 'yes'"):
        sim.set_restrictions(key, enableWithdrawals="yes")
    with pytest.raises(SimulatorAdminError, match="non-empty object"):
        sim.set_restrictions(key)
    unknown = "Q" * 60 + "WXYZ"
    with pytest.raises(SimulatorAdminError, match=r"unknown api_key \*\*\*\*WXYZ") as err:
        sim.set_restrictions(unknown, enableWithdrawals=True)
    assert err.value.status == 404
    assert "Q" * 60 not in err.value.body
    status, _, raw = sim.http("POST", "/_sim/keys/restrictions", body=b"{not json")
    assert status == 400
    assert b"expected a JSON body such as" in raw
    status, _, raw = sim.http("POST", "/_sim/keys/restrictions", body=json.dumps({"api_key": key}))
    assert status == 400
    assert b'exactly \\"api_key\\" and \\"restrictions\\"' in raw
    assert key.encode() not in raw
    assert client(sim, "changing").sapiGetAccountApiRestrictions()["enableWithdrawals"] is False


def test_two_keys_of_one_account_share_balances_and_orders(sim):
    first = client(sim)
    second_key = [k for k in sim.keys if k["account"] == "alice"][1]
    credentials = ApiCredentials(second_key["api_key"], second_key["secret"])
    second = create_client("simulator", url=sim.url, credentials=credentials)
    second.load_markets()
    order = first.create_order("BTC/USDT", "limit", "buy", 0.001, below_market(sim))
    assert second.fetch_order(order["id"], "BTC/USDT")["status"] == "open"
    assert second.fetch_balance()["USDT"]["used"] == first.fetch_balance()["USDT"]["used"] > 0
    second.cancel_order(order["id"], "BTC/USDT")
    [entry] = [o for o in sim.orders("alice") if str(o["orderId"]) == order["id"]]
    assert entry["apiKey"] == "****" + sim.key("alice")["api_key"][-4:]


# --- order refusals ------------------------------------------------------------------------


def test_duplicate_client_order_id_is_invalid_order(sim):
    exchange = client(sim)
    price = below_market(sim)
    exchange.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": "dup-1"})
    with pytest.raises(ccxt.InvalidOrder, match=r"Duplicate order sent\."):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": "dup-1"})
    exchange.cancel_order(None, "BTC/USDT", {"clientOrderId": "dup-1"})
    exchange.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": "dup-1"})
    exchange.cancel_order(None, "BTC/USDT", {"clientOrderId": "dup-1"})


def test_insufficient_balance_is_insufficient_funds(sim):
    exchange = client(sim, "poor")
    with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance"):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.01, below_market(sim))
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.create_order("BTC/USDT", "market", "sell", 0.001)


def test_filter_failures_are_invalid_order(sim):
    exchange = client(sim)
    price = below_market(sim)
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        exchange.privatePostOrder(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.001",
                "price": f"{price}5",
            }
        )
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        exchange.privatePostOrder(
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.000015",
                "price": str(price),
            }
        )
    # Binance's NOTIONAL failure is -1013, which ccxt maps to BadRequest (not InvalidOrder)
    with pytest.raises(ccxt.BadRequest, match="Filter failure: NOTIONAL"):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.0001, price)


def test_unknown_order_is_order_not_found(sim):
    exchange = client(sim)
    with pytest.raises(ccxt.OrderNotFound, match=r"Order does not exist\."):
        exchange.fetch_order("987654321", "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound, match=r"Unknown order sent\."):
        exchange.cancel_order("987654321", "BTC/USDT")


def test_unlisted_symbol_is_bad_symbol(sim):
    exchange = client(sim)
    with pytest.raises(ccxt.BadSymbol, match=r"Invalid symbol\."):
        exchange.privateGetOrder({"symbol": "DOGEUSDT", "orderId": 1})
    with pytest.raises(ccxt.BadSymbol):
        exchange.publicGetTicker24hr({"symbol": "DOGEUSDT"})


# --- faults --------------------------------------------------------------------------------


def test_429_fault_is_ddos_protection_with_retry_after(sim):
    exchange = client(sim, "faults")
    sim.fault("429", count=1, path="/api/v3/ticker", retry_after=7)
    with pytest.raises((ccxt.DDoSProtection, ccxt.RateLimitExceeded)):
        exchange.fetch_ticker("BTC/USDT")
    assert exchange.last_response_headers["Retry-After"] == "7"
    assert json.loads(exchange.last_http_response)["code"] == -1003
    assert exchange.fetch_ticker("BTC/USDT")["last"] > 0  # only one request was faulted


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, ccxt.OperationFailed), (503, ccxt.ExchangeError), (504, ccxt.RequestTimeout)],
)
def test_5xx_fault_answers_binance_bodies(sim, status, error):
    exchange = client(sim, "faults")
    sim.fault("5xx", status=status, method="GET", path="/api/v3/account")
    with pytest.raises(error):
        exchange.fetch_balance()
    assert json.loads(exchange.last_http_response)["code"] in (-1001, -1007, -1008)


def test_timeout_fault_holds_the_answer_beyond_the_client_timeout(sim):
    exchange = client(sim, "faults", timeout_ms=500)
    sim.fault("timeout", seconds=2, path="/api/v3/order", method="POST")
    with pytest.raises(ccxt.RequestTimeout):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.001, below_market(sim), {"clientOrderId": "slow-1"})
    # the request was processed: the order exists although the client never heard back
    order = exchange.fetch_order(None, "BTC/USDT", {"clientOrderId": "slow-1"})
    assert order["status"] == "open"
    exchange.cancel_order(order["id"], "BTC/USDT")


def test_drop_after_accept_is_a_network_error_but_the_order_exists(sim):
    exchange = client(sim, "faults")
    sim.fault("drop_after_accept", path="/api/v3/order", method="POST")
    with pytest.raises(ccxt.NetworkError):
        exchange.create_order("BTC/USDT", "limit", "buy", 0.001, below_market(sim), {"clientOrderId": "dropped-1"})
    [order] = [o for o in sim.orders("faults") if o["clientOrderId"] == "dropped-1"]
    assert order["status"] == "NEW"
    exchange.cancel_order(None, "BTC/USDT", {"clientOrderId": "dropped-1"})


def test_partial_fill_fault_fills_a_fraction_now_and_rests_the_rest(sim):
    exchange = client(sim, "faults")
    sim.fault("partial_fill", fraction=0.4)
    order = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, below_market(sim))
    assert (order["status"], order["filled"], order["remaining"]) == ("open", 0.004, 0.006)
    assert order["info"]["status"] == "PARTIALLY_FILLED"
    exchange.cancel_order(order["id"], "BTC/USDT")
    second = exchange.create_order("BTC/USDT", "limit", "buy", 0.01, below_market(sim))
    assert second["filled"] == 0  # the fault was for one order
    exchange.cancel_order(second["id"], "BTC/USDT")


def test_unknown_paths_answer_404_and_are_recorded(sim):
    status, _, raw = sim.http("GET", "/api/v3/nonexistent", query="x=1")
    assert status == 404
    assert b"404 Not Found" in raw
    assert sim.unknown()[-1]["path"] == "/api/v3/nonexistent"
    sim.admin("DELETE", "unknown")
    assert sim.unknown() == []


def test_bad_fault_specs_are_refused_with_what_was_expected(sim):
    from support.simulator import SimulatorAdminError

    with pytest.raises(SimulatorAdminError, match="kind must be one of") as err:
        sim.fault("explode")
    assert err.value.status == 400
    with pytest.raises(SimulatorAdminError, match="fraction must be within"):
        sim.fault("partial_fill", fraction=2)
    with pytest.raises(SimulatorAdminError, match="unknown account 'nobody'"):
        sim.orders("nobody")
