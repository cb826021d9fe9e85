"""Sealed key entry over HTTP: publish the signer's sealing key, relay a key sealed in the page.

``GET /api/v1/seal/public-key`` answers the signer's current X25519 sealing key and its key id.
The page (``static/js/seal.js``) seals the API key, secret and exchange passphrase to it with
WebCrypto and posts ``POST /api/v1/accounts/sealed-key``: the account details in clear, the
credentials as ``enc`` + ``ciphertext``. This process passes them to the signer's
``keys_add_sealed`` unchanged; it holds no key that opens them, and logs neither.

Adding a key needs a signed-in admin or trader, the CSRF token and a second factor given in the
last minutes (``require_fresh_factor``). The signer then runs the checks of ``bastion keys add``
(the key's permissions on the exchange: withdrawal refused, trading required ...).
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bastion.errors import SignerRefused, SignerUnavailable
from bastion.services.accounts import SignerCalls
from bastion.storage import AccountRepository
from bastion.storage.repositories.users import UserRepository
from bastion.web.api._common import signer_of
from bastion.web.auth.deps import (
    WebUser,
    auth_context,
    current_user,
    require_csrf,
    require_fresh_factor,
    require_role,
)

__all__ = [
    "SealPublicKeyOut",
    "SealedKeyAdded",
    "SealedKeyIn",
    "add_sealed_key",
    "claim_account",
    "ownership_refusal",
    "router",
    "seal_public_key",
]

_log = logging.getLogger(__name__)

_ACCOUNT = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

#: How a signer refusal maps to an HTTP status.
_STATUS = {
    "bad_request": 422,
    "KeyRefused": 422,
    "ValidationError": 422,
    "ConfigError": 422,
    "unauthorized": 403,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
}


class SealPublicKeyOut(BaseModel):
    """The signer's X25519 sealing key: raw 32 bytes, base64url; a new one at every signer start."""

    key_id: str
    public_key: str
    suite: str
    label: str


class SealedKeyIn(BaseModel):
    """An API key sealed in the page to the signer's key; only the signer can open it.

    ``account``, ``exchange``, ``url`` and ``allow_unrestricted_ip`` are bound to the
    ciphertext: the signer refuses the blob if any of them differs from what the page sealed.
    """

    model_config = ConfigDict(extra="forbid")

    account: str = Field(pattern=_ACCOUNT, description="Bastion account name: 1-64 letters, digits, '_', '.', '-'")
    exchange: str = Field(pattern=r"^[a-z0-9_]{1,32}$", description="Exchange id, such as binance or simulator")
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$", description="The key id of the sealing key the page used")
    enc: str = Field(pattern=r"^[A-Za-z0-9_-]{43}=?$", description="The page's ephemeral X25519 key, base64url")
    ciphertext: str = Field(
        pattern=r"^[A-Za-z0-9_-]{24,5464}={0,2}$", description="AES-256-GCM output (ciphertext and tag), base64url"
    )
    url: str | None = Field(default=None, max_length=256, description="The exchange API URL (simulator only)")
    allow_unrestricted_ip: bool = False


class SealedKeyAdded(BaseModel):
    """A key the signer opened, checked on the exchange and stored (never a secret)."""

    account: str
    exchange: str
    key_hint: str
    fingerprint: str
    permissions: dict[str, Any]


class _Problem(BaseModel):
    detail: str


def _refused(exc: SignerRefused | SignerUnavailable) -> JSONResponse:
    if isinstance(exc, SignerUnavailable):
        return JSONResponse(
            status_code=503, content={"detail": "the signer does not answer (is it running?); start it and retry"}
        )
    return JSONResponse(status_code=_STATUS.get(exc.kind, 502), content={"detail": f"the signer refused: {exc}"})


