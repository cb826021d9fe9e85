"""``/api/v1/accounts``: the user's accounts and their policies (through the signer, web role)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from bastion.services.access import user_account, user_accounts
from bastion.services.accounts import SignerCalls
from bastion.storage import AccountRecord
from bastion.web.api._common import CHANGE, CHANGE_FRESH, Reader, Trader, plain, refusals, run, sessions_of, signer_of
from bastion.web.api.schemas import AccountOut, PolicyChange, PolicyOut

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
    return PolicyOut(account=name, state=str(shown.get("state")), reason=shown.get("reason"),
                     policy=plain(dict(shown.get("policy") or {})))  # fmt: skip


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


@router.post("/{account_id}/policy/loosen", response_model=PolicyOut, dependencies=CHANGE_FRESH,
             responses=refusals(409))  # fmt: skip
async def loosen_policy(
    account_id: int, body: PolicyChange, user: Trader, sessions: Sessions, request: Request
) -> PolicyOut:
    """Loosen the policy: needs a fresh second factor, and the signer's passphrase rule still applies.

    The web's signer role may not send the vault passphrase, so the signer refuses (409, with
    its reason) a loosening that needs it; run ``bastion policy set`` as the operator then.
    """
    account = await run(user_account, sessions, user.id, account_id)
    return await run(_set_policy, signer_of(request), account.name, body)
