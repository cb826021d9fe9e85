"""``/api/v1/alerts`` and an account's key status: from the signer's ``key_status`` (web role).

An alert is something the user must look at: an account the signer halted or set to reducing
(policy denials, a panic, the leak detector), orders on the exchange that Bastion did not send,
balance changes no fill of ours explains, a key paused for a dangerous permission.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import SignerUnavailable
from bastion.services.access import user_account, user_accounts
from bastion.services.accounts import SignerCalls
from bastion.web.api._common import Reader, plain, refusals, run, sessions_of, signer_of
from bastion.web.api.schemas import Alert, KeyStatusOut

__all__ = ["alerts_for", "router"]

router = APIRouter(prefix="/api/v1", tags=["alerts"])
Sessions = Annotated[sessionmaker[Session], Depends(sessions_of)]


def _status(item: dict[str, Any]) -> KeyStatusOut:
    return KeyStatusOut(
        account=str(item.get("account")),
        exchange=str(item.get("exchange")),
        key_hint=str(item.get("key_hint") or ""),
        status=str(item.get("status")),
        status_reason=item.get("status_reason"),
        state=str(item.get("state")),
        state_reason=item.get("state_reason"),
        permissions=plain(item.get("permissions")) if isinstance(item.get("permissions"), dict) else None,
        last_permission_check_ms=item.get("last_permission_check_ms"),
        last_leak_check_ms=item.get("last_leak_check_ms"),
        foreign_orders=len(item.get("foreign_orders") or []),
        balance_findings=len(item.get("balance_findings") or []),
    )


def _why(text: str, reason: str | None) -> str:
    return text if not reason else f"{text}: {reason}"


def alerts_for(statuses: list[KeyStatusOut]) -> list[Alert]:
    """Turn key statuses into alerts, most serious first (no text matching: the fields say what happened)."""
    alerts = []
    for s in statuses:
        if s.foreign_orders:
            message = (
                f"{s.foreign_orders} order(s) on the exchange were not sent by Bastion; revoke the key if not yours"
            )
            alerts.append(Alert(account=s.account, kind="leak", severity="critical", message=message))
        if s.balance_findings:
            message = f"{s.balance_findings} balance change(s) that no fill of Bastion's explains"
            alerts.append(Alert(account=s.account, kind="leak", severity="critical", message=message))
        if s.state != "active":
            severity: Literal["critical", "warning"] = "critical" if s.state == "halted" else "warning"
            message = _why(f"the account is {s.state.upper()}", s.state_reason)
            alerts.append(Alert(account=s.account, kind="policy", severity=severity, message=message))
        if s.status != "active":
            message = _why(f"the key is {s.status}", s.status_reason)
            alerts.append(Alert(account=s.account, kind="key", severity="critical", message=message))
    order = {"critical": 0, "warning": 1}
    return sorted(alerts, key=lambda a: order[a.severity])


def _statuses(sessions: sessionmaker[Session], user_id: int, signer: SignerCalls) -> list[KeyStatusOut]:
    mine = {a.name for a in user_accounts(sessions, user_id)}
    if not mine:
        return []
    return [_status(dict(item)) for item in signer.call("key_status") if item.get("account") in mine]


def _alerts(sessions: sessionmaker[Session], user_id: int, signer: SignerCalls) -> list[Alert]:
    try:
        return alerts_for(_statuses(sessions, user_id, signer))
    except SignerUnavailable as error:  # the signer down is itself the first thing to know
        return [Alert(account="*", kind="signer", severity="critical", message=f"the signer does not answer: {error}")]


@router.get("/alerts", response_model=list[Alert], responses=refusals(409))
async def alerts(user: Reader, sessions: Sessions, request: Request) -> list[Alert]:
    """Alerts on your accounts: halts and reductions (policy denials, panic), leak findings, paused keys;
    a signer that does not answer is an alert too."""
    return await run(_alerts, sessions, user.id, signer_of(request))


def _one(sessions: sessionmaker[Session], user_id: int, account_id: int, signer: SignerCalls) -> KeyStatusOut:
    account = user_account(sessions, user_id, account_id)
    return _status(dict(signer.call("key_status", account=account.name)[0]))


@router.get("/accounts/{account_id}/status", response_model=KeyStatusOut, responses=refusals(409))
async def key_status(account_id: int, user: Reader, sessions: Sessions, request: Request) -> KeyStatusOut:
    """The account's key as the signer sees it: permissions, last checks, leak findings, state (never a secret)."""
    return await run(_one, sessions, user.id, account_id, signer_of(request))
