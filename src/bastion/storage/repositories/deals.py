"""Deals: one DCA cycle of a bot, from base order to take-profit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from datetime import datetime

from sqlalchemy import func, select

from bastion.errors import StorageError, ValidationError
from bastion.storage.models import BotRow, DealRow
from bastion.storage.records import DealRecord, DealStatus
from bastion.storage.repositories._base import Repository

__all__ = ["DealRepository"]

_COLUMNS = tuple(f.name for f in fields(DealRecord) if f.name != "id")


def _record(row: DealRow) -> DealRecord:
    values = {name: getattr(row, name) for name in _COLUMNS}
    values["status"] = DealStatus(row.status)
    return DealRecord(id=row.id, **values)


class DealRepository(Repository):
    """Save and load :class:`~bastion.storage.records.DealRecord`."""

    def save(self, deal: DealRecord) -> DealRecord:
        """Insert the deal (``id`` None) or update the stored one; return it with its id.

        Raises
        ------
        ValidationError
            The deal is inconsistent (closed without ``closed_at``, negative counts) or its bot
            does not exist.
        StorageError
            No deal has this id, or the stored deal belongs to another bot.
        """
        if deal.status is not DealStatus.OPEN and deal.closed_at is None:
            raise ValidationError(f"deal {deal.id} is {deal.status.value} but has no closed_at; expected both")
        if deal.safety_orders_filled < 0:
            raise ValidationError(f"deal {deal.id}: safety_orders_filled must be >= 0, got {deal.safety_orders_filled}")
        if deal.id is None:
            if self.session.get(BotRow, deal.bot_id) is None:
                raise ValidationError(f"deal on {deal.pair}: no bot with id {deal.bot_id}")
            row = DealRow()
            self.session.add(row)
        else:
            found = self.session.get(DealRow, deal.id)
            if found is None:
                raise StorageError(f"no deal with id {deal.id}; expected id None to insert a new deal")
            if found.bot_id != deal.bot_id:
                raise StorageError(f"deal {deal.id} belongs to bot {found.bot_id}, got bot {deal.bot_id}")
            row = found
        for name in _COLUMNS:
            value = getattr(deal, name)
            setattr(row, name, value.value if isinstance(value, DealStatus) else value)
        self.session.flush()
        return _record(row)

    def put(self, deal: DealRecord) -> DealRecord:
        """Insert the deal under its given id, or update it (the engine core numbers deals).

        Raises
        ------
        ValidationError
            ``id`` is None, or the deal is inconsistent (see :meth:`save`).
        """
        if deal.id is None:
            raise ValidationError(f"deal on {deal.pair}: put needs an id; use save to insert with a new id")
        if self.session.get(DealRow, deal.id) is not None:
            return self.save(deal)
        if self.session.get(BotRow, deal.bot_id) is None:
            raise ValidationError(f"deal on {deal.pair}: no bot with id {deal.bot_id}")
        if deal.status is not DealStatus.OPEN and deal.closed_at is None:
            raise ValidationError(f"deal {deal.id} is {deal.status.value} but has no closed_at; expected both")
        row = DealRow(id=deal.id)
        for name in _COLUMNS:
            value = getattr(deal, name)
            setattr(row, name, value.value if isinstance(value, DealStatus) else value)
        self.session.add(row)
        self.session.flush()
        return _record(row)

    def max_id(self) -> int:
        """Return the highest deal id (0 when there is none)."""
        return int(self.session.scalar(select(func.max(DealRow.id))) or 0)

    def get(self, deal_id: int) -> DealRecord | None:
        """Return the deal with this id, or None."""
        row = self.session.get(DealRow, deal_id)
        return None if row is None else _record(row)

    def for_bot(self, bot_id: int, *, status: DealStatus | None = None) -> list[DealRecord]:
        """Return the bot's deals, oldest first, optionally only those with ``status``."""
        query = select(DealRow).where(DealRow.bot_id == bot_id).order_by(DealRow.id)
        if status is not None:
            query = query.where(DealRow.status == DealStatus(status).value)
        return [_record(r) for r in self.session.scalars(query)]

    def closed_summary(self, bot_id: int) -> tuple[int, datetime | None]:
        """Return how many of the bot's deals are no longer open, and when the last one closed."""
        query = select(func.count(), func.max(DealRow.closed_at)).where(
            DealRow.bot_id == bot_id, DealRow.status != DealStatus.OPEN.value
        )
        count, last = self.session.execute(query).one()
        return int(count), last

    def state(self, deal_id: int) -> dict[str, str]:
        """Return the values the deal's bot saved for it."""
        row = self.session.get(DealRow, deal_id)
        if row is None:
            raise StorageError(f"no deal with id {deal_id}")
        return dict(row.state or {})

    def save_state(self, deal_id: int, values: Mapping[str, str]) -> None:
        """Merge ``values`` into the deal's saved state."""
        row = self.session.get(DealRow, deal_id)
        if row is None:
            raise StorageError(f"no deal with id {deal_id}")
        row.state = {**(row.state or {}), **{str(k): str(v) for k, v in values.items()}}
        self.session.flush()

    def all(self, *, bot_id: int | None = None) -> list[DealRecord]:
        """Return every deal (of one bot, or all), oldest first."""
        query = select(DealRow).order_by(DealRow.id)
        if bot_id is not None:
            query = query.where(DealRow.bot_id == bot_id)
        return [_record(row) for row in self.session.scalars(query)]
