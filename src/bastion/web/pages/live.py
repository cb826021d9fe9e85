"""``/live``: server-sent events with the fragments a page swaps in when they change (open deals,
all deals, alerts), for the logged-in user's accounts only. No script runs from the stream: the
page's own script puts the server-rendered (escaped) HTML into the element named by the event."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from bastion.services import dashboard
from bastion.storage import DealStatus
from bastion.web.pages._common import fragment, owned_ids, page_user, sessions_of
from bastion.web.pages._signer import signer_alerts
from bastion.web.pages.overview import all_alerts

__all__ = ["POLL_S", "STREAM_S", "router", "sse"]

router = APIRouter(include_in_schema=False)

#: How often the stream looks for changes, and how long one stream lasts (the browser reconnects).
POLL_S = 1.0
STREAM_S = 300.0


def sse(event: str, data: str) -> bytes:
    """One server-sent event; every line of ``data`` gets its ``data:`` prefix."""
    lines = "".join(f"data: {line}\n" for line in data.splitlines() or [""])
    return f"event: {event}\n{lines}\n".encode()


#: The signer is asked for its alerts every this many polls (the database at every poll).
SIGNER_EVERY = 10


def _fragments(request: Request, cache: dict[str, Any]) -> dict[str, str] | None:
    user = page_user(request)
    if user is None:
        return None
    sessions = sessions_of(request)
    owned = owned_ids(request, user)
    views = dashboard.deal_views(sessions, owned)
    open_views = [v for v in views if v.deal.status is DealStatus.OPEN]
    polls = cache["polls"] = cache.get("polls", -1) + 1
    if polls % SIGNER_EVERY == 0:
        from bastion.services.users import owned_accounts

        cache["signer"] = signer_alerts(request, [a.name for a in owned_accounts(sessions, user.id)])
    alerts = all_alerts(request, user, from_signer=cache["signer"])
    from bastion.services.bots import list_bots
    from bastion.services.users import owned_accounts

    names = {a.name for a in owned_accounts(sessions, user.id)}
    bots = {  # a bot page's state badge follows the engine (running once it picks a start up)
        f"bot:{b.name}": fragment("partials/bot_state.html", state=b.state) for b in list_bots() if b.account in names
    }
    return {
        "deals": fragment("partials/deals_table.html", deals=open_views, only_open=True),
        "all_deals": fragment("partials/deals_table.html", deals=views, only_open=False),
        "alerts": fragment("partials/alerts_list.html", alerts=alerts),
        **bots,
    }


@router.get("/live")
async def live(request: Request) -> Response:
    """The event stream (401 without a session)."""
    cache: dict[str, Any] = {}
    first = await run_in_threadpool(_fragments, request, cache)
    if first is None:
        return Response("not logged in", status_code=401, media_type="text/plain")

    async def stream() -> AsyncIterator[bytes]:
        seen: dict[str, str] = {}
        current: dict[str, str] | None = first
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_S
        yield b"retry: 2000\n\n"
        while current is not None and loop.time() < deadline:
            for target, html in current.items():
                digest = hashlib.sha256(html.encode()).hexdigest()
                if seen.get(target) != digest:
                    seen[target] = digest
                    yield sse(target, html)
            await asyncio.sleep(POLL_S)
            if await request.is_disconnected():
                return
            current = await run_in_threadpool(_fragments, request, cache)
        if current is None:
            yield sse("logout", "")

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )
