"""Bots: a name, a type, the account it trades on and its TOML configuration."""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import delete, select

from bastion.errors import ValidationError
from bastion.storage.models import AccountRow, BotRow, DealRow, OrderRow, SignalRow, SignalSecretRow
from bastion.storage.records import BotRecord
from bastion.storage.repositories._base import Repository

__all__ = ["BotRepository"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _record(row: BotRow) -> BotRecord:
    return BotRecord(
        id=row.id,
        name=row.name,
        type=row.type,
        account_id=row.account_id,
        config_toml=row.config_toml,
        enabled=row.enabled,
        created_at=row.created_at,
        status=row.status,
        status_reason=row.status_reason,
    )


class BotRepository(Repository):
    """Create bots, change their configuration, enable and disable them."""

    def create(self, name: str, *, type: str, account_id: int, config_toml: str, enabled: bool = False) -> BotRecord:
        """Add a bot (disabled unless ``enabled``).

        Parameters
        ----------
        name
            Unique name: letters, digits, ``_ . -``, at most 64 characters.
        type
            Bot type, e.g. ``dca`` or ``grid``.
        account_id
            The account it trades on.
        config_toml
            Its configuration as TOML text; the bot's own config type parses and checks it.

        Raises
        ------
        ValidationError
            The name is malformed or taken, or the account does not exist.
        """
        if not _NAME.match(name):
            raise ValidationError(f"bot name {name!r} is not valid; expected 1-64 letters, digits, '_', '.' or '-'")
        if self._row(name) is not None:
            raise ValidationError(f"bot name {name!r} is already taken; expected a new name")
        if self.session.get(AccountRow, account_id) is None:
            raise ValidationError(f"bot {name!r}: no account with id {account_id}")
        row = BotRow(
            name=name,
            type=type,
            account_id=account_id,
            config_toml=config_toml,
            enabled=enabled,
            created_at=self.clock(),
            status="stopped",
        )
        self.session.add(row)
        self.session.flush()
        return _record(row)

    def get(self, name: str) -> BotRecord | None:
        """Return the bot called ``name``, or None."""
        row = self._row(name)
        return None if row is None else _record(row)

    def get_by_id(self, bot_id: int) -> BotRecord | None:
        """Return the bot with this id, or None."""
        row = self.session.get(BotRow, bot_id)
        return None if row is None else _record(row)

    def all(self, *, account_id: int | None = None, enabled: bool | None = None) -> list[BotRecord]:
        """Return the bots, optionally of one account or only (dis)abled ones, ordered by name."""
        query = select(BotRow).order_by(BotRow.name)
        if account_id is not None:
            query = query.where(BotRow.account_id == account_id)
        if enabled is not None:
            query = query.where(BotRow.enabled == enabled)
        return [_record(r) for r in self.session.scalars(query)]

    def set_enabled(self, name: str, enabled: bool) -> BotRecord:
        """Enable or disable the bot and return it."""
        row = self._existing(name)
        row.enabled = enabled
        self.session.flush()
        return _record(row)

    def set_status(self, bot_id: int, status: str, reason: str | None, *, enabled: bool) -> BotRecord:
        """Record the engine's status of the bot (and why), and its on/off switch."""
        row = self.session.get(BotRow, bot_id)
        if row is None:
            raise ValidationError(f"no bot with id {bot_id}")
        row.status, row.status_reason, row.enabled = status, reason or None, enabled
        self.session.flush()
        return _record(row)

    def set_config_by_id(self, bot_id: int, config_toml: str) -> None:
        """Replace the configuration text of the bot with this id."""
        row = self.session.get(BotRow, bot_id)
        if row is None:
            raise ValidationError(f"no bot with id {bot_id}")
        row.config_toml = config_toml
        self.session.flush()

    def save_state_by_id(self, bot_id: int, values: Mapping[str, str]) -> None:
        """Merge ``values`` into the saved state of the bot with this id."""
        row = self.session.get(BotRow, bot_id)
        if row is None:
            raise ValidationError(f"no bot with id {bot_id}")
        row.state = {**(row.state or {}), **{str(k): str(v) for k, v in values.items()}}
        self.session.flush()

    def set_config(self, name: str, config_toml: str) -> BotRecord:
        """Replace the bot's configuration text and return the bot."""
        row = self._existing(name)
        row.config_toml = config_toml
        self.session.flush()
        return _record(row)

    def _row(self, name: str) -> BotRow | None:
        return self.session.scalar(select(BotRow).where(BotRow.name == name))

    def _existing(self, name: str) -> BotRow:
        row = self._row(name)
        if row is None:
            raise ValidationError(f"no bot named {name!r}")
        return row

    def state(self, name: str) -> dict[str, str]:
        """Return the values the bot saved for itself."""
        return dict(self._existing(name).state or {})

    def save_state(self, name: str, values: Mapping[str, str]) -> None:
        """Merge ``values`` into the bot's saved state."""
        row = self._existing(name)
        row.state = {**(row.state or {}), **{str(k): str(v) for k, v in values.items()}}
        self.session.flush()

    def delete(self, name: str) -> None:
        """Delete a bot that never traded (no deal, no order); a bot with history can only be disabled."""
        row = self._existing(name)
        if self.session.scalar(select(DealRow.id).where(DealRow.bot_id == row.id).limit(1)) is not None or (
            self.session.scalar(select(OrderRow.id).where(OrderRow.bot_id == row.id).limit(1)) is not None
        ):
            raise ValidationError(f"bot {name!r} has deals or orders; stop it instead (its history is kept)")
        self.session.execute(delete(SignalSecretRow).where(SignalSecretRow.bot_id == row.id))
        self.session.execute(delete(SignalRow).where(SignalRow.bot_id == row.id))
        self.session.delete(row)
        self.session.flush()
