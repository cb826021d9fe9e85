"""Signal bots' webhook secrets and received signals, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import ValidationError
from bastion.storage import (
    AccountRepository,
    BotRepository,
    ReplayedSignal,
    SignalRecord,
    SignalRepository,
    SignalStatus,
)
from bastion.storage.models import SignalRow, SignalSecretRow

T0 = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
DIGEST_A = "a" * 64
DIGEST_B = "b" * 64


class StepClock:
    """A clock that moves one second per call."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def bot_id(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        account = AccountRepository(session).create("main", "binance")
        config = 'name = "tv"\naccount = "main"\npairs = ["BTC/USDT"]\norder_size = "25"\n'
        return BotRepository(session).create("tv", type="signal", account_id=account.id, config_toml=config).id


def _add(session: Session, bot_id: int, digest: str = DIGEST_A, **changes: object) -> SignalRecord:
    values: dict[str, object] = {"action": "enter_long", "pair": "BTC/USDT", "sent_ms": 1_714_564_800_000}
    values.update(changes)
    return SignalRepository(session, clock=StepClock()).add(bot_id, digest, **values)  # type: ignore[arg-type]


# --- secrets --------------------------------------------------------------------------------------


def test_create_secret_stores_only_the_sha256_of_a_256_bit_secret(sessions: sessionmaker[Session], bot_id: int) -> None:
    with sessions.begin() as session:
        identity, secret = SignalRepository(session).create_secret(bot_id)
    assert len(secret) >= 43  # 32 random bytes in URL-safe base64
    with sessions.begin() as session:
        row = session.scalars(select(SignalSecretRow)).one()
        assert row.uuid == identity
        assert row.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.uuid, row.secret_sha256)
        repo = SignalRepository(session)
        assert repo.bot_for_uuid(identity) == bot_id
        assert repo.uuid_for_bot(bot_id) == identity
        assert repo.check_secret(bot_id, secret)
        assert not repo.check_secret(bot_id, secret + "x")
        assert not repo.check_secret(bot_id, "")


def test_create_secret_again_replaces_uuid_and_secret(sessions: sessionmaker[Session], bot_id: int) -> None:
    with sessions.begin() as session:
        old_uuid, old_secret = SignalRepository(session).create_secret(bot_id)
    with sessions.begin() as session:
        new_uuid, new_secret = SignalRepository(session).create_secret(bot_id)
    assert (new_uuid, new_secret) != (old_uuid, old_secret)
    with sessions.begin() as session:
        repo = SignalRepository(session)
        assert repo.bot_for_uuid(old_uuid) is None
        assert repo.bot_for_uuid(new_uuid) == bot_id
        assert not repo.check_secret(bot_id, old_secret)
        assert repo.check_secret(bot_id, new_secret)
        assert len(session.scalars(select(SignalSecretRow)).all()) == 1


def test_a_bot_without_secret_accepts_no_secret(sessions: sessionmaker[Session], bot_id: int) -> None:
    with sessions.begin() as session:
        repo = SignalRepository(session)
        assert repo.bot_for_uuid("00000000-0000-4000-8000-000000000000") is None
        assert repo.uuid_for_bot(bot_id) is None
        assert not repo.check_secret(bot_id, "0" * 64)
        assert not repo.check_secret(bot_id, "")


def test_create_secret_for_an_unknown_bot_is_refused(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session, pytest.raises(ValidationError, match="no bot with id 999"):
        SignalRepository(session).create_secret(999)


# --- signals --------------------------------------------------------------------------------------


def test_add_stores_a_pending_signal_with_exact_decimals(sessions: sessionmaker[Session], bot_id: int) -> None:
    with sessions.begin() as session:
        added = _add(
            session, bot_id, amount=Decimal("25.000000001"), currency_type="quote", trigger_price=Decimal("64000.10")
        )
    assert added.status is SignalStatus.PENDING
    assert added.received_at == T0 + timedelta(seconds=1)
    assert added.received_ms == 1_714_564_801_123
    with sessions.begin() as session:
        [pending] = SignalRepository(session).pending(bot_id)
    assert pending == added
    assert pending.amount == Decimal("25.000000001")
    assert pending.trigger_price == Decimal("64000.10")


def test_a_replayed_digest_is_refused_and_nothing_more_is_stored(sessions: sessionmaker[Session], bot_id: int) -> None:
    with sessions.begin() as session:
        _add(session, bot_id)
    with sessions.begin() as session:
        with pytest.raises(ReplayedSignal, match="already received a signal with this payload") as caught:
            _add(session, bot_id, action="exit_long")
        assert caught.value.digest == DIGEST_A
        assert isinstance(caught.value, ValidationError)
        # The transaction is still usable after the refusal.
        _add(session, bot_id, DIGEST_B)
    with sessions.begin() as session:
        assert [s.digest for s in SignalRepository(session).pending(bot_id)] == [DIGEST_A, DIGEST_B]


def test_a_refused_signal_is_kept_with_its_reason_and_its_replay_is_refused(
    sessions: sessionmaker[Session], bot_id: int
) -> None:
    with sessions.begin() as session:
        refused = _add(session, bot_id, status="refused", reason="stale timestamp")
    assert refused.status is SignalStatus.REFUSED
    assert refused.reason == "stale timestamp"
    with sessions.begin() as session:
        assert SignalRepository(session).pending(bot_id) == []
        with pytest.raises(ReplayedSignal):
            _add(session, bot_id)


def test_the_same_digest_for_another_bot_is_not_a_replay(sessions: sessionmaker[Session], bot_id: int) -> None:
    with sessions.begin() as session:
        account = AccountRepository(session).get("main")
        assert account is not None
        other = BotRepository(session).create("tv2", type="signal", account_id=account.id, config_toml="").id
        _add(session, bot_id)
        _add(session, other)
        assert len(session.scalars(select(SignalRow)).all()) == 2


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"digest": "A" * 64}, "digest must be 64 lower-case hex"),
        ({"action": "buy"}, "action must be one of enter_long"),
        ({"currency_type": "usd"}, "currency_type must be base, quote or percent"),
        ({"status": "handled"}, "expected status pending or refused"),
        ({"status": "refused"}, "a refused signal must say why"),
        ({"status": "done"}, "status must be pending, handled or refused"),
    ],
)
def test_add_refuses_malformed_values(
    sessions: sessionmaker[Session], bot_id: int, changes: dict[str, object], message: str
) -> None:
    values = dict(changes)
    digest = str(values.pop("digest", DIGEST_A))
    with sessions.begin() as session, pytest.raises(ValidationError, match=message):
        _add(session, bot_id, digest, **values)


