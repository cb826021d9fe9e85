"""The FastAPI application: the REST API (OpenAPI at ``/openapi.json``).

Every refusal answers a 4xx status with ``{"detail": "<what was wrong and what was expected>"}``.
The web process holds no exchange secret and never loads custody code; the only secret it
compares is a webhook secret's SHA-256 digest (see :mod:`bastion.web.intake`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import exc, text
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bastion import __version__
from bastion.errors import StorageError, scrub
from bastion.services.accounts import SignerCalls, signer_client
from bastion.services.portfolio import PriceCache
from bastion.web.auth import AuthContext, AuthSettings, SecurityHeaders
from bastion.web.auth.body_limit import BodyLimit
from bastion.web.intake import IntakeResult, authenticate, receive_dca_message, receive_signal
from bastion.web.schemas import (
    MAX_DIGITS,
    AcceptedSignal,
    DcaBotMessage,
    Health,
    Problem,
    SignalPayload,
    unknown_fields,
)

__all__ = ["MAX_BODY_BYTES", "create_app"]

#: The largest request body the API reads.
MAX_BODY_BYTES = 16 * 1024

_log = logging.getLogger(__name__)
_UNAVAILABLE = "the database is unavailable or busy; retry later"
_FIELDS = ", ".join(SignalPayload.model_fields)


def _problem(status: int, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail})


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "number"


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


def _describe(errors: list[Any], *, what: str = "signal", fields: str = _FIELDS) -> str:
    """One line per problem, naming the field and what was expected; never a value sent (a secret, a password)."""
    parts = []
    for error in errors[:5]:
        where = _where(tuple(error.get("loc", ())))
        if error.get("type") == "extra_forbidden":
            expected = f"expected only {fields}" if fields else "expected only the documented fields"
            parts.append(f"unknown field {where!r}; {expected}")
        elif error.get("type") == "missing":
            parts.append(f"field {where!r} is required")
        else:
            message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
            parts.append(f"field {where!r}: {message}")
    return f"invalid {what}: " + "; ".join(parts)


def _int_or_decimal(text: str) -> int | Decimal:
    # A long run of digits stays Decimal text (cheap to build, refused later by its field's
    # bound, after the bot and secret are checked): str -> int is quadratic in the digits.
    return int(text) if len(text) <= MAX_DIGITS else Decimal(text)


async def _read_json(request: Request) -> tuple[Any, JSONResponse | None]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None, _problem(413, f"request body is {declared} bytes; expected at most {MAX_BODY_BYTES}")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None, _problem(413, f"request body is over {MAX_BODY_BYTES} bytes; expected at most that")
    try:
        # Numbers stay decimal text: 0.1 is Decimal("0.1"), never a float.
        return json.loads(body, parse_float=Decimal, parse_int=_int_or_decimal), None
    except (ValueError, RecursionError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "it cannot be decoded"
        return None, _problem(422, f"request body is not valid JSON ({reason}); expected a JSON object")


def _include_routers(app: FastAPI) -> None:
    from bastion.web.api import routers
    from bastion.web.auth.routes import router as auth_router
    from bastion.web.pages import router as pages_router

    app.include_router(auth_router)
    for router in routers:
        app.include_router(router)
    try:
        from bastion.web.sealed import router as sealed_router  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as error:
        if error.name != "bastion.web.sealed":
            raise
    else:
        app.include_router(sealed_router)
    app.include_router(pages_router)


def create_app(
    *,
    sessions: sessionmaker[Session],
    clock_ms: Callable[[], int],
    auth: AuthSettings | None = None,
    signer: Callable[[], SignerCalls] | None = None,
) -> FastAPI:
    """Build the API over a database and a clock.

    Parameters
    ----------
    sessions
        Session factory of a Bastion database at the current schema.
    clock_ms
        Returns the current time in epoch milliseconds (signals' ``received_at`` and lag checks,
        session lifetimes, TOTP codes).
    auth
        The login settings (origins, WebAuthn relying party, TLS, TOTP sealing key); loopback
        defaults when None.
    signer
        Makes a client of the signer (the web's role); the home's signer socket when None.
    """
    # SQLite has one writer at a time and refuses (rather than waits for) a transaction whose
    # snapshot another writer made stale: signals are stored one at a time in this process.
    bind = sessions.kw.get("bind")
    sqlite = bind is not None and bind.dialect.name == "sqlite"
    writing: AbstractContextManager[Any] = threading.Lock() if sqlite else nullcontext()
    app = FastAPI(
        title="Bastion",
        version=__version__,
        summary="Self-hosted crypto trading bots; this API never holds exchange secrets.",
        docs_url=None,
        redoc_url=None,
    )
    settings = AuthSettings() if auth is None else auth
    app.state.auth = AuthContext(sessions=sessions, settings=settings, clock_ms=clock_ms)
    app.state.signer = signer_client if signer is None else signer
    # The overview values accounts at public prices on every view: markets and tickers are kept
    # between views (markets an hour, a ticker 15 s), not read again from each exchange each time.
    app.state.prices = PriceCache()
    app.router.on_shutdown.append(app.state.prices.close)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, tls=settings.tls)  # added last: outermost, so the 413 gets the headers too

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        if request.url.path.startswith("/api/v1/signals/"):
            return _problem(422, _describe(list(error.errors())))
        return _problem(422, _describe(list(error.errors()), what="request", fields=""))

    @app.exception_handler(exc.SQLAlchemyError)
    async def _database(_request: Request, error: exc.SQLAlchemyError) -> JSONResponse:
        _log.error("database error: %s", scrub(str(error).splitlines()[0] if str(error) else type(error).__name__))
        return _problem(503, _UNAVAILABLE)

    @app.exception_handler(StorageError)
    async def _storage(_request: Request, error: StorageError) -> JSONResponse:
        _log.error("storage error: %s", scrub(str(error)))
        return _problem(503, _UNAVAILABLE)

    @app.get("/api/v1/health", response_model=Health, responses={503: {"model": Problem}})
    def health() -> Any:
        """Answer ``{"status": "ok"}`` when the process runs and its database answers."""
        with sessions() as session:
            session.execute(text("SELECT 1"))
        return Health()

    @app.post(
        "/api/v1/signals/{bot_uuid}",
        status_code=202,
        response_model=AcceptedSignal,
        responses={status: {"model": Problem} for status in (400, 401, 404, 409, 413, 422, 503)},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": SignalPayload.model_json_schema()}},
            }
        },
    )
    async def post_signal(bot_uuid: str, request: Request) -> Any:
        """Receive a signal for the signal bot with this webhook uuid and store it for the engine.

        Answers 202 ``{"signal_id": ..., "status": "pending"}``, or a 4xx ``{"detail": reason}``
        (see :mod:`bastion.web.intake` for the checks and their statuses).
        """
        data, refused = await _read_json(request)
        if refused is not None:
            return refused
        if not isinstance(data, dict):
            return _problem(422, f"request body is a JSON {_json_type(data)}; expected a JSON object")
        dca_message = "message_type" in data  # 3Commas' DCA-bot message: its secret is email_token
        secret = data.get("email_token" if dca_message else "secret")
        if isinstance(secret, str):  # the bot and its secret first: nothing else is parsed for a stranger
            field = "email_token" if dca_message else "secret"
            denied = await run_in_threadpool(authenticate, sessions, path_uuid=bot_uuid, secret=secret, field=field)
            if denied is not None:
                return _problem(denied.status, denied.detail or "refused")
        ignored = unknown_fields(data)
        try:
            parsed: SignalPayload | DcaBotMessage = (
                DcaBotMessage.model_validate(data) if dca_message else SignalPayload.model_validate(data)
            )
        except ValidationError as error:
            what = "3Commas DCA-bot message" if dca_message else "signal"
            return _problem(422, _describe(error.errors(include_url=False, include_input=False), what=what))
        now_ms = clock_ms()

        def receive() -> IntakeResult:
            with writing:
                if isinstance(parsed, DcaBotMessage):
                    return receive_dca_message(sessions, path_uuid=bot_uuid, message=parsed, now_ms=now_ms)
                return receive_signal(sessions, path_uuid=bot_uuid, payload=parsed, now_ms=now_ms)

        result = await run_in_threadpool(receive)
        if ignored and result.status not in (401, 404):  # names only, and only for the bot's own sender
            _log.warning("webhook %s: ignored unknown field(s) %s", bot_uuid[:64], ", ".join(ignored))
        if result.signal_id is None:
            return _problem(result.status, result.detail or "refused")
        accepted = AcceptedSignal(signal_id=result.signal_id, ignored_fields=ignored, not_before_ms=result.due_ms)
        return JSONResponse(status_code=202, content=accepted.model_dump())

    _include_routers(app)
    return app
