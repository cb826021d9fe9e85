"""``/api/v1/users``: the web users and the accounts each owns (admins only; never a secret)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session, sessionmaker

from bastion.services.users import list_users
from bastion.web.api._common import refusals, run, sessions_of
from bastion.web.api.schemas import UserOut
from bastion.web.auth.deps import WebUser, require_role

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=list[UserOut], responses=refusals())
async def users(
    _admin: Annotated[WebUser, Depends(require_role("admin"))],
    sessions: Annotated[sessionmaker[Session], Depends(sessions_of)],
) -> list[UserOut]:
    """Every web user, its role, whether it has TOTP, and its accounts."""
    rows = await run(list_users, sessions)
    return [UserOut(name=u.name, role=u.role, totp=u.totp_confirmed, accounts=a) for u, a in rows]  # type: ignore[arg-type]
