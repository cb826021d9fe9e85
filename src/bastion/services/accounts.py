"""The engine's and web's view of the accounts: name, exchange and URL, learnt from the signer.

In the production layout the signer keeps its accounts (with the sealed keys and signed
policies) in its own database, which the engine's user cannot read. The engine and the CLI ask
the signer (``key_status``, an operation of the engine role) and keep the non-secret part here,
in the main database; bots refer to these rows. In the development layout both are one database
and this only confirms what is there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import ValidationError
from bastion.storage import AccountRepository

__all__ = ["sync_accounts"]


def sync_accounts(sessions: sessionmaker[Session], statuses: Iterable[Mapping[str, Any]]) -> list[str]:
    """Create or update the accounts the signer reported; return the names created or changed.

    Parameters
    ----------
    sessions
        The main database.
    statuses
        The signer's ``key_status`` answer: one mapping per account with ``account``,
        ``exchange`` and ``url``.

    Raises
    ------
    ValidationError
        An account here is on another exchange than the signer's account of the same name.
    """
    changed: list[str] = []
    with sessions.begin() as session:
        accounts = AccountRepository(session)
        for status in statuses:
            name, exchange, url = status.get("account"), status.get("exchange"), status.get("url")
            if not isinstance(name, str) or not isinstance(exchange, str):
                raise ValidationError(f"the signer's key_status lacks account or exchange: {sorted(status)}")
            url = url if isinstance(url, str) else None
            existing = accounts.get(name)
            if existing is None:
                accounts.create(name, exchange, url=url)
                changed.append(name)
            elif existing.exchange != exchange:
                raise ValidationError(
                    f"account {name!r} is on {existing.exchange!r} here but on {exchange!r} in the signer; "
                    "expected the same exchange"
                )
            elif existing.url != url:
                accounts.set_url(name, url)
                changed.append(name)
    return changed
