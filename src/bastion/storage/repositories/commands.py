"""The command queue: manual commands from the CLI or web, applied by the engine, with their results."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bastion.errors import ValidationError
from bastion.storage.models import CommandRow
from bastion.storage.repositories._base import Repository

__all__ = ["CommandRecord", "CommandRepository", "CommandStatus"]


class CommandStatus(enum.StrEnum):
    """Where a command is: waiting for the engine, applied, or refused."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRecord:
    """One manual command and, once the engine applied it, its result."""

    id: int
    kind: str
    bot_id: int | None
    deal_id: int | None
    payload: Mapping[str, Any]
    status: CommandStatus
    result: str | None
    created_at: datetime
    done_at: datetime | None


def _record(row: CommandRow) -> CommandRecord:
    return CommandRecord(
        id=row.id,
        kind=row.kind,
        bot_id=row.bot_id,
        deal_id=row.deal_id,
        payload=dict(row.payload),
        status=CommandStatus(row.status),
        result=row.result,
        created_at=row.created_at,
        done_at=row.done_at,
    )


class CommandRepository(Repository):
    """Queue commands, hand the pending ones to the engine, record results."""

    def enqueue(
        self, kind: str, *, bot_id: int | None = None, deal_id: int | None = None, payload: Mapping[str, Any]
    ) -> CommandRecord:
        """Add a pending command and return it."""
        row = CommandRow(
            kind=kind,
            bot_id=bot_id,
            deal_id=deal_id,
            payload={str(k): v for k, v in payload.items()},
            status=CommandStatus.PENDING.value,
            created_at=self.clock(),
        )
        self.session.add(row)
        self.session.flush()
        return _record(row)

    def pending(self) -> list[CommandRecord]:
        """Return the pending commands, oldest first."""
        query = select(CommandRow).where(CommandRow.status == CommandStatus.PENDING.value).order_by(CommandRow.id)
        return [_record(r) for r in self.session.scalars(query)]

    def get(self, command_id: int) -> CommandRecord | None:
        """Return the command with this id, or None."""
        row = self.session.get(CommandRow, command_id)
        return None if row is None else _record(row)

    def finish(self, command_id: int, *, ok: bool, result: str) -> None:
        """Record a command's result (done or failed)."""
        row = self.session.get(CommandRow, command_id)
        if row is None:
            raise ValidationError(f"no command with id {command_id}")
        row.status = (CommandStatus.DONE if ok else CommandStatus.FAILED).value
        row.result, row.done_at = result, self.clock()
        self.session.flush()
