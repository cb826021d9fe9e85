"""What the pages ask the signer (web role: ``key_status``, ``policy_show``), through the app's
signer client, and the alerts its key statuses raise (the API's :func:`alerts_for`)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from bastion.errors import SignerRefused, SignerUnavailable
from bastion.services import dashboard
from bastion.web.api._common import signer_of
from bastion.web.api.alerts import _status, alerts_for

__all__ = ["signer_alerts", "signer_rows"]


def signer_rows(
    request: Request, names: list[str], *, policies: bool = True
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], str | None]:
    """Return the signer's key status and policy of these accounts (never a secret), and why not when it fails."""
    statuses: dict[str, dict[str, Any]] = {}
    shown: dict[str, dict[str, Any]] = {}
    if not names:
        return statuses, shown, None
    try:
        signer = signer_of(request)
        for status in signer.call("key_status"):
            if status.get("account") in names:
                statuses[str(status["account"])] = dict(status)
        if policies:
            for name in names:
                if name in statuses:
                    shown[name] = dict(signer.call("policy_show", account=name))
    except SignerUnavailable as error:
        return statuses, shown, f"the signer does not answer ({error}): key and policy status unknown"
    except SignerRefused as error:
        return statuses, shown, f"the signer refused: {error}"
    return statuses, shown, None


def signer_alerts(request: Request, names: list[str]) -> list[dashboard.Alert]:
    """Leak findings, halted or reducing accounts and paused keys on these accounts, from the signer."""
    statuses, _policies, problem = signer_rows(request, names, policies=False)
    if problem is not None:
        return [dashboard.Alert(level="warning", kind="signer", subject="signer", message=problem)]
    return [
        dashboard.Alert(
            level="danger" if alert.severity == "critical" else "warning",
            kind=alert.kind,
            subject=f"account {alert.account}",
            message=alert.message,
        )
        for alert in alerts_for([_status(s) for s in statuses.values()])
    ]
