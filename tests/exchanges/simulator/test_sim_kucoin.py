"""The KuCoin front in memory: header signatures and passphrases, envelope, error codes, shapes."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from typing import Any

import pytest

from bastion.domain import TIMEFRAMES_MS
from bastion.errors import ConfigError
from bastion.exchanges.simulator.candles import bucket_start
from bastion.exchanges.simulator.config import SimulatorConfig
from bastion.exchanges.simulator.keys import generate_entry, parse_keys
from bastion.exchanges.simulator.kucoin.api import KucoinApi
from bastion.exchanges.simulator.kucoin.auth import KucoinKeyRing, passphrase_header, signature
from bastion.exchanges.simulator.kucoin.front import KucoinFront
from bastion.exchanges.simulator.kucoin.render import decode_order_id
from bastion.exchanges.simulator.matching import FeeSchedule
from bastion.exchanges.simulator.venue import Venue

from .conftest import T0, flat_candles, rules

D = Decimal
KEY = "K" * 64
SECRET = "S" * 64
PASSPHRASE = "correct horse"
READER = "R" * 64


class Clock:
    """A wall clock that stays where the test puts it."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


class Client:
    """Signs requests exactly as a KuCoin client does and sends them to the front in memory."""

    def __init__(self, front: KucoinFront, clock: Clock) -> None:
        self.front = front
        self.clock = clock

    def headers(
        self,
        method: str,
        endpoint: str,
        body: bytes = b"",
        *,
        key: str = KEY,
        secret: str = SECRET,
        passphrase: str = PASSPHRASE,
        timestamp: int | None = None,
        version: str = "2",
    ) -> dict[str, str]:
        ts = str(self.clock.now if timestamp is None else timestamp)
        return {
            "KC-API-KEY": key,
            "KC-API-SIGN": signature(secret, ts, method, endpoint, body),
            "KC-API-TIMESTAMP": ts,
            "KC-API-PASSPHRASE": passphrase_header(secret, passphrase),
            "KC-API-KEY-VERSION": version,
        }

    def send(
        self, method: str, path: str, query: str = "", body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        raw = json.dumps(body).encode() if body is not None else b""
        matched = self.front.match(method, path)
        if matched is None:
            status, payload, _ = self.front.not_found()
            return status, json.loads(payload)
        status, payload = self.front.respond(matched, method, path, query, raw, headers or {}, None)
        return status, json.loads(payload)

    def signed(
        self, method: str, path: str, query: str = "", body: Any = None, **sign: Any
    ) -> tuple[int, dict[str, Any]]:
        raw = json.dumps(body).encode() if body is not None else b""
        endpoint = path + ("?" + query if query else "")
        return self.send(method, path, query, body, self.headers(method, endpoint, raw, **sign))


def _venue(clock: Clock, symbols: tuple[str, ...] = ("BTC/USDT",)) -> Venue:
    markets = [(rules(s, min_notional="5"), flat_candles(300, price="100.0"), 150) for s in symbols]
    balances = {"alice": {"USDT": D(1000), "BTC": D(1), "ETH": D(0)}, "bob": {"USDT": D(1000)}}
    return Venue(markets, balances, clock=clock, fees=FeeSchedule())


@pytest.fixture
def clock() -> Clock:
    return Clock(T0 + 10**9)


@pytest.fixture
def client(clock: Clock) -> Client:
    keys = parse_keys(
        [
            {"api_key": KEY, "secret": SECRET, "account": "alice", "passphrase": PASSPHRASE},
            {
                "api_key": READER,
                "secret": SECRET,
                "account": "alice",
                "passphrase": PASSPHRASE,
                "restrictions": {"enableSpotAndMarginTrading": False},
            },
        ]
    )
    api = KucoinApi(_venue(clock, ("BTC/USDT", "ETH/USDT")), KucoinKeyRing(keys), clock=clock, fees=FeeSchedule())
    return Client(KucoinFront(api), clock)


def _limit_buy(client: Client, cid: str = "c-1", price: str = "90.0", size: str = "1.00", **kw: Any) -> Any:
    body = {"clientOid": cid, "side": "buy", "symbol": kw.pop("symbol", "BTC-USDT"), "type": "limit"}
    body.update(price=price, size=size, **kw)
    return client.signed("POST", "/api/v1/orders", body=body)


# --- signatures, passphrases, timestamps --------------------------------------------------


def test_a_request_signed_as_kucoin_signs_is_served_in_the_envelope(client):
    status, answer = client.signed("GET", "/api/v1/accounts", "type=trade&currency=USDT")
    assert status == 200
    assert answer["code"] == "200000"
    assert answer["data"] == [
        {
            "id": answer["data"][0]["id"],
            "currency": "USDT",
            "type": "trade",
            "balance": "1000.00000000",
            "available": "1000.00000000",
            "holds": "0.00000000",
        }
    ]


def test_the_query_string_is_part_of_what_is_signed(client):
    headers = client.headers("GET", "/api/v1/accounts?type=trade")
    status, answer = client.send("GET", "/api/v1/accounts", "type=main", headers=headers)
    assert (status, answer["code"]) == (401, "400005")


def test_the_body_is_part_of_what_is_signed(client):
    body = {"clientOid": "c-1", "side": "buy", "symbol": "BTC-USDT", "type": "limit", "price": "90", "size": "1"}
    headers = client.headers("POST", "/api/v1/orders", json.dumps(body).encode())
    body["size"] = "9"
    status, answer = client.send("POST", "/api/v1/orders", body=body, headers=headers)
    assert (status, answer["code"]) == (401, "400005")
    assert client.front.api.venue.open_orders("alice") == []


def test_a_signature_made_with_another_secret_is_refused(client):
    headers = client.headers("GET", "/api/v1/accounts")
    headers["KC-API-SIGN"] = signature("X" * 64, headers["KC-API-TIMESTAMP"], "GET", "/api/v1/accounts")
    status, answer = client.send("GET", "/api/v1/accounts", headers=headers)
    assert (status, answer["code"]) == (401, "400005")


def test_a_wrong_passphrase_is_refused(client):
    status, answer = client.signed("GET", "/api/v1/accounts", passphrase="wrong horse")
    assert (status, answer["code"]) == (401, "400004")


def test_a_plain_passphrase_is_refused_for_a_version_2_key(client):
    headers = client.headers("GET", "/api/v1/accounts")
    headers["KC-API-PASSPHRASE"] = PASSPHRASE
    status, answer = client.send("GET", "/api/v1/accounts", headers=headers)
    assert (status, answer["code"]) == (401, "400004")
    status, answer = client.signed("GET", "/api/v1/accounts", version="1")
    assert (status, answer["code"]) == (401, "400004")


@pytest.mark.parametrize("skew_ms", [-5001, 5001, -60_000])
def test_a_timestamp_more_than_five_seconds_off_is_refused(client, clock, skew_ms):
    status, answer = client.signed("GET", "/api/v1/accounts", timestamp=clock.now + skew_ms)
    assert (status, answer["code"]) == (401, "400002")


@pytest.mark.parametrize("skew_ms", [-4999, 4999])
def test_a_timestamp_within_five_seconds_is_accepted(client, clock, skew_ms):
    status, answer = client.signed("GET", "/api/v1/accounts", timestamp=clock.now + skew_ms)
    assert (status, answer["code"]) == (200, "200000")


def test_missing_headers_and_unknown_keys_are_refused(client):
    headers = client.headers("GET", "/api/v1/accounts")
    del headers["KC-API-PASSPHRASE"]
    status, answer = client.send("GET", "/api/v1/accounts", headers=headers)
    assert (status, answer["code"]) == (401, "400001")
    assert "KC-API-PASSPHRASE" in answer["msg"]
    status, answer = client.signed("GET", "/api/v1/accounts", key="U" * 64)
    assert (status, answer["code"]) == (401, "400003")


def test_a_key_without_spot_permission_reads_but_cannot_trade(client):
    assert client.signed("GET", "/api/v1/accounts", key=READER)[0] == 200
    status, answer = client.signed(
        "POST",
        "/api/v1/orders",
        body={"clientOid": "c-1", "side": "buy", "symbol": "BTC-USDT", "type": "limit", "price": "90", "size": "1"},
        key=READER,
    )
    assert (status, answer["code"]) == (403, "400007")
    _, info = client.signed("GET", "/api/v1/user/api-key", key=READER)
    assert info["data"]["permission"] == "General"
    _, info = client.signed("GET", "/api/v1/user/api-key")
    assert info["data"]["permission"] == "General,Spot"
    assert SECRET not in json.dumps(info)
    assert PASSPHRASE not in json.dumps(info)


def test_kucoin_keys_need_a_passphrase():
    bare = parse_keys([{"api_key": KEY, "secret": SECRET, "account": "alice"}])
    with pytest.raises(ValueError, match="passphrase"):
        KucoinKeyRing(bare)
    with pytest.raises(ConfigError, match="passphrase"):
        SimulatorConfig(keys=tuple(bare), flavor="kucoin")
    with pytest.raises(ConfigError, match="--flavor must be one of binance, kucoin"):
        SimulatorConfig(flavor="kraken")
    entry = generate_entry("alice", passphrase=True)
    assert len(entry["passphrase"]) == 32
    assert SimulatorConfig(keys=tuple(parse_keys([entry])), flavor="kucoin").flavor == "kucoin"


# --- orders and their refusals ------------------------------------------------------------


def test_an_order_is_acknowledged_by_id_and_found_by_id_and_client_oid(client):
    status, answer = _limit_buy(client, "c-1")
    assert status == 200
    oid = answer["data"]["orderId"]
    assert answer["data"] == {"orderId": oid}
    _, by_id = client.signed("GET", f"/api/v1/orders/{oid}")
    _, by_cid = client.signed("GET", "/api/v1/order/client-order/c-1")
    assert by_id["data"] == by_cid["data"]
    order = by_id["data"]
    assert (order["symbol"], order["side"], order["type"]) == ("BTC-USDT", "buy", "limit")
    assert (D(order["price"]), D(order["size"])) == (D("90"), D("1"))
    assert (order["isActive"], order["cancelExist"], order["clientOid"]) == (True, False, "c-1")
    _, listed = client.signed("GET", "/api/v1/orders", "status=active&tradeType=TRADE")
    assert [o["id"] for o in listed["data"]["items"]] == [oid]
    _, cancelled = client.signed("DELETE", f"/api/v1/orders/{oid}")
    assert cancelled["data"] == {"cancelledOrderIds": [oid]}
    _, after = client.signed("GET", f"/api/v1/orders/{oid}")
    assert (after["data"]["isActive"], after["data"]["cancelExist"]) == (False, True)


def test_order_ids_lead_back_to_their_symbol(client):
    _, btc = _limit_buy(client, "c-1")
    _, eth = _limit_buy(client, "c-2", symbol="ETH-USDT")
    assert btc["data"]["orderId"] != eth["data"]["orderId"]
    assert decode_order_id(btc["data"]["orderId"]) == (0, 1)
    assert decode_order_id(eth["data"]["orderId"]) == (1, 1)
    _, eth_order = client.signed("GET", f"/api/v1/orders/{eth['data']['orderId']}")
    assert eth_order["data"]["symbol"] == "ETH-USDT"


def test_a_market_order_fills_and_its_fills_are_listed(client):
    body = {"clientOid": "m-1", "side": "buy", "symbol": "BTC-USDT", "type": "market", "funds": "50"}
    _, placed = client.signed("POST", "/api/v1/orders", body=body)
    oid = placed["data"]["orderId"]
    _, order = client.signed("GET", f"/api/v1/orders/{oid}")
    assert order["data"]["isActive"] is False
    assert order["data"]["cancelExist"] is False
    assert D(order["data"]["dealFunds"]) <= 50
    _, fills = client.signed("GET", "/api/v1/fills", f"orderId={oid}&tradeType=TRADE")
    items = fills["data"]["items"]
    assert items
    assert {f["orderId"] for f in items} == {oid}
    assert sum(D(f["size"]) for f in items) == D(order["data"]["dealSize"])
    assert {(f["liquidity"], f["type"], f["side"]) for f in items} == {("taker", "market", "buy")}


def test_refusals_carry_kucoin_codes(client):
    _limit_buy(client, "dup")
    cases = {
        "insufficient balance": (_limit_buy(client, "c-2", price="90.0", size="100.00"), "200004"),
        "duplicate clientOid": (_limit_buy(client, "dup"), "126044"),
        "below minimum funds": (_limit_buy(client, "c-3", price="1.0", size="1.00"), "600101"),
        "unknown symbol": (_limit_buy(client, "c-4", symbol="DOGE-USDT"), "900001"),
        "bad size": (_limit_buy(client, "c-5", size="1e3"), "400100"),
        "bad side": (
            client.signed("POST", "/api/v1/orders", body={"clientOid": "c-6", "side": "hold", "symbol": "BTC-USDT"}),
            "400100",
        ),
        "no clientOid": (client.signed("POST", "/api/v1/orders", body={"side": "buy", "symbol": "BTC-USDT"}), "400100"),
        "unknown order": (client.signed("GET", "/api/v1/orders/987654321"), "400100"),
        "unknown client order": (client.signed("DELETE", "/api/v1/order/client-order/never"), "400100"),
    }
    got = {name: answer["code"] for name, ((_, answer), _) in cases.items()}
    assert got == {name: code for name, (_, code) in cases.items()}
    assert cases["below minimum funds"][0][1]["msg"] == "The order funds should more then 5 USDT."
    assert cases["unknown order"][0][1]["msg"] == "order not exist."
    assert cases["unknown client order"][0][1]["msg"] == "order_not_exist_or_not_allow_to_cancel"
    assert len(client.front.api.venue.open_orders("alice")) == 1


def test_unknown_paths_and_faults_answer_as_kucoin(client):
    status, answer = client.send("GET", "/api/v3/account")
    assert (status, answer["code"]) == (404, "404000")
    status, body, headers = client.front.rate_limited(2)
    assert (status, json.loads(body)["code"], headers["gw-ratelimit-reset"]) == (429, "429000", "2000")


# --- market data ---------------------------------------------------------------------------


def test_symbols_carry_the_rules_ccxt_reads(client):
    _, answer = client.send("GET", "/api/v2/symbols")
    btc = answer["data"][0]
    assert (btc["symbol"], btc["baseCurrency"], btc["quoteCurrency"]) == ("BTC-USDT", "BTC", "USDT")
    assert (btc["priceIncrement"], btc["baseIncrement"], btc["quoteMinSize"], btc["enableTrading"]) == (
        "0.1",
        "0.01",
        "5",
        True,
    )
    _, currencies = client.send("GET", "/api/v3/currencies")
    assert [c["currency"] for c in currencies["data"]] == ["BTC", "ETH", "USDT"]


def test_book_depths_and_ticker(client):
    _, book = client.send("GET", "/api/v1/market/orderbook/level2_20", "symbol=BTC-USDT")
    bids, asks = book["data"]["bids"], book["data"]["asks"]
    assert 0 < len(bids) <= 20
    assert 0 < len(asks) <= 20
    assert D(bids[0][0]) < D(asks[0][0])
    _, stats = client.send("GET", "/api/v1/market/stats", "symbol=BTC-USDT")
    assert D(stats["data"]["buy"]) == D(bids[0][0])
    assert D(stats["data"]["sell"]) == D(asks[0][0])
    assert stats["data"]["takerFeeRate"] == "0.001"


def test_candles_show_the_replay_on_the_wall_clock_newest_first(client, clock):
    clock.now += 25_000  # mid-minute, and the recorded candles are not minute-aligned (T0)
    now_s = clock.now // 1000
    _, answer = client.send(
        "GET", "/api/v1/market/candles", f"symbol=BTC-USDT&type=1min&startAt={now_s - 600}&endAt={now_s}"
    )
    rows = answer["data"]
    times = [int(r[0]) * 1000 for r in rows]
    assert times[0] == bucket_start(clock.now, TIMEFRAMES_MS["1m"])
    assert times == sorted(times, reverse=True)
    assert all(a - b == 60_000 for a, b in itertools.pairwise(times))
    assert len(rows) == 10  # the minutes opening within the last 600 s
    open_, close, high, low = (D(v) for v in rows[0][1:5])
    assert low <= min(open_, close) <= max(open_, close) <= high
    _, bad = client.send("GET", "/api/v1/market/candles", "symbol=BTC-USDT&type=7min")
    assert bad["code"] == "400100"
