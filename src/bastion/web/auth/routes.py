"""``/api/v1/auth/...``: the login steps, the second factors (also the step-up), logout, the session.

The login is two steps when the user has a second factor: ``POST /login`` (name and password)
gives a session at stage ``second_factor`` that can do nothing but finish the login, then
``POST /totp/verify`` or ``POST /passkeys/authenticate/options`` + ``/verify`` makes it
``full`` (with a new session id). With a full session the same second-factor endpoints are the
step-up: they make the factor fresh for five minutes (connecting a key, loosening a policy,
going live and panic need that). Every POST but ``/login`` needs the CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bastion.storage.repositories.users import PasskeyRecord, WebSessionRepository
from bastion.web.auth import passkeys, totp
from bastion.web.auth.context import ActiveSession, AuthContext, NewSession
from bastion.web.auth.deps import (
    FRESH_FACTOR_REQUIRED,
    active_session,
    auth_context,
    origin_refusal,
    pending_or_full_session,
    require_csrf,
    require_fresh_factor,
)
from bastion.web.auth.login import LoginRefused, factors_of, password_login
from bastion.web.auth.schemas import (
    FactorAnswer,
    LoginAnswer,
    PasskeyAnswer,
    PasskeyVerify,
    PasswordLogin,
    SessionAnswer,
    TotpCode,
    TotpEnrolment,
)
from bastion.web.schemas import Problem

__all__ = ["router", "set_session_cookie"]

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
T = TypeVar("T")

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


# --- second factors -----------------------------------------------------------------------------

FullSession = Annotated[ActiveSession, Depends(active_session)]


def _second_factor_given(context: AuthContext, active: ActiveSession) -> Response:
    """Finish a login (new session id and CSRF token) or, on a complete session, make the factor fresh."""
    if active.record.stage == "full":
        context.step_up(active)
        return JSONResponse(FactorAnswer(stage="full", csrf_token=active.record.csrf_token).model_dump())
    session = context.complete_second_factor(active)
    response = JSONResponse(FactorAnswer(stage="full", csrf_token=session.csrf_token).model_dump())
    set_session_cookie(response, context, session)
    return response


def _needs_fresh_factor_once_enrolled(context: AuthContext, active: ActiveSession) -> None:
    # A session without any second factor may enrol the first; after that, adding or replacing
    # one needs a fresh factor (else a stolen session could add the thief's).
    if factors_of(context, active.user.id) and not context.fresh(active.record):
        raise HTTPException(status_code=403, detail=FRESH_FACTOR_REQUIRED)


async def _call(function: Callable[..., T], *args: Any) -> T:
    try:
        return await run_in_threadpool(function, *args)
    except LoginRefused as error:
        headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s is not None else None
        raise HTTPException(status_code=error.status, detail=error.detail, headers=headers) from None


_FACTOR_REFUSALS: dict[int | str, dict[str, Any]] = {s: {"model": Problem} for s in (400, 401, 403, 409, 422, 429)}


@router.post("/totp/enrol", response_model=TotpEnrolment, dependencies=[Depends(require_csrf)],
             responses=_FACTOR_REFUSALS)  # fmt: skip
async def totp_enrol(active: FullSession, context: Context) -> TotpEnrolment:
    """Make a new TOTP secret (shown this once); it counts only after ``POST /totp/confirm``.

    Replacing an enrolled factor needs a fresh second factor.
    """
    _needs_fresh_factor_once_enrolled(context, active)
    secret, uri = await _call(totp.enrol, context, active.user.id, active.user.name)
    return TotpEnrolment(secret=secret, uri=uri)


@router.post("/totp/confirm", status_code=204, dependencies=[Depends(require_csrf)], responses=_FACTOR_REFUSALS)
async def totp_confirm(body: TotpCode, active: FullSession, context: Context) -> Response:
    """Confirm the new TOTP secret with a code from the app."""
    await _call(totp.confirm, context, active.user.id, body.code)
    return Response(status_code=204)


@router.post("/totp/verify", response_model=FactorAnswer, dependencies=[Depends(require_csrf)],
             responses=_FACTOR_REFUSALS)  # fmt: skip
async def totp_verify(body: TotpCode, active: AnySession, context: Context) -> Response:
    """Give a TOTP code: finishes the login, or (logged in) makes the second factor fresh for five minutes.

    A code is accepted once; wrong codes count towards the lockout.
    """
    await _call(totp.check_code, context, active.user.id, body.code)
    return _second_factor_given(context, active)


@router.post("/passkeys/register/options", response_model=dict[str, Any], dependencies=[Depends(require_csrf)],
             responses=_FACTOR_REFUSALS)  # fmt: skip
async def passkey_register_options(active: FullSession, context: Context) -> dict[str, Any]:
    """Options for ``navigator.credentials.create`` (``startRegistration`` of @simplewebauthn/browser)."""
    _needs_fresh_factor_once_enrolled(context, active)
    return await _call(passkeys.registration_options, context, active)


@router.post("/passkeys/register/verify", response_model=PasskeyAnswer, dependencies=[Depends(require_csrf)],
             responses=_FACTOR_REFUSALS)  # fmt: skip
async def passkey_register_verify(body: PasskeyVerify, active: FullSession, context: Context) -> PasskeyAnswer:
    """Check the browser's registration answer against the pending challenge and store the passkey."""
    _needs_fresh_factor_once_enrolled(context, active)
    key = await _call(passkeys.verify_registration, context, active, body.credential, body.label)
    return _passkey_answer(key)


