"""``/panic``: what ``bastion panic`` does (stop every bot, cancel every open order through the
signer, purge its secrets, stop it), after a fresh second factor. Admins only: it stops everything.

It goes through the app's signer client like ``POST /api/v1/panic`` (the signer gives the web
role ``panic``), so it works when the web runs as its own user, not the operator's."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from bastion.web.api.panic import web_panic
from bastion.web.auth.deps import require_csrf, require_fresh_factor
from bastion.web.pages._common import login_redirect, page_user, render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/panic")
def panic_page(request: Request) -> Response:
    """Explain what panic does; the button asks for the passkey first."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    return render(request, "panic.html", user, section="/panic", title="Panic", report=None)


@router.post("/panic", dependencies=[Depends(require_csrf)])
def panic(request: Request) -> Response:
    """Panic now (admin, fresh second factor)."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    if user.role != "admin":
        refusal = f"role {user.role} may not panic: it stops every bot and the signer; ask an admin"
        return render(
            request, "panic.html", user, section="/panic", title="Panic", report=None, status_code=403, error=refusal
        )
    try:
        require_fresh_factor(request)
    except HTTPException as error:
        due = f"{error.detail}: confirm with your passkey, then panic"
        return render(
            request, "panic.html", user, section="/panic", title="Panic", report=None, status_code=403, error=due
        )
    outcome = web_panic(request, user)
    return render(
        request, "panic.html", user, section="/panic", title="Panic", report=outcome.report,
        stopped=outcome.bots_stopped, error=outcome.problem,
    )  # fmt: skip
