"""Reading signal payloads: timestamps, exact amounts, the digest that refuses replays."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.exc import OperationalError

from bastion.web import SignalPayload, intake, payload_digest
from bastion.web.schemas import timestamp_ms

BODY = {
    "secret": "s3cret",
    "bot_uuid": "b79ed36c-605e-474f-9243-9d5829b74030",
    "action": "enter_long",
    "timestamp": 1_714_564_800,
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_714_564_800, 1_714_564_800_000),
        (1_714_564_800_123, 1_714_564_800_123),
        ("1714564800", 1_714_564_800_000),
        (Decimal("1714564800.5"), 1_714_564_800_500),
        ("2024-05-01T12:00:00Z", 1_714_564_800_000),
        ("2024-05-01T14:00:00.250+02:00", 1_714_564_800_250),
    ],
)
def test_timestamps_read_as_epoch_seconds_milliseconds_or_iso_8601(value: object, expected: int) -> None:
    assert timestamp_ms(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", "not epoch seconds/milliseconds nor an ISO 8601 time"),
        ("2024-05-01T12:00:00", "has no time zone"),
        (0, "must be a positive epoch time"),
        (10**20, "after the year 9999"),
    ],
)
def test_unreadable_timestamps_say_what_was_expected(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        timestamp_ms(value)  # type: ignore[arg-type]


def test_amounts_are_exact_whatever_their_json_form() -> None:
    for amount in ("0.1", 0.1, Decimal("0.1"), "0.10"):
        payload = SignalPayload.model_validate({**BODY, "order": {"amount": amount, "currency_type": "quote"}})
        assert payload.order is not None
        assert payload.order.amount == Decimal("0.1")


def test_the_secret_has_no_repr() -> None:
    payload = SignalPayload.model_validate(BODY)
    assert "s3cret" not in repr(payload)
    assert "s3cret" not in str(payload.model_dump())


def test_the_digest_covers_the_payload_but_not_the_secret() -> None:
    one = SignalPayload.model_validate({**BODY, "order": {"amount": "25", "currency_type": "quote"}})
    same = SignalPayload.model_validate(
        {**BODY, "secret": "other", "order": {"amount": 25.0, "currency_type": "quote"}}
    )
    other = SignalPayload.model_validate({**BODY, "action": "exit_long", "order": {"amount": "25"}})
    assert payload_digest(one, 1) == payload_digest(same, 1)
    assert payload_digest(one, 1) != payload_digest(one, 2)
    assert payload_digest(one, 1) != payload_digest(other, 1)
    assert "s3cret" not in str(one.canonical(1))
    lower = SignalPayload.model_validate({**BODY, "pair": "btc/usdt "})
    upper = SignalPayload.model_validate({**BODY, "pair": "BTC/USDT"})
    assert payload_digest(lower, 1) == payload_digest(upper, 1)


def test_a_busy_database_is_tried_again_then_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def busy(*_args: object, **_kwargs: object) -> intake.IntakeResult:
        calls.append(1)
        if len(calls) < intake.ATTEMPTS:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return intake.IntakeResult(202, None, 7)

    monkeypatch.setattr(intake, "_receive", busy)
    payload = SignalPayload.model_validate(BODY)
    result = intake.receive_signal(None, path_uuid=BODY["bot_uuid"], payload=payload, now_ms=0)  # type: ignore[arg-type]
    assert result == intake.IntakeResult(202, None, 7)
    assert len(calls) == intake.ATTEMPTS

    def always_busy(*_args: object, **_kwargs: object) -> intake.IntakeResult:
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(intake, "_receive", always_busy)
    with pytest.raises(OperationalError):
        intake.receive_signal(None, path_uuid=BODY["bot_uuid"], payload=payload, now_ms=0)  # type: ignore[arg-type]
