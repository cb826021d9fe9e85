"""``/api/v1/accounts``: the user's accounts and their policies (through the signer, web role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import SignerRefused
from bastion.services.access import user_account, user_accounts
from bastion.services.accounts import SignerCalls
from bastion.storage import AccountRecord
from bastion.web.api._common import CHANGE, CHANGE_FRESH, Reader, Trader, plain, refusals, run, sessions_of, signer_of
from bastion.web.api.schemas import AccountOut, PolicyChange, PolicyOut, SealedLoosening

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])
Sessions = Annotated[sessionmaker[Session], Depends(sessions_of)]


def _out(account: AccountRecord) -> AccountOut:
    return AccountOut(id=account.id, name=account.name, exchange=account.exchange, state=account.state.value,
                      url=account.url)  # fmt: skip


@router.get("", response_model=list[AccountOut], responses=refusals())
async def list_accounts(user: Reader, sessions: Sessions) -> list[AccountOut]:
    """The accounts you own."""
    return [_out(a) for a in await run(user_accounts, sessions, user.id)]


@router.get("/{account_id}", response_model=AccountOut, responses=refusals())
async def get_account(account_id: int, user: Reader, sessions: Sessions) -> AccountOut:
    """One of your accounts (404 for any other id)."""
    return _out(await run(user_account, sessions, user.id, account_id))


def _policy(signer: SignerCalls, name: str) -> PolicyOut:
    shown = signer.call("policy_show", account=name)
    revision = shown.get("revision")
    return PolicyOut(account=name, state=str(shown.get("state")), reason=shown.get("reason"),
                     policy=plain(dict(shown.get("policy") or {})),
                     revision=revision if isinstance(revision, int) else None)  # fmt: skip


def _set_policy(signer: SignerCalls, name: str, change: PolicyChange) -> PolicyOut:
    params: dict[str, Any] = {"account": name, "changes": change.changes}
    if change.reason is not None:
        params["reason"] = change.reason
    signer.call("policy_set", **params)
    return _policy(signer, name)


@router.get("/{account_id}/policy", response_model=PolicyOut, responses=refusals(409))
async def get_policy(account_id: int, user: Reader, sessions: Sessions, request: Request) -> PolicyOut:
    """The account's policy and state, from the signer."""
    account = await run(user_account, sessions, user.id, account_id)
    return await run(_policy, signer_of(request), account.name)


@router.post("/{account_id}/policy/tighten", response_model=PolicyOut, dependencies=CHANGE,
             responses=refusals(409))  # fmt: skip
async def tighten_policy(
    account_id: int, body: PolicyChange, user: Trader, sessions: Sessions, request: Request
) -> PolicyOut:
    """Tighten the policy (fewer pairs, lower limits, halt): no second factor needed.

    The signer judges the change against the policy in force; one that loosens anything is
    refused (409) here: use ``/policy/loosen``.
    """
    account = await run(user_account, sessions, user.id, account_id)
    return await run(_set_policy, signer_of(request), account.name, body)


#: How the signer's refusal of a sealed loosening maps to an HTTP status.
_LOOSEN_STATUS = {"unauthorized": 403, "bad_request": 422, "SignerBadRequest": 422, "not_found": 404,
                  "conflict": 409, "throttled": 429}  # fmt: skip


def _loosen(signer: SignerCalls, name: str, body: SealedLoosening, by: str) -> PolicyOut:
    params: dict[str, Any] = {"account": name, "requested_by": by, **body.model_dump(exclude_none=True)}
    try:
        signer.call("policy_loosen_sealed", **params)
    except SignerRefused as error:
        raise HTTPException(
            status_code=_LOOSEN_STATUS.get(error.kind, 409), detail=f"the signer refused: {error}"
        ) from None
    return _policy(signer, name)


@router.post("/{account_id}/policy/loosen", response_model=PolicyOut, dependencies=CHANGE_FRESH,
             responses=refusals(409, 429))  # fmt: skip
async def loosen_policy(
    account_id: int, body: SealedLoosening, user: Trader, sessions: Sessions, request: Request
) -> PolicyOut:
    """Loosen the policy: a fresh second factor here, and the vault passphrase sealed in the page.

    The page seals the passphrase to the signer's key (``GET /api/v1/seal/public-key``), bound to
    this account, ``changes_json``, ``expected_revision`` (from ``GET .../policy``) and ``reason``.
    This process relays the ciphertext; the signer opens it once and checks the passphrase as it
    checks the operator's. 403 wrong passphrase, 422 a blob that does not open or was used,
    409 the policy moved on (seal again), 429 too many wrong passphrases.
    """
    account = await run(user_account, sessions, user.id, account_id)
    return await run(_loosen, signer_of(request), account.name, body, f"web:{user.name}")
