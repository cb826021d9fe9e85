"""Signal bots' webhook secrets and the signals they received.

A signal bot's webhook is ``POST /api/v1/signals/{uuid}`` with a ``secret`` in the body. Only
the SHA-256 of the secret is stored: a stolen database lets nobody send signals. Received
signals are kept with a ``digest`` of their payload, unique per bot, so a replayed payload is
refused, and a status: ``pending`` until the engine passed it to the bot, then ``handled``;
``refused`` for a signal the web layer authenticated but would not accept (kept for the audit
trail, and so that its replay is refused too).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import uuid as uuid_module
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import exc, or_, select

from bastion.errors import ValidationError
from bastion.storage.models import BotRow, SignalRow, SignalSecretRow
from bastion.storage.repositories._base import Repository

__all__ = ["ReplayedSignal", "SignalRecord", "SignalRepository", "SignalStatus", "secret_digest"]

_DIGEST = re.compile(r"[0-9a-f]{64}")
_ACTIONS = ("enter_long", "exit_long", "enter_short", "exit_short")
_CURRENCIES = ("base", "quote", "percent")
#: Compared with when a bot has no secret, so that an unknown bot costs the same time as a wrong secret.
_NO_SECRET = "0" * 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SignalStatus(enum.StrEnum):
    """Where a received signal is: waiting for the engine, passed to the bot, or refused on arrival."""

    PENDING = "pending"
    HANDLED = "handled"
    REFUSED = "refused"


class ReplayedSignal(ValidationError):
    """A signal whose payload digest this bot already received: a replay, refused."""

    def __init__(self, message: str, *, bot_id: int, digest: str) -> None:
        super().__init__(message)
        self.bot_id = bot_id
        self.digest = digest


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalRecord:
    """One received signal."""

    id: int
    bot_id: int
    digest: str
    action: Literal["enter_long", "exit_long", "enter_short", "exit_short"]
    pair: str
    amount: Decimal | None
    currency_type: Literal["base", "quote", "percent"]
    trigger_price: Decimal | None
    sent_ms: int
    received_at: datetime
    status: SignalStatus
    reason: str | None
    not_before_ms: int | None = None
    """A delayed signal is not handed to its bot before this time (epoch ms); None: at once."""

    @property
    def received_ms(self) -> int:
        """``received_at`` in epoch milliseconds (what ``bastion.bots.interface.Signal`` takes)."""
        return (self.received_at - _EPOCH) // timedelta(milliseconds=1)


def _record(row: SignalRow) -> SignalRecord:
    return SignalRecord(
        id=row.id,
        bot_id=row.bot_id,
        digest=row.digest,
        action=row.action,  # type: ignore[arg-type]
        pair=row.pair,
        amount=row.amount,
        currency_type=row.currency_type,  # type: ignore[arg-type]
        trigger_price=row.trigger_price,
        sent_ms=row.sent_ms,
        received_at=row.received_at,
        status=SignalStatus(row.status),
        reason=row.reason,
        not_before_ms=row.not_before_ms,
    )


def secret_digest(secret: str) -> str:
    """Return the SHA-256 hex digest of a webhook secret (what is stored and compared)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SignalRepository(Repository):
    """Create webhook secrets, check them, and store and mark received signals."""

    # --- webhook identity ---------------------------------------------------------------------

    def create_secret(self, bot_id: int) -> tuple[str, str]:
        """Give the bot a new webhook uuid and secret, replacing any it had; return both.

        The secret is 32 random bytes (256 bits), URL-safe base64; only its SHA-256 is stored,
        so this is the only time it can be shown. The uuid changes too: the old webhook URL
        stops working at once.

        Raises
        ------
        ValidationError
            There is no bot with this id.
        """
        if self.session.get(BotRow, bot_id) is None:
            raise ValidationError(f"no bot with id {bot_id}; expected the id of an existing bot")
        identity = str(uuid_module.uuid4())
        secret = secrets.token_urlsafe(32)
        row = self.session.get(SignalSecretRow, bot_id)
        if row is None:
            row = SignalSecretRow(bot_id=bot_id, uuid=identity, secret_sha256="", created_at=self.clock())
            self.session.add(row)
        row.uuid = identity
        row.secret_sha256 = secret_digest(secret)
        row.created_at = self.clock()
        self.session.flush()
        return identity, secret

    def bot_for_uuid(self, uuid: str) -> int | None:
        """Return the id of the bot whose webhook uuid this is, or None."""
        return self.session.scalar(select(SignalSecretRow.bot_id).where(SignalSecretRow.uuid == uuid))

    def uuid_for_bot(self, bot_id: int) -> str | None:
        """Return the bot's webhook uuid, or None when it has no webhook secret."""
        row = self.session.get(SignalSecretRow, bot_id)
        return None if row is None else row.uuid

    def check_secret(self, bot_id: int, secret: str) -> bool:
        """Return whether ``secret`` is the bot's webhook secret (constant-time compare of digests).

        A bot without a secret compares against a dummy digest, so both answers take as long.
        """
        row = self.session.get(SignalSecretRow, bot_id)
        stored = _NO_SECRET if row is None else row.secret_sha256
        same = hmac.compare_digest(secret_digest(secret).encode("ascii"), stored.encode("ascii"))
        return same and row is not None

    # --- received signals ---------------------------------------------------------------------

    def add(
        self,
        bot_id: int,
        digest: str,
        *,
        action: str,
        pair: str,
        sent_ms: int,
        amount: Decimal | None = None,
        currency_type: str = "quote",
        trigger_price: Decimal | None = None,
        status: SignalStatus | str = SignalStatus.PENDING,
        reason: str | None = None,
        not_before_ms: int | None = None,
    ) -> SignalRecord:
        """Store a received signal and return it.

        Parameters
        ----------
        bot_id
            The bot it is for.
        digest
            SHA-256 hex of the payload's canonical form; a second signal with it is a replay.
        action, pair, sent_ms, amount, currency_type, trigger_price
            What the signal says (``sent_ms``: its own timestamp, epoch milliseconds;
            ``currency_type`` ``percent``: an exit of ``amount`` percent of the position).
        not_before_ms
            A delayed signal: not handed to the bot before this time (epoch milliseconds).
        status, reason
            ``pending`` (the default) for the engine to pick up, or ``refused`` with why.

        Raises
        ------
        ReplayedSignal
            The bot already received a signal with this digest (nothing is stored).
        ValidationError
            A value is malformed or the bot does not exist.
        """
        if not isinstance(digest, str) or _DIGEST.fullmatch(digest) is None:
            raise ValidationError(f"signal digest must be 64 lower-case hex characters (SHA-256), got {digest!r}")
        if action not in _ACTIONS:
            raise ValidationError(f"signal action must be one of {', '.join(_ACTIONS)}; got {action!r}")
        if currency_type not in _CURRENCIES:
            raise ValidationError(f"signal currency_type must be base, quote or percent; got {currency_type!r}")
        state = _status(status)
        if state is SignalStatus.HANDLED:
            raise ValidationError("a new signal is pending or refused; expected status pending or refused, got handled")
        if state is SignalStatus.REFUSED and not reason:
            raise ValidationError("a refused signal must say why; expected a reason")
        if self.session.get(BotRow, bot_id) is None:
            raise ValidationError(f"no bot with id {bot_id}; expected the id of an existing bot")
        if self._by_digest(bot_id, digest) is not None:
            raise _replayed(bot_id, digest)
        row = SignalRow(
            bot_id=bot_id,
            digest=digest,
            action=action,
            pair=pair,
            amount=amount,
            currency_type=currency_type,
            trigger_price=trigger_price,
            sent_ms=sent_ms,
            received_at=self.clock(),
            status=state.value,
            reason=reason,
            not_before_ms=not_before_ms,
        )
        try:
            with self.session.begin_nested():  # a concurrent replay loses on the unique constraint
                self.session.add(row)
        except exc.IntegrityError:
            if self._by_digest(bot_id, digest) is not None:
                raise _replayed(bot_id, digest) from None
            raise
        return _record(row)

    def seen(self, bot_id: int, digest: str) -> bool:
        """Return whether the bot already received a signal with this digest (of any status)."""
        return self._by_digest(bot_id, digest) is not None

    def get(self, signal_id: int) -> SignalRecord | None:
        """Return the signal with this id, or None."""
        row = self.session.get(SignalRow, signal_id)
        return None if row is None else _record(row)

    def pending(self, bot_id: int, *, due_by_ms: int | None = None) -> list[SignalRecord]:
        """Return the bot's pending signals, oldest first; with ``due_by_ms``, only those due by then
        (a delayed signal waits until its ``not_before_ms``)."""
        query = (
            select(SignalRow)
            .where(SignalRow.bot_id == bot_id, SignalRow.status == SignalStatus.PENDING.value)
            .order_by(SignalRow.id)
        )
        if due_by_ms is not None:
            query = query.where(or_(SignalRow.not_before_ms.is_(None), SignalRow.not_before_ms <= due_by_ms))
        return [_record(row) for row in self.session.scalars(query)]

    def recent(self, bot_id: int, *, limit: int = 50) -> list[SignalRecord]:
        """Return the bot's latest signals of any status, newest first."""
        query = select(SignalRow).where(SignalRow.bot_id == bot_id).order_by(SignalRow.id.desc()).limit(limit)
        return [_record(row) for row in self.session.scalars(query)]

    def mark(self, signal_id: int, status: SignalStatus | str, reason: str | None = None) -> SignalRecord:
        """Mark a pending signal handled or refused, and return it.

        Marking a signal again with the status it already has changes nothing (a retry after a
        crash); any other change of a signal that is no longer pending is refused.

        Raises
        ------
        ValidationError
            No such signal, ``status`` is not handled or refused, or the signal already has
            another final status.
        """
        state = _status(status)
        if state is SignalStatus.PENDING:
            raise ValidationError("a signal can be marked handled or refused; got pending")
        row = self.session.get(SignalRow, signal_id)
        if row is None:
            raise ValidationError(f"no signal with id {signal_id}")
        if row.status == state.value:
            return _record(row)
        if row.status != SignalStatus.PENDING.value:
            raise ValidationError(
                f"signal {signal_id} is already {row.status}; expected a pending signal to mark {state.value}"
            )
        row.status = state.value
        row.reason = reason
        self.session.flush()
        return _record(row)

    def _by_digest(self, bot_id: int, digest: str) -> SignalRow | None:
        return self.session.scalar(select(SignalRow).where(SignalRow.bot_id == bot_id, SignalRow.digest == digest))


def _status(status: SignalStatus | str) -> SignalStatus:
    try:
        return SignalStatus(status)
    except ValueError:
        raise ValidationError(f"signal status must be pending, handled or refused; got {status!r}") from None


def _replayed(bot_id: int, digest: str) -> ReplayedSignal:
    return ReplayedSignal(
        f"bot {bot_id} already received a signal with this payload (digest {digest[:12]}...); a replay is refused, "
        "expected a new signal with a new timestamp",
        bot_id=bot_id,
        digest=digest,
    )
