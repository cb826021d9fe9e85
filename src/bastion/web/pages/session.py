"""``/login``, ``/logout`` and ``/security`` (passkey registration): pages over the login API
(``/api/v1/auth/...``); the scripts do the WebAuthn ceremonies with @simplewebauthn/browser."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from bastion.web.auth.deps import auth_context, pending_or_full_session, require_csrf
from bastion.web.pages._common import login_redirect, page_user, render

__all__ = ["router", "safe_next"]

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Return a local path to go to after logging in (never another site: ``//evil`` or ``https://``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login(request: Request, next: str = "/") -> Response:
    """The login form: name and password, then a passkey (or a TOTP code)."""
    origin = f"{request.url.scheme}://{request.url.netloc}"
    return render(request, "login.html", None, title="Log in", next=safe_next(next), origin=origin)


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    """End the session and clear its cookie; back to /login."""
    context = auth_context(request)
    try:
        active = pending_or_full_session(request)
    except HTTPException:
        return RedirectResponse("/login", status_code=303)
    context.end(active)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(
        context.settings.cookie_name, path="/", secure=context.settings.tls, httponly=True, samesite="strict"
    )
    return response


@router.get("/security")
def security(request: Request) -> Response:
    """Register a passkey (bound to this origin); the factors enrolled."""
    from bastion.web.auth.login import factors_of

    user = page_user(request)
    if user is None:
        return login_redirect(request)
    origin = f"{request.url.scheme}://{request.url.netloc}"
    factors = list(factors_of(auth_context(request), user.id))
    return render(request, "security.html", user, section="/security", origin=origin, factors=factors)
