"""The typed signer RPC: every request and answer survives the wire, every error keeps its class."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bastion.custody.policy import PolicyConfig
from bastion.custody.signer import rpc
from bastion.custody.signer._model import Refusal
from bastion.custody.signer.leak import ForeignOrder
from bastion.custody.signer.protocol import FrameError, decode, encode
from bastion.custody.vault import WrongPassphrase
from bastion.domain import OrderStatus, OrderType
from bastion.errors import (
    AuthenticationFailed,
    BadSymbol,
    BastionError,
    ConfigError,
    CustodyError,
    DuplicateFillError,
    DuplicateOrder,
    ExchangeDown,
    ExchangeError,
    ExchangeUnavailable,
    FilterViolation,
    ForbiddenEndpoint,
    InsufficientFunds,
    KeyRefused,
    MarketRuleError,
    NetworkTimeout,
    OrderNotFound,
    OrderRejected,
    OrderStateError,
    PermissionRefused,
    PolicyDenied,
    RateLimited,
    SignerBadRequest,
    SignerInternalError,
    SignerNotFound,
    SignerRefused,
    SignerUnauthorized,
    SignerUnavailable,
    StorageError,
    TimestampRejected,
    UnknownOperation,
    UnknownRefusal,
    ValidationError,
)
from bastion.exchanges.port import Balance, OrderSnapshot, Trade


def over_the_wire(value: Any) -> Any:
    """Return ``value`` after a real frame encode/decode (floats refused, decimals as strings)."""
    return decode(encode({"v": value})[4:])["v"]


TRADE = Trade(
    trade_id="t1",
    order_id="7",
    symbol="ETH/USDT",
    side="buy",
    price=Decimal("1500.25"),
    amount=Decimal("0.0100"),
    fee=Decimal("0.00001"),
    fee_currency="ETH",
    is_maker=True,
    timestamp_ms=1_700_000_000_123,
)
ORDER = OrderSnapshot(
    exchange_order_id="7",
    client_order_id="b1",
    symbol="ETH/USDT",
    side="buy",
    type=OrderType.LIMIT,
    status=OrderStatus.PARTIALLY_FILLED,
    amount=Decimal("0.0200"),
    price=Decimal("1500.25"),
    filled=Decimal("0.0100"),
    cost=Decimal("15.0025"),
    timestamp_ms=1_700_000_000_000,
    trades=(TRADE,),
)
FOREIGN = ForeignOrder(
    account="main",
    exchange_order_id="99",
    client_order_id=None,
    symbol="BTC/USDT",
    side="sell",
    type="market",
    status="filled",
    amount="1",
    price=None,
    filled="1",
    timestamp_ms=5,
    why="not sent by this signer",
)

REQUESTS: list[rpc.Request[Any]] = [
    rpc.PlaceOrderRequest(
        account="main",
        symbol="BTC/USDT",
        side="buy",
        type=OrderType.LIMIT,
        amount=Decimal("0.00100"),
        price=Decimal("16000.5"),
        client_order_id="b1",
    ),
    rpc.PlaceOrderRequest(
        account="main",
        symbol="BTC/USDT",
        side="sell",
        type=OrderType.MARKET,
        quote_amount=Decimal("25"),
        client_order_id="m1",
    ),
    rpc.CancelOrderRequest(account="main", symbol="ETH/USDT", exchange_order_id="7"),
    rpc.CancelOrderRequest(account="main", symbol="ETH/USDT", client_order_id="b1"),
    rpc.GetOrderRequest(account="main", symbol="BTC/USDT", exchange_order_id="7", client_order_id="b1"),
    rpc.OpenOrdersRequest(account="main"),
    rpc.OpenOrdersRequest(account="main", symbol="BTC/USDT"),
    rpc.BalancesRequest(account="main"),
    rpc.MyTradesRequest(account="main", symbol="BTC/USDT", since_ms=0, limit=50),
    rpc.MyTradesRequest(account="main", symbol="BTC/USDT", exchange_order_id="7"),
    rpc.KeyStatusRequest(),
    rpc.KeyStatusRequest(account="main"),
    rpc.PingRequest(),
    rpc.KeysAddRequest(
        account="main",
        exchange="simulator",
        url="http://127.0.0.1:1",
        api_key="k" * 16,
        secret="s" * 32,
        password="p",
        passphrase="vault pass",
        allow_unrestricted_ip=True,
    ),
    rpc.KeysCheckRequest(),
    rpc.KeysCheckRequest(account="main"),
    rpc.KeysRemoveRequest(account="main"),
    rpc.PolicyShowRequest(account="main"),
    rpc.PolicySetRequest(
        account="main", changes={"pairs": ["BTC/USDT"], "max_order_notional": "500"}, reason="why", passphrase="x"
    ),
    rpc.PanicRequest(),
    rpc.PanicRequest(requested_by="web:ann"),
    rpc.PolicyLoosenSealedRequest(
        account="main",
        changes_json='{"max_order_notional":"500"}',
        expected_revision=3,
        key_id="0" * 16,
        enc="e" * 43,
        ciphertext="c" * 40,
        reason="why",
        requested_by="web:ann",
    ),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.op}")
def test_every_request_survives_the_wire_unchanged(request_: rpc.Request[Any]) -> None:
    wire = over_the_wire(request_.to_wire())
    assert type(request_).from_wire(wire) == request_
    assert rpc.OPS[request_.op] is type(request_)


def test_every_operation_of_the_signer_has_a_request_type() -> None:
    from bastion.custody.signer.protocol import CONTROL_OPS, TRADING_OPS

    assert set(rpc.OPS) == TRADING_OPS | CONTROL_OPS


def test_decimals_travel_as_plain_strings_with_their_precision() -> None:
    wire = REQUESTS[0].to_wire()
    assert wire["amount"] == "0.00100"
    assert wire["price"] == "16000.5"
    assert wire["type"] == "limit"
    assert "quote_amount" not in wire  # absent values are left out


def test_secrets_of_a_request_have_no_repr() -> None:
    shown = repr(REQUESTS[13]) + repr(REQUESTS[18])
    for secret in ("k" * 16, "s" * 32, "vault pass", "'p'", "passphrase='x'"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"symbol": "BTC/USDT", "exchange_order_id": "7"}, "needs 'account'"),
        ({"account": "main", "exchange_order_id": "7"}, "needs 'symbol'"),
        ({"account": "main", "symbol": "BTC/USDT"}, "neither was given"),
        ({"account": "main", "symbol": "", "exchange_order_id": "7"}, "symbol must be a non-empty string"),
        ({"account": "main", "symbol": "BTC/USDT", "exchange_order_id": 7}, "exchange_order_id must be"),
        ({"account": "main", "symbol": "BTC/USDT", "order_id": "7"}, "does not take order_id"),
    ],
)
def test_an_order_is_addressed_by_account_symbol_and_an_id(params: dict[str, Any], says: str) -> None:
    with pytest.raises(SignerBadRequest, match=says) as refused:
        rpc.CancelOrderRequest.from_wire(params)
    assert refused.value.kind == "bad_request"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"amount": "NaN"}, "amount must be a finite decimal"),
        ({"amount": "one"}, "amount must be a decimal string"),
        ({"amount": True}, "amount must be a decimal string"),
        ({"amount": Decimal("Infinity")}, "finite"),
        ({"side": "hold"}, "side must be 'buy' or 'sell'"),
        ({"type": "stop"}, "type must be 'limit' or 'market'"),
        ({"leverage": "10"}, "does not take leverage"),
    ],
)
def test_a_malformed_order_request_says_what_was_wrong(change: dict[str, Any], says: str) -> None:
    params = {**REQUESTS[0].to_wire(), **change}
    with pytest.raises(SignerBadRequest, match=says):
        rpc.PlaceOrderRequest.from_wire(params)


def test_a_float_never_reaches_a_request() -> None:
    with pytest.raises(SignerBadRequest, match="decimal string"):
        rpc.PlaceOrderRequest.from_wire({**REQUESTS[0].to_wire(), "amount": 0.001})
    with pytest.raises(FrameError):
        encode({"params": {"amount": 0.001}})


@pytest.mark.parametrize("value", [-1, True, "5"])
def test_my_trades_limits_are_non_negative_integers(value: Any) -> None:
    with pytest.raises(SignerBadRequest, match="limit must be a non-negative integer"):
        rpc.MyTradesRequest.from_wire({"account": "main", "symbol": "BTC/USDT", "limit": value})


def test_my_trades_of_one_order_takes_no_window() -> None:
    with pytest.raises(SignerBadRequest, match="exchange_order_id alone"):
        rpc.MyTradesRequest.from_wire({"account": "main", "symbol": "BTC/USDT", "exchange_order_id": "1", "limit": 5})


def test_the_policy_request_passes_malformed_values_on_for_the_policy_to_deny() -> None:
    params = {**REQUESTS[0].to_wire(), "amount": "lots"}
    request = rpc.policy_request(params, account="main")
    assert request.amount == "lots"  # the policy answers it with a bad_request denial (audited, counted)
    assert rpc.policy_request(REQUESTS[0].to_wire(), account="main").price == Decimal("16000.5")
    with pytest.raises(SignerBadRequest, match="does not take leverage"):
        rpc.policy_request({**params, "leverage": "10"}, account="main")


# ------------------------------------------------------------------------------------ answers


def test_an_order_answer_round_trips_with_its_fills() -> None:
    assert rpc.PlaceOrderRequest.answer_from_wire(over_the_wire(rpc.order_to_wire(ORDER))) == ORDER
    assert rpc.GetOrderRequest.answer_from_wire(over_the_wire(rpc.order_to_wire(ORDER))).trades == (TRADE,)


def test_lists_of_orders_and_trades_round_trip() -> None:
    wire = over_the_wire(rpc.OpenOrdersRequest.answer_to_wire((ORDER, ORDER)))
    assert rpc.OpenOrdersRequest.answer_from_wire(wire) == (ORDER, ORDER)
    wire = over_the_wire(rpc.MyTradesRequest.answer_to_wire((TRADE,)))
    assert rpc.MyTradesRequest.answer_from_wire(wire) == (TRADE,)


def test_balances_round_trip_and_carry_the_total() -> None:
    balances = {
        "BTC": Balance("BTC", Decimal("0.5"), Decimal("0.25")),
        "USDT": Balance("USDT", Decimal(10), Decimal(0)),
    }
    wire = over_the_wire(rpc.BalancesRequest.answer_to_wire(balances))
    assert wire["BTC"] == {"free": "0.5", "used": "0.25", "total": "0.75"}
    assert rpc.BalancesRequest.answer_from_wire(wire) == balances


def test_an_answer_with_a_field_this_client_does_not_know_still_parses() -> None:
    wire = {**rpc.order_to_wire(ORDER), "time_in_force": "IOC"}
    assert rpc.order_from_wire(wire) == ORDER


def test_a_malformed_answer_is_an_error_naming_the_field() -> None:
    with pytest.raises(rpc.AnswerError, match=r"order\.filled"):
        rpc.order_from_wire({**rpc.order_to_wire(ORDER), "filled": "much"})
    with pytest.raises(rpc.AnswerError, match=r"no order\.symbol"):
        rpc.order_from_wire({k: v for k, v in rpc.order_to_wire(ORDER).items() if k != "symbol"})


CONTROL_ANSWERS: list[tuple[type[rpc.Request[Any]], Any]] = [
    (rpc.PingRequest, rpc.Ping(pid=42, accounts=("alice", "bob"))),
    (
        rpc.KeyStatusRequest,
        (
            rpc.KeyStatus(
                account="alice",
                exchange="simulator",
                key_hint="abcd",
                fingerprint="SHA256:0123456789abcdef",
                status="active",
                status_reason=None,
                state="halted",
                state_reason="leak",
                permissions={"can_read": True, "can_withdraw": False},
                last_permission_check_ms=1,
                last_leak_check_ms=None,
                foreign_orders=(FOREIGN,),
                orders_sent=3,
            ),
        ),
    ),
    (
        rpc.KeysAddRequest,
        rpc.KeyAdded(
            account="alice",
            exchange="simulator",
            key_hint="abcd",
            fingerprint="SHA256:0123456789abcdef",
            permissions={"can_read": True},
            policy=PolicyConfig.from_mapping({"pairs": ["BTC/USDT"]}),
        ),
    ),
    (
        rpc.KeysCheckRequest,
        (
            rpc.KeyCheck(account="a", exchange="simulator", state="active", permissions={"can_read": True}),
            rpc.KeyCheck(
                account="b", exchange="binance", state="halted", error="x", foreign_orders=(FOREIGN,), revoke=("1",)
            ),
        ),
    ),
    (rpc.KeysRemoveRequest, rpc.KeyRemoved(account="a", removed=True, revoke=("log in", "delete the key"))),
    (
        rpc.PolicyShowRequest,
        rpc.PolicyView(
            account="a",
            policy=PolicyConfig(),
            state="active",
            reason=None,
            revision=4,
            usage=rpc.PolicyUsageView(
                orders_last_minute=2, notional_24h={"USDT": Decimal("12.50")}, denials_in_window=0
            ),
        ),
    ),
    (
        rpc.PanicRequest,
        rpc.PanicReport(
            accounts=(rpc.PanicAccount(account="a", exchange="simulator", cancelled=("1", "2"), open_orders_left=0),),
            signer="stopping: secrets purged",
        ),
    ),
]


@pytest.mark.parametrize(("request_type", "answer"), CONTROL_ANSWERS, ids=lambda v: getattr(v, "op", ""))
def test_every_control_answer_round_trips(request_type: type[rpc.Request[Any]], answer: Any) -> None:
    wire = over_the_wire(request_type.answer_to_wire(answer))
    assert request_type.answer_from_wire(wire) == answer


def test_the_servers_own_renderings_parse_into_the_answer_types() -> None:
    # the shapes service._status, keys.op_keys_check and op_panic build by hand
    status = {
        "account": "alice",
        "exchange": "simulator",
        "key_hint": "abcd",
        "fingerprint": "SHA256:0",
        "status": "active",
        "status_reason": None,
        "state": "active",
        "state_reason": None,
        "permissions": {"can_read": True},
        "last_permission_check_ms": None,
        "last_leak_check_ms": 17,
        "foreign_orders": [FOREIGN.to_json()],
        "orders_sent": 0,
    }
    [parsed] = rpc.KeyStatusRequest.answer_from_wire(over_the_wire([status]))
    assert parsed.foreign_orders == (FOREIGN,)
    check = {"account": "a", "exchange": "simulator", "permissions": {}, "refused_reasons": [], "paused": False}
    check |= {"foreign_orders": [], "state": "active", "state_reason": None}
    assert rpc.KeysCheckRequest.answer_from_wire([check])[0].paused is False
    panic = {
        "accounts": [{"account": "a", "exchange": "x", "cancelled": [], "errors": ["e"], "open_orders_left": None}],
        "signer": "stopping: secrets purged",
    }
    assert rpc.PanicRequest.answer_from_wire(panic).accounts[0].errors == ("e",)


# ------------------------------------------------------------------------------------ errors

EXCHANGE_ERRORS = [
    ExchangeError,
    AuthenticationFailed,
    PermissionRefused,
    TimestampRejected,
    BadSymbol,
    OrderRejected,
    InsufficientFunds,
    FilterViolation,
    DuplicateOrder,
    OrderNotFound,
    ExchangeUnavailable,
    NetworkTimeout,
    ExchangeDown,
]


def _errors() -> list[BastionError]:
    made: list[BastionError] = [cls("boom", exchange="binance", code="-2010") for cls in EXCHANGE_ERRORS]
    made += [
        RateLimited("slow down", exchange="binance", code="429", retry_after=2.5),
        ForbiddenEndpoint("not allowed", exchange="binance", method="POST", path="/sapi/v1/capital/withdraw/apply"),
        KeyRefused("dangerous", reasons=("withdrawals enabled", "no IP restriction")),
        MarketRuleError("price off tick", rule="tick_size", symbol="BTC/USDT"),
        ValidationError("bad"),
        ConfigError("bad config"),
        OrderStateError("no"),
        DuplicateFillError("twice"),
        StorageError("db"),
        CustodyError("custody"),
        PolicyDenied("too big", rule="max_order_notional", compared={"notional": "1670", "limit": "1000"}),
        SignerBadRequest("give symbol"),
        SignerUnauthorized("passphrase"),
        SignerNotFound("no key"),
        UnknownOperation("withdraw?"),
        SignerInternalError("see log"),
    ]
    return made


@pytest.mark.parametrize("error", _errors(), ids=lambda e: type(e).__name__)
def test_each_error_comes_back_as_the_same_class_with_its_attributes(error: BastionError) -> None:
    # the server's two paths: a Refusal built from the error (service), and error_to_wire (server)
    for wire in (Refusal.from_error(error).to_json(), rpc.error_to_wire(error)):
        back = rpc.error_from_wire(over_the_wire(wire))
        assert type(back) is type(error)
        assert str(back) == str(error)
        assert {k: v for k, v in vars(back).items()} == {k: v for k, v in vars(error).items()}


def test_policy_denial_is_still_a_signer_refusal_with_its_kind() -> None:
    back = rpc.error_from_wire({"kind": "denied", "message": "m", "rule": "max_deviation", "compared": {"a": "1"}})
    assert isinstance(back, SignerRefused)
    assert (back.kind, back.rule, back.compared) == ("denied", "max_deviation", {"a": "1"})


def test_a_refusal_kind_this_client_does_not_know_is_an_unknown_refusal() -> None:
    back = rpc.error_from_wire({"kind": "quota_exceeded", "message": "newer signer"})
    assert type(back) is UnknownRefusal
    assert (back.kind, str(back)) == ("quota_exceeded", "newer signer")
    assert type(rpc.error_from_wire("garbage")) is UnknownRefusal


def test_an_error_class_outside_the_table_comes_back_as_its_nearest_known_ancestor() -> None:
    class VenueMaintenance(ExchangeDown):
        pass

    back = rpc.error_from_wire(over_the_wire(rpc.error_to_wire(VenueMaintenance("later", exchange="x"))))
    assert type(back) is ExchangeDown
    assert back.exchange == "x"
    vault = rpc.error_from_wire(rpc.error_to_wire(WrongPassphrase("wrong passphrase")))
    assert type(vault) is UnknownRefusal
    assert isinstance(vault, SignerRefused)
    assert vault.kind == "WrongPassphrase"


@pytest.mark.parametrize(
    ("error", "unknown"),
    [
        (NetworkTimeout("t"), True),
        (RateLimited("r"), True),
        (ExchangeDown("d"), True),
        (SignerInternalError("i"), True),
        (SignerUnavailable("gone"), True),
        (InsufficientFunds("f"), False),
        (PolicyDenied("d"), False),
        (OrderNotFound("n"), False),
    ],
)
def test_outcome_unknown_keeps_orders_that_may_have_landed(error: BastionError, unknown: bool) -> None:
    assert rpc.outcome_unknown(error) is unknown
