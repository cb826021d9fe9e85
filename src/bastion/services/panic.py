"""Panic from the web: stop every bot in this database, then ask the signer to panic.

What ``bastion panic`` does, for the web process: it disables every enabled bot, then calls the
signer's ``panic`` (allowed to the web role: it only cancels open orders, purges the decrypted
keys and stops the signer), naming the web user who asked so the signer's audit log records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import SignerNoAnswer, SignerRefused, SignerUnavailable
from bastion.services.accounts import SignerCalls

__all__ = ["PANIC_ANSWER_S", "PanicOutcome", "panic", "stop_bots"]

#: How long a panic waits for the signer's answer: it cancels every open order on every exchange
#: first (as ``bastion panic`` waits), so the client's usual timeout is raised to this for the call.
PANIC_ANSWER_S = 120.0


@dataclass(frozen=True, slots=True, kw_only=True)
class PanicOutcome:
    """What a panic did: bots stopped, the signer's report (None when it did not answer), and why not."""

    bots_stopped: int
    report: dict[str, Any] | None = field(default=None)
    problem: str | None = None


def stop_bots(sessions: sessionmaker[Session]) -> int:
    """Disable every enabled bot; return how many were enabled."""
    from bastion.storage import BotRepository

    with sessions.begin() as session:
        bots = BotRepository(session)
        enabled = bots.all(enabled=True)
        for bot in enabled:
            bots.set_enabled(bot.name, False)
        return len(enabled)


def panic(sessions: sessionmaker[Session], signer: SignerCalls, *, requested_by: str) -> PanicOutcome:
    """Stop every bot, then have the signer cancel every open order, purge its secrets and stop.

    Never raises for a signer that does not answer or refuses: the outcome says what was not done.
    """
    stopped = stop_bots(sessions)
    waited = _be_patient(signer)
    try:
        report = signer.call("panic", requested_by=requested_by)
    except SignerNoAnswer:
        return PanicOutcome(
            bots_stopped=stopped,
            problem=f"the signer got the panic but gave no answer within {waited:g} s: it may still be cancelling "
            "orders. Check each exchange's open orders and the signer's audit log (`bastion audit verify`); "
            "run `bastion panic` as the operator to be sure",
        )
    except SignerUnavailable:
        return PanicOutcome(
            bots_stopped=stopped,
            problem="no signer answers: no secret is decrypted anywhere, but open orders were NOT cancelled",
        )
    except SignerRefused as error:
        return PanicOutcome(
            bots_stopped=stopped,
            problem=f"the signer refused the panic ({error}); run `bastion panic` as the operator now",
        )
    return PanicOutcome(bots_stopped=stopped, report=report if isinstance(report, dict) else None)


def _be_patient(signer: SignerCalls) -> float:
    """Raise a socket client's answer timeout to :data:`PANIC_ANSWER_S`; return the timeout in force."""
    timeout = getattr(signer, "timeout", None)
    if not isinstance(timeout, int | float):
        return PANIC_ANSWER_S
    if timeout < PANIC_ANSWER_S:
        signer.timeout = PANIC_ANSWER_S  # type: ignore[attr-defined]
        return PANIC_ANSWER_S
    return float(timeout)
