"""Panic from the web: stop every bot in this database, then ask the signer to panic.

What ``bastion panic`` does, for the web process: it disables every enabled bot, then calls the
signer's ``panic`` (allowed to the web role: it only cancels open orders, purges the decrypted
keys and stops the signer), naming the web user who asked so the signer's audit log records it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import SignerRefused, SignerUnavailable
from bastion.services.accounts import SignerCalls

__all__ = ["PanicOutcome", "panic", "stop_bots"]


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
    try:
        report = signer.call("panic", requested_by=requested_by)
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
