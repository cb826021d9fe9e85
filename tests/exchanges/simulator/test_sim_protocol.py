"""Request authentication, parameters, faults and replay pacing (no HTTP)."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from types import SimpleNamespace

import pytest

from bastion.exchanges.simulator.apierrors import ApiError
from bastion.exchanges.simulator.auth import KeyRing, split_signature
from bastion.exchanges.simulator.faults import FaultPlan, FaultSpecError
from bastion.exchanges.simulator.keys import parse_keys
from bastion.exchanges.simulator.params import parse_params
from bastion.exchanges.simulator.replay import ReplayPacer
from bastion.exchanges.simulator.server import _is_loopback_peer

NOW = 1_700_000_000_000
KEY = "K" * 64
SECRET = "S" * 64


def sign(message: bytes, secret: str = SECRET) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode()


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(
        parse_keys(
            [
                {"api_key": KEY, "secret": SECRET, "account": "alice"},
                {
                    "api_key": "R" * 64,
                    "secret": SECRET,
                    "account": "alice",
                    "restrictions": {"enableSpotAndMarginTrading": False},
                },
            ]
        )
    )


def verify(ring, query: bytes, body: bytes = b"", key: str | None = KEY, now: int = NOW, permission=None):
    return ring.verify(key, query, body, parse_params(query, body), now, permission)


def error(call) -> tuple[int, int, str]:
    with pytest.raises(ApiError) as err:
        call()
    return err.value.status, err.value.code, err.value.msg


def test_signature_in_query_covers_the_rest_of_the_query(ring):
    query = f"symbol=BTCUSDT&timestamp={NOW}".encode()
    assert verify(ring, query + b"&signature=" + sign(query)).account == "alice"


def test_signature_in_body_covers_query_then_body_without_separator(ring):
    query, body = b"symbol=BTCUSDT&side=BUY", f"quantity=1&timestamp={NOW}".encode()
    assert verify(ring, query, body + b"&signature=" + sign(query + body)).account == "alice"
    joined = sign(query + b"&" + body)
    assert error(lambda: verify(ring, query, body + b"&signature=" + joined)) == (
        400,
        -1022,
        "Signature for this request is not valid.",
    )


def test_signature_anywhere_in_the_query_is_taken_out_before_checking(ring):
    rest = f"symbol=BTCUSDT&timestamp={NOW}".encode()
    assert verify(ring, b"signature=" + sign(rest) + b"&" + rest).account == "alice"
    assert split_signature(b"a=1&signature=ab&b=2") == (b"a=1&b=2", b"ab")
    assert split_signature(b"a=1") == (b"a=1", None)


def test_key_header_checks(ring):
    query = f"timestamp={NOW}".encode()
    signed = query + b"&signature=" + sign(query)
    assert error(lambda: verify(ring, signed, key=None)) == (401, -2014, "API-key format invalid.")
    assert error(lambda: verify(ring, signed, key="short")) == (401, -2014, "API-key format invalid.")
    assert error(lambda: verify(ring, signed, key="Q" * 64)) == (
        401,
        -2015,
        "Invalid API-key, IP, or permissions for action.",
    )


def test_missing_signature_or_timestamp_is_mandatory_parameter(ring):
    assert error(lambda: verify(ring, f"timestamp={NOW}".encode()))[1:] == (
        -1102,
        "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
    )
    assert error(lambda: verify(ring, b"a=1&signature=" + sign(b"a=1")))[1:] == (
        -1102,
        "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
    )


@pytest.mark.parametrize(
    ("offset", "window", "result"),
    [
        (-4999, None, None),
        (-5001, None, "Timestamp for this request is outside of the recvWindow."),
        (-59_000, "60000", None),
        (999, None, None),
        (1000, None, "Timestamp for this request was 1000ms ahead of the server's time."),
    ],
)
def test_timestamp_window(ring, offset, window, result):
    query = f"timestamp={NOW + offset}" + (f"&recvWindow={window}" if window else "")
    signed = query.encode() + b"&signature=" + sign(query.encode())
    if result is None:
        verify(ring, signed)
    else:
        assert error(lambda: verify(ring, signed)) == (400, -1021, result)


def test_recv_window_above_sixty_seconds_is_refused(ring):
    query = f"timestamp={NOW}&recvWindow=60001".encode()
    assert error(lambda: verify(ring, query + b"&signature=" + sign(query)))[1] == -1131


def test_permissions_are_checked_after_the_signature(ring):
    query = f"timestamp={NOW}".encode()
    signed = query + b"&signature=" + sign(query)
    verify(ring, signed, permission="enableSpotAndMarginTrading")
    assert error(lambda: verify(ring, signed, key="R" * 64, permission="enableSpotAndMarginTrading"))[:2] == (
        401,
        -2015,
    )


def test_query_parameters_win_over_body_parameters():
    params = parse_params(b"a=query&c=%2Fx+y", b"a=body&b=2")
    assert params == {"a": "query", "b": "2", "c": "/x y"}
    assert parse_params(b"price=1.50", b"").decimal("price") == Decimal("1.50")
    with pytest.raises(ApiError, match="Illegal characters found in parameter 'price'"):
        parse_params(b"price=1e5", b"").decimal("price")
    with pytest.raises(ApiError, match="newClientOrderId"):
        parse_params(b"newClientOrderId=has space", b"").client_order_id("newClientOrderId")


# --- faults ----------------------------------------------------------------------------------


def test_faults_match_path_and_method_and_count_down():
    plan = FaultPlan()
    plan.add({"kind": "429", "count": 2, "path": "/api/v3/order", "method": "post"})
    assert plan.take("GET", "/api/v3/order") is None
    assert plan.take("POST", "/api/v3/account") is None
    assert plan.take("POST", "/api/v3/order").kind == "429"
    assert plan.take("POST", "/api/v3/order/test").kind == "429"  # path is a prefix
    assert plan.take("POST", "/api/v3/order") is None
    assert not plan


def test_partial_fill_faults_wait_for_an_order_post():
    plan = FaultPlan()
    plan.add({"kind": "partial_fill", "fraction": 0.25})
    assert plan.take("POST", "/api/v3/order") is None  # not a request-level fault
    fault = plan.take("GET", "/api/v3/order", partial_fill=True)
    assert fault is None
    fault = plan.take("POST", "/api/v3/order", partial_fill=True)
    assert fault.fraction == Decimal("0.25")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "boom"}, "kind must be one of 429, 5xx, timeout, drop_after_accept, partial_fill"),
        ({"kind": "429", "count": 0}, "count must be at least 1"),
        ({"kind": "5xx", "status": 501}, "status must be one of 500, 502, 503, 504"),
        ({"kind": "timeout", "seconds": "long"}, "seconds must be a number"),
        ({"kind": "429", "path": "api"}, "path must be a path prefix"),
        ({"kind": "429", "colour": "red"}, r"unknown field\(s\) colour"),
        (["429"], "expected a JSON object"),
    ],
)
def test_bad_fault_specs(spec, message):
    with pytest.raises(FaultSpecError, match=message):
        FaultPlan().add(spec)


# --- replay pacing and admin peers -----------------------------------------------------------


def test_pacer_carries_fractions_over():
    pacer = ReplayPacer({"BTCUSDT": 2.0, "ETHBTC": 0.5, "HELD": 0})
    assert pacer.rates == {"BTCUSDT": 2.0, "ETHBTC": 0.5}
    assert pacer.due(0.75) == {"BTCUSDT": 1}
    assert pacer.due(0.75) == {"BTCUSDT": 2}  # 0.5 carried + 1.5
    assert pacer.due(1.0) == {"BTCUSDT": 2, "ETHBTC": 1}
    assert pacer.tick_seconds == 0.5
    assert not ReplayPacer({"BTCUSDT": 0}).active


@pytest.mark.parametrize(
    ("remote", "allowed"),
    [
        ("127.0.0.1", True),
        ("127.0.0.5", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.1.2.3", False),
        ("192.168.0.2", False),
        ("::ffff:10.0.0.1", False),
        (None, False),
    ],
)
def test_admin_api_answers_loopback_peers_only(remote, allowed):
    assert _is_loopback_peer(SimpleNamespace(remote=remote)) is allowed
