"""``/accounts``: the user's accounts with what the signer says of them (key hint, permission
status, leak-detector findings, state, policy), and the sealed connect-key form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bastion.web.pages._common import login_redirect, page_user, render, sessions_of
from bastion.web.pages._signer import signer_rows

__all__ = ["account_mode", "router"]

router = APIRouter(include_in_schema=False)


def account_mode(exchange: str) -> str:
    """How an account trades: ``paper`` (matched in process), ``simulator`` (the local exchange) or ``live``."""
    if exchange == "paper" or exchange.startswith("paper-"):
        return "paper"
    if exchange.startswith("simulator"):
        return "simulator"
    return "live"


def _when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _permissions(status: dict[str, Any]) -> str:
    granted = sorted(k for k, v in (status.get("permissions") or {}).items() if v is True)
    findings = len(status.get("foreign_orders") or ()) + len(status.get("balance_findings") or ())
    leak = f"{findings} leak finding(s)" if findings else "no leak finding"
    return (
        f"key {status.get('status', '?')}; permissions: {', '.join(granted) or 'none reported'}; "
        f"checked {_when(status.get('last_permission_check_ms'))}; {leak} "
        f"(last leak check {_when(status.get('last_leak_check_ms'))})"
    )


def _policy_text(shown: dict[str, Any]) -> str:
    policy = shown.get("policy") or {}
    return "\n".join(f"{k} = {v}" for k, v in policy.items() if v not in (None, [], {}))


@router.get("/accounts")
def accounts(request: Request) -> Response:
    """The user's accounts and the connect-key form."""
    from bastion.services.users import owned_accounts

    user = page_user(request)
    if user is None:
        return login_redirect(request)
    records = owned_accounts(sessions_of(request), user.id)
    statuses, policies, note = signer_rows(request, [a.name for a in records])
    rows = []
    for record in records:
        status = statuses.get(record.name)
        shown = policies.get(record.name)
        rows.append(
            {
                "id": record.id,
                "name": record.name,
                "exchange": record.exchange,
                "url": record.url,
                "mode": account_mode(record.exchange),
                "state": (status or {}).get("state") or record.state.value,
                "reason": (status or {}).get("state_reason"),
                "key": f"{status['key_hint']} ({status['fingerprint'][:16]})" if status else None,
                "permissions": _permissions(status) if status else None,
                "policy": _policy_text(shown) if shown else None,
                "policy_note": "unknown (no answer from the signer)" if note else "no key in the signer",
            }
        )
    return render(request, "accounts.html", user, section="/accounts", accounts=rows, signer_note=note)
