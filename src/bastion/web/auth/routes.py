"""``/api/v1/auth/...``: the login steps, the second factors (also the step-up), logout, the session.

The login is two steps when the user has a second factor: ``POST /login`` (name and password)
gives a session at stage ``second_factor`` that can do nothing but finish the login, then
``POST /totp/verify`` or ``POST /passkeys/authenticate/options`` + ``/verify`` makes it
``full`` (with a new session id). With a full session the same second-factor endpoints are the
step-up: they make the factor fresh for five minutes (connecting a key, loosening a policy,
going live and panic need that). Every POST but ``/login`` needs the CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bastion.web.auth.context import ActiveSession, AuthContext, NewSession
from bastion.web.auth.deps import auth_context, origin_refusal, pending_or_full_session, require_csrf
from bastion.web.auth.login import LoginRefused, factors_of, password_login
from bastion.web.auth.schemas import LoginAnswer, PasswordLogin, SessionAnswer
from bastion.web.schemas import Problem

__all__ = ["router", "set_session_cookie"]

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

_REFUSALS: dict[int | str, dict[str, Any]] = {status: {"model": Problem} for status in (401, 403, 422, 429)}
Context = Annotated[AuthContext, Depends(auth_context)]
AnySession = Annotated[ActiveSession, Depends(pending_or_full_session)]


def set_session_cookie(response: Response, context: AuthContext, session: NewSession) -> None:
    """Set the session cookie: httpOnly, SameSite=Strict, path /, Secure under TLS; no Max-Age."""
    response.set_cookie(
        context.settings.cookie_name, session.token, httponly=True, samesite="strict", secure=context.settings.tls,
        path="/",
    )  # fmt: skip


def refused(error: LoginRefused) -> JSONResponse:
    """The HTTP answer of a refused login step."""
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s is not None else None
    return JSONResponse(status_code=error.status, content={"detail": error.detail}, headers=headers)


@router.post("/login", response_model=LoginAnswer, responses=_REFUSALS)
async def login(body: PasswordLogin, request: Request, context: Context) -> Response:
    """Check the name and password; set the session cookie.

    Answers ``stage: second_factor`` when a passkey or TOTP code must follow (the session can
    do nothing else until then), else ``full``.
    """
    cross = origin_refusal(request)
    if cross is not None:
        raise HTTPException(status_code=403, detail=cross)
    client = request.client.host if request.client is not None else "unknown"
    try:
        session, factors = await run_in_threadpool(
            password_login, context, name=body.name, password=body.password, client=client
        )
    except LoginRefused as error:
        return refused(error)
    stage = "full" if session.stage == "full" else "second_factor"
    answer = LoginAnswer(stage=stage, factors=factors, csrf_token=session.csrf_token)  # type: ignore[arg-type]
    response = JSONResponse(answer.model_dump())
    set_session_cookie(response, context, session)
    return response


@router.post("/logout", status_code=204, dependencies=[Depends(require_csrf)], responses=_REFUSALS)
def logout(active: AnySession, context: Context) -> Response:
    """End the session and clear its cookie."""
    context.end(active)
    response = Response(status_code=204)
    response.delete_cookie(context.settings.cookie_name, path="/", secure=context.settings.tls, httponly=True,
                           samesite="strict")  # fmt: skip
    return response


@router.get("/whoami", response_model=SessionAnswer, responses=_REFUSALS)
def whoami(active: AnySession, context: Context) -> SessionAnswer:
    """Return the session: the user, its stage, the CSRF token, the enrolled factors, whether one is fresh.

    Works also while the second factor is still due (``stage: second_factor``).
    """
    user = active.user
    return SessionAnswer(
        id=user.id,
        name=user.name,
        role=user.role,  # type: ignore[arg-type]
        phrase=user.phrase,
        stage="full" if active.record.stage == "full" else "second_factor",
        factors=factors_of(context, user.id),  # type: ignore[arg-type]
        csrf_token=active.record.csrf_token,
        fresh_factor=context.fresh(active.record),
    )
