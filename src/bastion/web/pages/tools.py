"""``/webhooks`` (signal URLs, payload template, secret rotation, recent signals) and ``/audit``
(browse, verify and export the signer's audit log where this process may read it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from bastion.web.auth.deps import WebUser, require_csrf
from bastion.web.pages._common import can_change, login_redirect, page_user, render, sessions_of

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


@router.post("/webhooks/{name}/rotate", dependencies=[Depends(require_csrf)])
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


def _audit_entries(limit: int, kind: str | None, accounts: set[str] | None) -> tuple[list[dict[str, Any]], str | None]:
    # accounts: only entries about these accounts (None: every entry, for an admin)
    from bastion.custody.layout import HomeLayout

    path = HomeLayout.from_env().audit_log
    try:
        with path.open("rb") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        return [], "no audit log yet (the signer writes it)"
    except PermissionError:
        return [], "the audit log belongs to the signer's user; read it with `bastion audit` as the operator"
    entries = []
    for raw in reversed(lines):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if kind and entry.get("kind") != kind:
            continue
        payload = entry.get("payload")
        about = payload.get("account") if isinstance(payload, dict) else None
        if accounts is not None and about not in accounts:
            continue
        entries.append(
            {
                "seq": entry.get("seq"),
                "when": _when_ms(entry.get("ts_ms")),
                "kind": entry.get("kind"),
                "payload": json.dumps(entry.get("payload"), sort_keys=True)[:400],
                "hash": str(entry.get("hash", ""))[:16],
            }
        )
        if len(entries) >= limit:
            break
    return entries, None


def _when_ms(value: object) -> str:
    if not isinstance(value, int):
        return "?"
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"


def _verify() -> str:
    from bastion.custody.audit import verify
    from bastion.custody.layout import HomeLayout

    layout = HomeLayout.from_env()
    try:
        key = bytes.fromhex(layout.public_key.read_text(encoding="ascii").strip())
        result = verify(layout.audit_log, key)
    except (OSError, ValueError) as error:
        return f"cannot verify here: {error}"
    if result.ok:
        return f"audit log intact: {result.entries} entries; {result.unsigned_entries} newer entries not yet signed"
    return f"AUDIT LOG NOT INTACT: {result.failure}"


@router.get("/audit")
def audit(request: Request, kind: str = "", verify: int = 0) -> Response:
    """The newest audit entries (filter by kind), a verify button and the export."""
    user = page_user(request)
    if user is None:
        return login_redirect(request)
    from bastion.services.users import owned_accounts

    mine = None if user.role == "admin" else {a.name for a in owned_accounts(sessions_of(request), user.id)}
    entries, note = _audit_entries(AUDIT_PAGE, kind or None, mine)
    verdict = _verify() if verify else None
    return render(request, "audit.html", user, section="/audit", entries=entries, note=note, kind=kind, verdict=verdict)


@router.get("/audit/export")
def audit_export(request: Request) -> Response:
    """The audit log as JSON lines (``bastion audit export`` adds the signed head and key)."""
    from bastion.custody.layout import HomeLayout

    user = page_user(request)
    if user is None:
        return login_redirect(request)
    if user.role != "admin":
        return PlainTextResponse("only an admin exports the audit log", status_code=403)
    path = HomeLayout.from_env().audit_log

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            yield from handle

    if not path.is_file():
        return PlainTextResponse("no audit log yet", status_code=404)
    return StreamingResponse(
        chunks(),
        media_type="application/jsonl",
        headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
    )
