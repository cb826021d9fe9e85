"""Pure parts of the signer: the frame format and the leak detector's judgement."""

from __future__ import annotations

import socket
from decimal import Decimal

import pytest

from bastion.custody.signer.leak import SentOrders
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
    sent = SentOrders()
    sent.sent("b1", "BTC/USDT", "buy")
    sent.answered("b1", "100")
    assert sent.judge(order("100", "b1")) is None
    assert "never sent" in sent.judge(order("101", "web_x")).why
    assert "not sell" in sent.judge(order("102", "b1", side="sell")).why
    # A reused client id (the attacker read ours through the leaked key) with another order id.
    assert "answered with exchange order 100" in sent.judge(order("103", "b1")).why


def test_an_order_whose_answer_was_lost_is_ours_and_its_id_is_learned():
    sent = SentOrders()
    sent.sent("t1", "BTC/USDT", "buy")  # timed out: no exchange id recorded
    assert sent.judge(order("200", "t1")) is None
    assert sent.is_ours("200")


def test_replaying_the_audit_log_rebuilds_the_record_and_acknowledgements():
    sent = SentOrders()
    sent.replay(
        "request", {"op": "place_order", "params": {"client_order_id": "c1", "symbol": "BTC/USDT", "side": "sell"}}
    )
    sent.replay(
        "outcome", {"op": "place_order", "ok": True, "result": {"client_order_id": "c1", "exchange_order_id": "9"}}
    )
    sent.replay("leak_ack", {"exchange_order_ids": ["77"]})
    assert sent.judge(order("9", "c1", side="sell")) is None
    assert sent.judge(order("77", None)) is None
    assert sent.judge(order("78", None)) is not None
