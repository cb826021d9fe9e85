"""What every page shares: the templates, the logged-in user (or a redirect to /login), the
accounts that user may see, and the database of the app."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bastion.web.auth.deps import WebUser, auth_context, csrf_token_for, current_user

__all__ = [
    "NAV",
    "WRITERS",
    "can_change",
    "login_redirect",
    "owned_ids",
    "page_user",
    "render",
    "require_writer",
    "sessions_of",
    "templates",
]

#: The pages in the navigation bar, in order.
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Overview"),
    ("/accounts", "Accounts"),
    ("/bots", "Bots"),
    ("/deals", "Deals"),
    ("/backtests", "Backtests"),
    ("/webhooks", "Webhooks"),
    ("/audit", "Audit"),
    ("/alerts", "Alerts"),
    ("/security", "Passkeys"),
)

#: Roles that may change something (a viewer only looks).
WRITERS = ("admin", "trader")


#: Places a computed figure (an average price) is shown with; prices and amounts are shorter already.
_SHOWN = Decimal("1e-8")


def _money(value: Decimal | None) -> str:
    if value is None:
        return "—"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        value = value.quantize(_SHOWN)
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _sign(value: Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return "pos" if value > 0 else "neg"


def _when(value: datetime | None) -> str:
    if value is None:
        return "—"
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("bastion.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["sign"] = _sign
    env.filters["when"] = _when
    return env


templates = _environment()


def sessions_of(request: Request) -> sessionmaker[Session]:
    """Return the app's database (the one the login uses)."""
    return auth_context(request).sessions


def page_user(request: Request) -> WebUser | None:
    """Return the logged-in user, or None (the page then redirects to /login)."""
    try:
        return current_user(request)
    except HTTPException as error:
        if error.status_code == 401:
            return None
        raise


async def page_user_async(request: Request) -> WebUser | None:
    """:func:`page_user` off the event loop (it reads the database)."""
    return await run_in_threadpool(page_user, request)


def login_redirect(request: Request) -> RedirectResponse:
    """Send the browser to /login, coming back to this page afterwards."""
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse("/login?next=" + quote(target, safe="/"), status_code=303)


def require_writer(request: Request) -> None:
    """Refuse (403) a state change from a viewer; without a session the page redirects to /login itself."""
    user = page_user(request)
    if user is not None and not can_change(user):
        raise HTTPException(status_code=403, detail=f"role {user.role} may not change anything; it may only look")


def can_change(user: WebUser) -> bool:
    """Whether the user's role may change anything."""
    return user.role in WRITERS


def owned_ids(request: Request, user: WebUser) -> set[int]:
    """Return the ids of the accounts this user owns: the only ones its pages show or act on."""
    from bastion.services.users import owned_accounts

    return {a.id for a in owned_accounts(sessions_of(request), user.id)}


def render(
    request: Request,
    name: str,
    user: WebUser | None,
    *,
    section: str = "",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a page with the layout's context: the user (and its phrase), the CSRF token, the navigation."""
    context.setdefault("title", dict(NAV).get(section, "Bastion"))
    context.setdefault("notice", None)
    context.setdefault("error", None)
    context.setdefault("live_url", None)
    html = templates.get_template(name).render(
        user=user,
        csrf=csrf_token_for(request) if user is not None else "",
        nav=NAV,
        section=section,
        can_change=user is not None and can_change(user),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})


def fragment(name: str, **context: Any) -> str:
    """Render a partial template (an SSE update or an htmx swap)."""
    return templates.get_template(name).render(**context)
