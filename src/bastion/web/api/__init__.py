"""The REST API of the dashboard's data, under ``/api/v1`` (each router checks session, role and ownership).

Routers call the same use cases as the CLI (:mod:`bastion.services`), after
:mod:`bastion.services.access` has checked that the account, bot, deal or command is the user's.
"""

from __future__ import annotations

from fastapi import APIRouter

from bastion.web.api import accounts, alerts, audit, bots, deals, panic, users

__all__ = ["routers"]

#: Every router of the data API, included by :func:`bastion.web.create_app`.
routers: list[APIRouter] = [
    accounts.router,
    alerts.router,
    audit.router,
    bots.router,
    deals.router,
    deals.commands,
    panic.router,
    users.router,
]
