"""``/panic``: what ``bastion panic`` does (stop every bot, cancel every open order through the
signer, purge its secrets, stop it), after a fresh second factor. Admins only: it stops everything."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from bastion.errors import SignerRefused, SignerUnavailable
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


def _panic() -> tuple[int, dict[str, Any] | None, str | None]:
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.client import SignerClient
    from bastion.services.bots import stop_all_bots

    stopped = stop_all_bots()
    try:
        with SignerClient(HomeLayout.from_env().socket, timeout=120) as signer:
            report = signer.call("panic")
    except SignerUnavailable:
        return (
            stopped,
            None,
            "no signer is running: no secret is decrypted anywhere, but open orders were NOT cancelled",
        )
    except SignerRefused as error:
        return stopped, None, f"the signer refused the panic ({error}); run `bastion panic` as the operator now"
    return stopped, report, None


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
    stopped, report, problem = _panic()
    return render(
        request, "panic.html", user, section="/panic", title="Panic", report=report, stopped=stopped, error=problem
    )
