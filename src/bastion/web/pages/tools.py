"""``/webhooks`` (signal URLs, payload template, secret rotation, recent signals) and ``/audit``
(the user's accounts' entries and the whole log's verification, through the signer's read-only
``audit_tail`` and ``audit_verify`` of the web role; the export is the API's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from bastion.errors import SignerRefused, SignerUnavailable
from bastion.web.api._common import signer_of
from bastion.web.auth.deps import WebUser, require_csrf
from bastion.web.pages._common import can_change, login_redirect, page_user, render, require_writer, sessions_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: The audit entries a page shows at most (newest first).
AUDIT_PAGE = 200


def _signal_bots(request: Request, user: WebUser) -> list[dict[str, Any]]:
    from bastion.bots.registry import load_config
    from bastion.errors import BastionError
    from bastion.services.users import owned_accounts
    from bastion.storage import BotRepository
    from bastion.storage.repositories.signals import SignalRepository

    owned = {a.id for a in owned_accounts(sessions_of(request), user.id)}
    out = []
    with sessions_of(request)() as session:
        signals = SignalRepository(session)
        for bot in BotRepository(session).all():
            if bot.account_id not in owned:
                continue
            try:
                takes = load_config(bot.config_toml).takes_signals
            except BastionError:
                continue
            if not takes:
                continue
            uuid = signals.uuid_for_bot(bot.id)
            pair = load_config(bot.config_toml).pairs[0]
            out.append(
                {
                    "name": bot.name,
                    "uuid": uuid,
                    "url": f"{str(request.base_url).rstrip('/')}/api/v1/signals/{uuid}" if uuid else None,
                    "template": json.dumps(
                        {"secret": "YOUR-SECRET", "action": "enter_long", "pair": pair, "sent_ms": "{{timenow}}"},
                        indent=2,
                    ),
                    "recent": signals.recent(bot.id, limit=20),
                }
            )
    return out


@router.get("/webhooks")
def webhooks(request: Request) -> Response:
    """The user's bots that take signals: URL, payload template, recent signals accepted or refused and why."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    return render(request, "webhooks.html", user, section="/webhooks", bots=_signal_bots(request, user))


@router.post("/webhooks/{name}/rotate", dependencies=[Depends(require_csrf), Depends(require_writer)])
def rotate(request: Request, name: str) -> Response:
    """Give the bot a new webhook URL and secret (shown once); the old ones stop working at once."""
    from bastion.services.users import owned_accounts
    from bastion.storage import BotRepository
    from bastion.storage.repositories.signals import SignalRepository

    user = page_user(request)
    if user is None:
        return login_redirect(request)
    owned = {a.id for a in owned_accounts(sessions_of(request), user.id)}
    bots = _signal_bots(request, user)
    if not can_change(user):
        return render(request, "webhooks.html", user, section="/webhooks", bots=bots, error="a viewer changes nothing")
    with sessions_of(request).begin() as session:
        bot = BotRepository(session).get(name)
        if bot is None or bot.account_id not in owned or name not in {b["name"] for b in bots}:
            return render(
                request, "webhooks.html", user, section="/webhooks", bots=bots, status_code=404,
                error=f"no signal bot named {name!r}",
            )  # fmt: skip
        uuid, secret = SignalRepository(session).create_secret(bot.id)
    return render(
        request, "webhooks.html", user, section="/webhooks", bots=_signal_bots(request, user),
        rotated={"name": name, "uuid": uuid, "secret": secret},
    )  # fmt: skip


def _when_ms(value: object) -> str:
    if not isinstance(value, int):
        return "?"
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _audit_entries(request: Request, user: WebUser, kind: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """The newest entries about the user's accounts, through the signer (``audit_tail``, web role)."""
    from bastion.services.users import owned_accounts

    mine = sorted(a.name for a in owned_accounts(sessions_of(request), user.id))
    if not mine:
        return [], "no account yet: nothing of yours in the audit log"
    try:
        answer = signer_of(request).call("audit_tail", accounts=mine, after_seq=-1, limit=AUDIT_PAGE)
    except (SignerUnavailable, SignerRefused) as error:
        return [], f"the signer cannot show the audit log now: {error}"
    entries = []
    for entry in reversed(answer.get("entries") or []):
        if kind and entry.get("kind") != kind:
            continue
        entries.append(
            {
                "seq": entry.get("seq"),
                "when": _when_ms(entry.get("ts_ms")),
                "kind": entry.get("kind"),
                "payload": json.dumps(entry.get("payload"), sort_keys=True, default=str)[:400],
                "hash": str(entry.get("hash", ""))[:16],
            }
        )
    return entries, None


def _verify(request: Request) -> str:
    try:
        result = signer_of(request).call("audit_verify")
    except (SignerUnavailable, SignerRefused) as error:
        return f"the signer cannot verify the audit log now: {error}"
    if result.get("ok"):
        return (
            f"audit log intact: {result.get('entries')} entries, signed head {result.get('head_seq')}; "
            f"{result.get('unsigned_entries')} newer entries chained but not yet signed"
        )
    return f"AUDIT LOG NOT INTACT: {result.get('failure')}"


@router.get("/audit")
def audit(request: Request, kind: str = "", verify: int = 0) -> Response:
    """The newest audit entries of the user's accounts (filter by kind), verify, export (the API's)."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    entries, note = _audit_entries(request, user, kind or None)
    verdict = _verify(request) if verify else None
    return render(request, "audit.html", user, section="/audit", entries=entries, note=note, kind=kind, verdict=verdict)