@router.post("/passkeys/authenticate/options", response_model=dict[str, Any],
             dependencies=[Depends(require_csrf)], responses=_FACTOR_REFUSALS)  # fmt: skip
async def passkey_authenticate_options(active: AnySession, context: Context) -> dict[str, Any]:
    """Options for ``navigator.credentials.get`` (``startAuthentication``), allowing this user's passkeys."""
    return await _call(passkeys.authentication_options, context, active)


@router.post("/passkeys/authenticate/verify", response_model=FactorAnswer, dependencies=[Depends(require_csrf)],
             responses=_FACTOR_REFUSALS)  # fmt: skip
async def passkey_authenticate_verify(body: PasskeyVerify, active: AnySession, context: Context) -> Response:
    """Check the browser's assertion: finishes the login, or (logged in) makes the second factor fresh."""
    await _call(passkeys.verify_authentication, context, active, body.credential)
    return _second_factor_given(context, active)


@router.get("/passkeys", response_model=list[PasskeyAnswer], responses=_REFUSALS)
def passkey_list(active: FullSession, context: Context) -> list[PasskeyAnswer]:
    """The user's passkeys (label and dates; never key material)."""
    with context.sessions() as s:
        return [_passkey_answer(k) for k in WebSessionRepository(s).passkeys(active.user.id)]


_FRESH = [Depends(require_csrf), Depends(require_fresh_factor)]


@router.delete("/passkeys/{passkey_id}", status_code=204, dependencies=_FRESH, responses=_FACTOR_REFUSALS)
def passkey_delete(passkey_id: int, active: FullSession, context: Context) -> Response:
    """Remove one of the user's passkeys (needs a fresh second factor)."""
    with context.sessions.begin() as s:
        removed = WebSessionRepository(s).remove_passkey(active.user.id, passkey_id)
    if not removed:
        raise HTTPException(status_code=404, detail=f"you have no passkey with id {passkey_id}")
    return Response(status_code=204)


def _passkey_answer(key: PasskeyRecord) -> PasskeyAnswer:
    return PasskeyAnswer(
        id=key.id,
        label=key.label,
        created_at=key.created_at.isoformat(),
        last_used_at=None if key.last_used_at is None else key.last_used_at.isoformat(),
    )
