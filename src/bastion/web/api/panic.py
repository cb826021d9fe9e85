"""``POST /api/v1/panic``: what ``bastion panic`` does, from the web (admin, CSRF, fresh second factor).

Every bot in the database is disabled, then the signer's ``panic`` (which the web role may
call: it only cancels open orders, purges the decrypted keys and stops the signer) runs with
the acting web user named, so the signer's audit log records who panicked.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from bastion.services import panic as panic_service
from bastion.web.api._common import CHANGE_FRESH, refusals, run, sessions_of, signer_of
from bastion.web.auth.deps import WebUser, require_role

__all__ = ["PanicOut", "router"]

_log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["panic"])
Admin = Annotated[WebUser, Depends(require_role("admin"))]


class PanicOut(BaseModel):
    """What the panic did: bots disabled, the signer's report per account, and what could not be done."""

    bots_stopped: int
    report: dict[str, Any] | None
    problem: str | None


def web_panic(request: Request, user: WebUser) -> panic_service.PanicOutcome:
    """Panic for ``user`` through the app's database and signer client; log who did it."""
    _log.warning("PANIC requested from the web by user %s", user.name)
    outcome = panic_service.panic(sessions_of(request), signer_of(request), requested_by=f"web:{user.name}")
    _log.warning("PANIC by user %s: %d bot(s) stopped; %s", user.name, outcome.bots_stopped,
                 outcome.problem or "the signer cancelled open orders and is stopping")  # fmt: skip
    return outcome


@router.post("/panic", response_model=PanicOut, dependencies=CHANGE_FRESH, responses=refusals())
async def panic(user: Admin, request: Request) -> PanicOut:
    """Stop every bot, cancel every open order through the signer, purge its secrets and stop it.

    Needs an admin, the CSRF token and a second factor given within five minutes. ``problem``
    says what could not be done (no signer answering: open orders were not cancelled).
    """
    outcome = await run(web_panic, request, user)
    return PanicOut(bots_stopped=outcome.bots_stopped, report=outcome.report, problem=outcome.problem)
