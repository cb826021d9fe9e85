"""Pure parts of the signer: the frame format and the leak detector's judgement."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest

from bastion.custody.signer.leak import Checkpoint, OrderId, SentOrders
from bastion.custody.signer.protocol import MAX_FRAME, FrameError, decode, encode, recv_frame
from bastion.domain import OrderStatus, OrderType
from bastion.exchanges.port import OrderSnapshot


def test_frames_round_trip_with_decimals_as_strings():
    frame = encode({"id": 1, "op": "place_order", "params": {"amount": Decimal("0.00100"), "price": "16500"}})
    left, right = socket.socketpair()
    with left, right:
        left.sendall(frame)
        assert recv_frame(right) == {"id": 1, "op": "place_order", "params": {"amount": "0.00100", "price": "16500"}}


@pytest.mark.parametrize("bad", [b'{"amount": 0.1}', b"[1, 2]", b"\xff", b'{"x": NaN}'])
def test_floats_non_objects_and_garbage_are_refused(bad):
    with pytest.raises(FrameError):
        decode(bad)


def test_a_float_is_refused_on_the_way_out_and_oversized_frames_too():
    with pytest.raises(FrameError, match="float"):
        encode({"params": {"amount": 0.1}})
    with pytest.raises(FrameError, match="limit"):
        encode({"blob": "x" * (MAX_FRAME + 1)})


def order(eid: str, cid: str | None, symbol: str = "BTC/USDT", side: str = "buy") -> OrderSnapshot:
    return OrderSnapshot(
        exchange_order_id=eid,
        client_order_id=cid,
        symbol=symbol,
        side=side,
        type=OrderType.LIMIT,
        status=OrderStatus.ACCEPTED,
        amount=Decimal("0.001"),
        price=Decimal("16000"),
        filled=Decimal(0),
        cost=Decimal(0),
        timestamp_ms=1,
    )


def test_our_orders_are_recognised_by_client_id_symbol_side_and_exchange_id():
    sent = SentOrders("alice")
    sent.sent("b1", "BTC/USDT", "buy")
    sent.answered("b1", "100")
    assert sent.judge(order("100", "b1")) is None
    assert "never sent" in sent.judge(order("101", "web_x")).why
    assert "not sell" in sent.judge(order("102", "b1", side="sell")).why
    # A reused client id (the attacker read ours through the leaked key) with another order id.
    assert "answered with exchange order 100" in sent.judge(order("103", "b1")).why


def test_an_order_whose_answer_was_lost_is_ours_and_its_id_is_learned():
    sent = SentOrders("alice")
    sent.sent("t1", "BTC/USDT", "buy")  # timed out: no exchange id recorded
    assert sent.judge(order("200", "t1")) is None
    assert sent.is_ours("BTC/USDT", "200")
    assert not sent.is_ours("ETH/USDT", "200")


def test_replaying_the_audit_log_rebuilds_the_record_and_acknowledgements():
    sent = SentOrders("alice")
    sent.replay(
        "request", {"op": "place_order", "params": {"client_order_id": "c1", "symbol": "BTC/USDT", "side": "sell"}}
    )
    sent.replay(
        "outcome", {"op": "place_order", "ok": True, "result": {"client_order_id": "c1", "exchange_order_id": "9"}}
    )
    sent.replay("leak_ack", {"exchange_order_ids": [["alice", "ETH/USDT", "77"]], "_ts_ms": 5})
    assert sent.judge(order("9", "c1", side="sell")) is None
    assert sent.judge(order("77", None, symbol="ETH/USDT")) is None
    assert sent.judge(order("77", None)) is not None  # the same number in another symbol is another order
    assert sent.judge(order("78", None)) is not None


def test_an_acknowledgement_without_symbol_covers_only_orders_placed_before_it():
    sent = SentOrders("alice")
    sent.replay("leak_ack", {"exchange_order_ids": ["77"], "_ts_ms": 1_000})
    older = order("77", None, symbol="ETH/USDT")  # timestamp_ms=1
    assert sent.judge(older) is None
    newer = OrderSnapshot(**{**{f: getattr(older, f) for f in older.__dataclass_fields__}, "timestamp_ms": 2_000})
    assert sent.judge(newer) is not None


def test_an_order_is_ours_by_account_symbol_and_exchange_id_not_by_id_alone():
    sent = SentOrders("alice")
    sent.sent("b1", "BTC/USDT", "buy")
    sent.answered("b1", "1")
    assert sent.is_ours("BTC/USDT", "1")
    assert not sent.is_ours("ETH/USDT", "1")
    foreign = sent.judge(order("1", "x_attacker", symbol="ETH/USDT"))
    assert foreign is not None
    assert foreign.key == OrderId("alice", "ETH/USDT", "1")
    assert foreign.to_json()["symbol"] == "ETH/USDT"


def test_the_leak_checkpoint_and_the_first_audited_time_are_replayed():
    sent = SentOrders("alice")
    sent.replay("key_event", {"event": "added", "_ts_ms": 100})
    sent.replay(
        "leak_checkpoint",
        {"at_ms": 500, "balances": {"USDT": "9000.5", "BTC": "1"}, "last_trade_ids": {"BTC/USDT": 42}, "_ts_ms": 501},
    )
    sent.replay("leak_checkpoint", {"at_ms": "garbage", "_ts_ms": 600})  # malformed: the last good one stays
    assert sent.first_ms == 100
    assert sent.checkpoint == Checkpoint(
        at_ms=500, balances={"USDT": Decimal("9000.5"), "BTC": Decimal(1)}, last_trade_ids={"BTC/USDT": 42}
    )
    assert Checkpoint.from_json(sent.checkpoint.to_json()) == sent.checkpoint
