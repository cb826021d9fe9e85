"""FastAPI dependencies of the web login (names fixed: the pages and other routers use them).

- :func:`current_user` -> :class:`WebUser`; 401 without a complete, unexpired session.
- :func:`require_role` ``(*roles)`` -> a dependency; 403 for another role.
- :func:`require_csrf`: the header ``X-CSRF-Token`` or the form field ``csrf_token`` must equal
  the session's token (403 otherwise); a state change from another origin is refused too
  (``Origin: null``, a same-origin form post under no-referrer, passes only with the token).
- :func:`require_fresh_factor`: 403 ``fresh second factor required`` unless a passkey or TOTP
  code was given within five minutes.
- :func:`csrf_token_for` ``(request)`` -> the session's CSRF token, for templates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from bastion.web.auth.context import ActiveSession, AuthContext, WebUser

__all__ = [
    "FRESH_FACTOR_REQUIRED",
    "WebUser",
    "active_session",
    "auth_context",
    "csrf_token_for",
    "current_user",
    "pending_or_full_session",
    "require_csrf",
    "require_fresh_factor",
    "require_role",
]

#: The detail of the 403 a route answers when it needs a fresh second factor.
FRESH_FACTOR_REQUIRED = "fresh second factor required"
NOT_LOGGED_IN = "not logged in: log in at /login (a session is needed for this route)"
_SECOND_FACTOR_DUE = "second factor required: give your passkey or a TOTP code to finish logging in"
_STATE = "bastion_session"


def auth_context(request: Request) -> AuthContext:
    """Return the app's :class:`AuthContext`."""
    context = getattr(request.app.state, "auth", None)
    if not isinstance(context, AuthContext):
        raise RuntimeError("the app has no AuthContext on app.state.auth")
    return context


def _load(request: Request) -> ActiveSession | None:
    cached = getattr(request.state, _STATE, False)
    if cached is None or isinstance(cached, ActiveSession):
        return cached
    context = auth_context(request)
    active = context.load(request.cookies.get(context.settings.cookie_name))
    setattr(request.state, _STATE, active)
    return active


def pending_or_full_session(request: Request) -> ActiveSession:
    """Return the request's session, also one whose second factor is still due; 401 without one."""
    active = _load(request)
    if active is None:
        raise HTTPException(status_code=401, detail=NOT_LOGGED_IN)
    return active


def active_session(request: Request) -> ActiveSession:
    """Return the request's complete session; 401 without one (or while the second factor is due)."""
    active = pending_or_full_session(request)
    if active.record.stage != "full":
        raise HTTPException(status_code=401, detail=_SECOND_FACTOR_DUE)
    return active


def current_user(request: Request) -> WebUser:
    """Return the logged-in user; 401 without a complete session."""
    return active_session(request).web_user


def require_role(*roles: str) -> Callable[[WebUser], WebUser]:
    """Return a dependency that lets only users with one of ``roles`` through (403 otherwise)."""
    allowed = frozenset(roles)

    def dependency(user: Annotated[WebUser, Depends(current_user)]) -> WebUser:
        if user.role not in allowed:
            raise HTTPException(
                status_code=403,
                detail=f"role {user.role} may not do this; expected one of {', '.join(sorted(allowed))}",
            )
        return user

    return dependency


def _cross_origin(request: Request, context: AuthContext, *, opaque_ok: bool = False) -> str | None:
    origin = request.headers.get("origin")
    if opaque_ok and origin == "null":
        origin = None  # a same-origin form post under no-referrer; the caller checks the CSRF token
    if origin is not None and origin not in context.settings.origins:
        return f"a request from origin {origin[:100]!r} is refused; expected one of this server's origins"
    if request.headers.get("sec-fetch-site") == "cross-site":
        return "a cross-site request is refused"
    return None


async def require_csrf(request: Request) -> None:
    """Refuse (403) a request without the session's CSRF token, or from another origin; 401 without a session.

    ``Origin: null`` (what a browser sends with a same-origin form post under
    ``Referrer-Policy: no-referrer``) or no ``Origin`` counts as no origin: such a request gets
    through only with the session's token, which a page on another origin cannot read (and the
    ``SameSite=Strict`` cookie is not sent by it). A named foreign origin, or ``Sec-Fetch-Site:
    cross-site``, is refused whatever the token.
    """
    active = await run_in_threadpool(pending_or_full_session, request)
    context = auth_context(request)
    refused = _cross_origin(request, context, opaque_ok=True)
    if refused is not None:
        raise HTTPException(status_code=403, detail=refused)
    given = request.headers.get("x-csrf-token")
    content_type = request.headers.get("content-type", "")
    if given is None and content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if given is None or not context.same(given, active.record.csrf_token):
        raise HTTPException(
            status_code=403,
            detail="missing or wrong CSRF token; expected the session's token in the X-CSRF-Token header "
            "or the csrf_token form field",
        )


def require_fresh_factor(request: Request) -> None:
    """Refuse (403, :data:`FRESH_FACTOR_REQUIRED`) unless a second factor was given within five minutes."""
    active = active_session(request)
    if not auth_context(request).fresh(active.record):
        raise HTTPException(status_code=403, detail=FRESH_FACTOR_REQUIRED)


def origin_refusal(request: Request) -> str | None:
    """Return why a request from its ``Origin`` is refused (another origin, cross-site), or None."""
    return _cross_origin(request, auth_context(request))


def csrf_token_for(request: Request) -> str:
    """Return the CSRF token of the request's session (for a template's forms); empty without a session."""
    active = _load(request)
    return "" if active is None else active.record.csrf_token
