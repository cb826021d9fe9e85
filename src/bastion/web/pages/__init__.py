"""The dashboard's HTML pages: server-rendered (Jinja2), htmx and small scripts of our own, no
inline script and nothing from another origin (the CSP is ``default-src 'self'``).

Every page reads through :mod:`bastion.services` and shows only the logged-in user's accounts;
every state change is a POST with the session's CSRF token.
"""

from fastapi import APIRouter

from bastion.web.pages import accounts, backtests, bots, deals, live, overview, panic, session, static, tools

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
for _module in (static, session, overview, accounts, bots, deals, backtests, tools, live, panic):
    router.include_router(_module.router)