async def seal_public_key(signer: SignerCalls) -> SealPublicKeyOut | JSONResponse:
    """Return the signer's current sealing key, or the refusal as a JSON problem."""
    try:
        answer = await run_in_threadpool(signer.call, "seal_public_key")
    except (SignerRefused, SignerUnavailable) as exc:
        return _refused(exc)
    try:
        return SealPublicKeyOut.model_validate(answer)
    except ValidationError:
        return JSONResponse(status_code=502, content={"detail": "the signer's answer is not a sealing key"})


def ownership_refusal(sessions: sessionmaker[Session], account: str, user: WebUser) -> str | None:
    """Return why ``user`` may not add a key to ``account`` (it exists and is not theirs), or None."""
    with sessions() as session:
        record = AccountRepository(session).get(account)
        owner = None if record is None else UserRepository(session).account_owner(record.id)
    if record is None or owner == user.id:
        return None
    return f"account {account!r} already exists and is not yours; expected a new account name or one of your accounts"


def claim_account(sessions: sessionmaker[Session], sealed: SealedKeyIn, user: WebUser) -> None:
    """Record the account (if the signer keeps its own database) and make ``user`` its owner."""
    with sessions.begin() as session:
        accounts = AccountRepository(session)
        if accounts.get(sealed.account) is None:
            accounts.create(sealed.account, sealed.exchange, url=sealed.url)
        UserRepository(session).set_account_owner(sealed.account, user.id)


async def add_sealed_key(
    signer: SignerCalls, sealed: SealedKeyIn, *, user: WebUser, sessions: sessionmaker[Session]
) -> SealedKeyAdded | JSONResponse:
    """Relay a sealed key to the signer for ``user``; log who asked and what came of it, never the blob."""
    refused = await run_in_threadpool(ownership_refusal, sessions, sealed.account, user)
    if refused is not None:
        _log.warning("sealed key for account %s from user %s refused: not theirs", sealed.account, user.name)
        return JSONResponse(status_code=403, content={"detail": refused})
    try:
        answer = await run_in_threadpool(signer.call, "keys_add_sealed", **sealed.model_dump(exclude_none=True))
    except (SignerRefused, SignerUnavailable) as exc:
        kind = exc.kind if isinstance(exc, SignerRefused) else "unreachable"
        _log.warning("sealed key for account %s from user %s refused (%s)", sealed.account, user.name, kind)
        return _refused(exc)
    try:
        added = SealedKeyAdded.model_validate(
            {name: answer.get(name) for name in ("account", "exchange", "key_hint", "fingerprint", "permissions")}
        )
    except (AttributeError, ValidationError):
        return JSONResponse(status_code=502, content={"detail": "the signer's answer is not an added key"})
    await run_in_threadpool(claim_account, sessions, sealed, user)
    _log.info("sealed key for account %s on %s added by user %s", sealed.account, sealed.exchange, user.name)
    return added


router = APIRouter(tags=["keys"])
Signer = Annotated[SignerCalls, Depends(signer_of)]
_PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": _Problem} for status in (401, 403, 404, 409, 422, 502, 503)
}


@router.get("/api/v1/seal/public-key", response_model=SealPublicKeyOut, responses=_PROBLEMS)
async def get_public_key(signer: Signer, _user: Annotated[WebUser, Depends(current_user)]) -> Any:
    """The signer's X25519 sealing key, to seal an API key to in the page."""
    return await seal_public_key(signer)


@router.post(
    "/api/v1/accounts/sealed-key",
    response_model=SealedKeyAdded,
    status_code=201,
    responses=_PROBLEMS,
    dependencies=[Depends(require_csrf), Depends(require_fresh_factor)],
)
async def post_sealed_key(
    sealed: SealedKeyIn,
    signer: Signer,
    user: Annotated[WebUser, Depends(require_role("admin", "trader"))],
    request: Request,
) -> Any:
    """Add an exchange key sealed in the page; the signer opens it and checks it like `bastion keys add`.

    Needs an admin or trader, the CSRF token and a second factor given within five minutes.
    """
    return await add_sealed_key(signer, sealed, user=user, sessions=auth_context(request).sessions)
