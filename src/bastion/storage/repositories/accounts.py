"""Accounts: an exchange account and the state that gates its bots."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from bastion.errors import ValidationError
from bastion.storage.models import AccountRow, PaperAccountRow
from bastion.storage.records import AccountRecord, AccountState
from bastion.storage.repositories._base import Repository

__all__ = ["AccountRepository"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_EXCHANGE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # ccxt ids and simulator-kucoin


def _record(row: AccountRow, paper: bool) -> AccountRecord:
    return AccountRecord(
        id=row.id,
        name=row.name,
        exchange=row.exchange,
        state=AccountState(row.state),
        created_at=row.created_at,
        url=row.url,
        paper=paper,
    )


class AccountRepository(Repository):
    """Create, find and change the state of accounts."""

    def create(
        self, name: str, exchange: str, *, url: str | None = None, paper: dict[str, Any] | None = None
    ) -> AccountRecord:
        """Add an account in state ACTIVE.

        Parameters
        ----------
        name
            Unique name: letters, digits, ``_ . -``, at most 64 characters.
        exchange
            ccxt exchange id such as ``binance``, or ``simulator``.
        url
            The exchange's API URL when it is not the exchange's own (the simulator's).
        paper
            A paper account's starting document (balances): its orders are matched in the engine.

        Raises
        ------
        ValidationError
            The name or exchange id is malformed, or the name is taken.
        """
        if not _NAME.match(name):
            raise ValidationError(f"account name {name!r} is not valid; expected 1-64 letters, digits, '_', '.' or '-'")
        if not _EXCHANGE.match(exchange):
            raise ValidationError(f"exchange id {exchange!r} is not valid; expected a ccxt id such as 'binance'")
        if self._row(name) is not None:
            raise ValidationError(f"account name {name!r} is already taken; expected a new name")
        row = AccountRow(
            name=name, exchange=exchange, state=AccountState.ACTIVE.value, created_at=self.clock(), url=url
        )
        self.session.add(row)
        self.session.flush()
        if paper is not None:
            self.session.add(PaperAccountRow(account_id=row.id, document=paper, updated_at=self.clock()))
            self.session.flush()
        return _record(row, paper is not None)

    def get(self, name: str) -> AccountRecord | None:
        """Return the account called ``name``, or None."""
        row = self._row(name)
        return None if row is None else _record(row, self._paper(row.id))

    def get_by_id(self, account_id: int) -> AccountRecord | None:
        """Return the account with this id, or None."""
        row = self.session.get(AccountRow, account_id)
        return None if row is None else _record(row, self._paper(row.id))

    def all(self) -> list[AccountRecord]:
        """Return every account, ordered by name."""
        paper = set(self.session.scalars(select(PaperAccountRow.account_id)))
        return [_record(r, r.id in paper) for r in self.session.scalars(select(AccountRow).order_by(AccountRow.name))]

    def set_state(self, name: str, state: AccountState) -> AccountRecord:
        """Set the account's state (ACTIVE, REDUCING or HALTED) and return the account."""
        row = self._row(name)
        if row is None:
            raise ValidationError(f"no account named {name!r}")
        row.state = AccountState(state).value
        self.session.flush()
        return _record(row, self._paper(row.id))

    def set_url(self, name: str, url: str | None) -> AccountRecord:
        """Set the account's exchange URL (None: the exchange's own) and return the account."""
        row = self._row(name)
        if row is None:
            raise ValidationError(f"no account named {name!r}")
        row.url = url
        self.session.flush()
        return _record(row, self._paper(row.id))

    def paper_document(self, account_id: int) -> dict[str, Any] | None:
        """Return a paper account's document (balances, orders), or None for a live account."""
        row = self.session.get(PaperAccountRow, account_id)
        return None if row is None else dict(row.document)

    def save_paper_document(self, account_id: int, document: dict[str, Any]) -> None:
        """Replace a paper account's document."""
        row = self.session.get(PaperAccountRow, account_id)
        if row is None:
            raise ValidationError(f"account id {account_id} is not a paper account")
        row.document = document
        row.updated_at = self.clock()
        self.session.flush()

    def _paper(self, account_id: int) -> bool:
        return self.session.get(PaperAccountRow, account_id) is not None

    def _row(self, name: str) -> AccountRow | None:
        return self.session.scalar(select(AccountRow).where(AccountRow.name == name))
