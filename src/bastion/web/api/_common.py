"""What the data routers share: the caller's identity, roles, error mapping, JSON-safe values."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from bastion.errors import ConfigError, SignerRefused, SignerUnavailable, ValidationError
from bastion.services.access import NotYours
from bastion.services.accounts import SignerCalls
from bastion.web.auth.deps import WebUser, auth_context, current_user, require_csrf, require_fresh_factor, require_role
from bastion.web.schemas import Problem

__all__ = [
    "CHANGE",
    "CHANGE_FRESH",
    "READ",
    "Reader",
    "Trader",
    "plain",
    "refusals",
    "run",
    "sessions_of",
    "signer_of",
]

T = TypeVar("T")

#: Anyone logged in may read; changing something needs the trader or admin role and the CSRF token.
Reader = Annotated[WebUser, Depends(current_user)]
Trader = Annotated[WebUser, Depends(require_role("admin", "trader"))]
READ: list[Any] = []
CHANGE: list[Any] = [Depends(require_csrf)]
CHANGE_FRESH: list[Any] = [Depends(require_csrf), Depends(require_fresh_factor)]


def refusals(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: each status answers ``{"detail": ...}``."""
    return {status: {"model": Problem} for status in (401, 403, 404, 422, 503, *statuses)}


def sessions_of(request: Request) -> sessionmaker[Session]:
    """The app's database."""
    return auth_context(request).sessions


def signer_of(request: Request) -> SignerCalls:
    """A client of the signer (the web's role: it never holds a secret)."""
    factory: Callable[[], SignerCalls] = request.app.state.signer
    return factory()


async def run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a use case in the thread pool; map its refusals to HTTP answers with its message.

    404 not the user's (or no such thing); 422 invalid input or a check refused it; 409 the
    signer refused; 503 the signer does not answer.
    """
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except NotYours as error:
        raise HTTPException(status_code=404, detail=str(error)) from None
    except (ConfigError, ValidationError) as error:
        raise HTTPException(status_code=422, detail=str(error)) from None
    except SignerUnavailable as error:
        raise HTTPException(status_code=503, detail=f"the signer does not answer: {error}") from None
    except SignerRefused as error:
        raise HTTPException(status_code=409, detail=f"the signer refused: {error}") from None


def plain(value: Any) -> Any:
    """Return ``value`` with Decimals as decimal strings, datetimes as ISO 8601, enums as their value."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
