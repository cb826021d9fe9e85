"""The REST API of the dashboard's data, under ``/api/v1`` (each router checks session, role and ownership)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["routers"]

#: Every router of the data API, included by :func:`bastion.web.create_app`.
routers: list[APIRouter] = []
