"""The append-only event log: what happened, to which aggregate, in which order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bastion.errors import ValidationError
from bastion.storage.models import EventRow
from bastion.storage.records import EventRecord
from bastion.storage.repositories._base import Repository

__all__ = ["EventRepository"]


def _record(row: EventRow) -> EventRecord:
    return EventRecord(
        id=row.id,
        ts=row.ts,
        kind=row.kind,
        aggregate_type=row.aggregate_type,
        aggregate_id=row.aggregate_id,
        payload=row.payload,
    )


def _check_json(value: Any, where: str) -> None:
    if isinstance(value, float | Decimal):
        raise ValidationError(
            f"event payload {where} is {type(value).__name__} {value!r}; expected numbers as decimal "
            f"strings (e.g. '{value}') or ints, so that nothing is stored through float"
        )
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(f"event payload {where} has key {key!r}; expected string keys")
            _check_json(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]")
    elif not isinstance(value, str | int | bool) and value is not None:
        raise ValidationError(f"event payload {where} is a {type(value).__name__}; expected a JSON value")


class EventRepository(Repository):
    """Append events and read them back in the order they were appended.

    Nothing updates or deletes an event: the repository offers no way to, and the database
    refuses it (triggers installed by the initial migration).
    """

    def append(
        self,
        kind: str,
        aggregate_type: str,
        aggregate_id: str,
        payload: dict[str, Any],
        *,
        ts: datetime | None = None,
    ) -> EventRecord:
        """Append one event and return it with its id (ids grow in append order).

        Parameters
        ----------
        kind
            What happened, e.g. ``OrderFilled``.
        aggregate_type, aggregate_id
            What it happened to, e.g. ``order`` and the client order id.
        payload
            JSON object; numbers other than ints must be decimal strings (floats are refused).
        ts
            When it happened; the repository clock when None.
        """
        if not kind or not aggregate_type or not aggregate_id:
            raise ValidationError(
                f"an event needs a kind, aggregate type and aggregate id, got "
                f"{kind!r}, {aggregate_type!r}, {aggregate_id!r}"
            )
        if not isinstance(payload, dict):
            raise ValidationError(f"event payload must be a dict, got {type(payload).__name__}")
        _check_json(payload, "payload")
        row = EventRow(
            ts=self.clock() if ts is None else ts,
            kind=kind,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            payload=payload,
        )
        self.session.add(row)
        self.session.flush()
        return _record(row)

    def for_aggregate(self, aggregate_type: str, aggregate_id: str) -> list[EventRecord]:
        """Return the aggregate's events, oldest first."""
        query = (
            select(EventRow)
            .where(EventRow.aggregate_type == aggregate_type, EventRow.aggregate_id == aggregate_id)
            .order_by(EventRow.id)
        )
        return [_record(r) for r in self.session.scalars(query)]

    def since(self, after_id: int = 0, *, limit: int = 1000) -> list[EventRecord]:
        """Return up to ``limit`` events with an id above ``after_id``, oldest first (for tailing)."""
        query = select(EventRow).where(EventRow.id > after_id).order_by(EventRow.id).limit(limit)
        return [_record(r) for r in self.session.scalars(query)]