def test_add_for_an_unknown_bot_is_refused(sessions: sessionmaker[Session], bot_id: int) -> None:
    with sessions.begin() as session, pytest.raises(ValidationError, match="no bot with id 999"):
        _add(session, 999)


def test_mark_moves_a_pending_signal_once_and_a_retry_is_harmless(sessions: sessionmaker[Session], bot_id: int) -> None:
    with sessions.begin() as session:
        first = _add(session, bot_id)
        second = _add(session, bot_id, DIGEST_B)
    with sessions.begin() as session:
        repo = SignalRepository(session)
        handled = repo.mark(first.id, SignalStatus.HANDLED)
        assert handled.status is SignalStatus.HANDLED
        assert repo.mark(first.id, "handled") == handled
        repo.mark(second.id, "refused", "pair busy")
    with sessions.begin() as session:
        repo = SignalRepository(session)
        assert repo.pending(bot_id) == []
        got = repo.get(second.id)
        assert got is not None
        assert (got.status, got.reason) == (SignalStatus.REFUSED, "pair busy")
        assert [s.id for s in repo.recent(bot_id)] == [second.id, first.id]
        with pytest.raises(ValidationError, match="already handled; expected a pending signal to mark refused"):
            repo.mark(first.id, "refused", "late")
        with pytest.raises(ValidationError, match="marked handled or refused; got pending"):
            repo.mark(first.id, "pending")
        with pytest.raises(ValidationError, match="no signal with id 999"):
            repo.mark(999, "handled")


def test_a_replay_racing_past_the_digest_lookup_loses_on_the_unique_constraint(
    sessions: sessionmaker[Session], bot_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sessions.begin() as session:
        _add(session, bot_id)
    with sessions.begin() as session:
        repo = SignalRepository(session)
        lookups: list[str] = []
        real = repo._by_digest

        def racing(bot: int, digest: str) -> SignalRow | None:
            lookups.append(digest)
            return None if len(lookups) == 1 else real(bot, digest)  # the first lookup misses the other insert

        monkeypatch.setattr(repo, "_by_digest", racing)
        with pytest.raises(ReplayedSignal):
            repo.add(bot_id, DIGEST_A, action="enter_long", pair="BTC/USDT", sent_ms=1)
        assert len(lookups) == 2
        repo.add(bot_id, DIGEST_B, action="enter_long", pair="BTC/USDT", sent_ms=1)  # the session is still usable
    with sessions.begin() as session:
        assert len(SignalRepository(session).pending(bot_id)) == 2


def test_a_delayed_signal_stays_pending_and_is_due_only_from_its_time(
    sessions: sessionmaker[Session], bot_id: int
) -> None:
    due = 1_714_564_830_000
    with sessions.begin() as session:
        delayed = _add(session, bot_id, not_before_ms=due)
        now = _add(session, bot_id, DIGEST_B, currency_type="percent", amount=Decimal("40"), action="exit_long")
    with sessions() as session:
        repo = SignalRepository(session)
        assert [s.id for s in repo.pending(bot_id)] == [delayed.id, now.id]  # both wait in the database
        assert [s.id for s in repo.pending(bot_id, due_by_ms=due - 1)] == [now.id]
        assert [s.id for s in repo.pending(bot_id, due_by_ms=due)] == [delayed.id, now.id]
        stored = repo.get(delayed.id)
        assert stored is not None
        assert stored.not_before_ms == due
        partial = repo.get(now.id)
        assert partial is not None
        assert (partial.currency_type, partial.amount) == ("percent", Decimal("40"))
