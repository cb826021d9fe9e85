"""Custody rows: sealed API keys and signed account policies.

Only the signer (and ``bastion vault passwd``, which re-wraps) writes them. The sealed blobs
are opaque here: storage never sees a secret in clear.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bastion.errors import ValidationError
from bastion.storage.models import AccountPolicyRow, AccountRow, ApiKeyRow
from bastion.storage.repositories._base import Repository

__all__ = ["ApiKeyRecord", "ApiKeyRepository", "PolicyRecord", "PolicyRepository"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyRecord:
    """One stored API key; the sealed blobs are hidden from ``repr``."""

    id: int
    account_id: int
    account: str
    key_id: str
    version: int
    exchange: str
    url: str | None
    key_hint: str
    fingerprint: str
    sealed_api_key: bytes = field(repr=False)
    sealed_secret: bytes = field(repr=False)
    sealed_password: bytes | None = field(repr=False)
    allow_unrestricted_ip: bool
    permissions: dict[str, Any] | None
    status: str
    status_reason: str | None
    checked_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyRecord:
    """An account's stored policy, its revision and the signer's signature over it."""

    account_id: int
    account: str
    config: dict[str, Any]
    reason: str | None
    revision: int
    updated_at: datetime
    signature: str


def _key_record(row: ApiKeyRow, account: str) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        account_id=row.account_id,
        account=account,
        key_id=row.key_id,
        version=row.version,
        exchange=row.exchange,
        url=row.url,
        key_hint=row.key_hint,
        fingerprint=row.fingerprint,
        sealed_api_key=bytes(row.sealed_api_key),
        sealed_secret=bytes(row.sealed_secret),
        sealed_password=None if row.sealed_password is None else bytes(row.sealed_password),
        allow_unrestricted_ip=row.allow_unrestricted_ip,
        permissions=row.permissions,
        status=row.status,
        status_reason=row.status_reason,
        checked_at=row.checked_at,
        created_at=row.created_at,
    )


class ApiKeyRepository(Repository):
    """Store, find, re-wrap and remove sealed API keys (one per account)."""

    def add(
        self,
        *,
        account_id: int,
        key_id: str,
        version: int,
        exchange: str,
        url: str | None,
        key_hint: str,
        fingerprint: str,
        sealed_api_key: bytes,
        sealed_secret: bytes,
        sealed_password: bytes | None,
        allow_unrestricted_ip: bool,
        permissions: dict[str, Any] | None,
    ) -> ApiKeyRecord:
        """Store a new key for an account that has none.

        Raises
        ------
        ValidationError
            The account does not exist or already has a key.
        """
        account = self.session.get(AccountRow, account_id)
        if account is None:
            raise ValidationError(f"no account with id {account_id}")
        if self._row(account_id) is not None:
            raise ValidationError(
                f"account {account.name!r} already has an API key; remove it first with `bastion keys remove`"
            )
        now = self.clock()
        row = ApiKeyRow(
            account_id=account_id,
            key_id=key_id,
            version=version,
            exchange=exchange,
            url=url,
            key_hint=key_hint,
            fingerprint=fingerprint,
            sealed_api_key=sealed_api_key,
            sealed_secret=sealed_secret,
            sealed_password=sealed_password,
            allow_unrestricted_ip=allow_unrestricted_ip,
            permissions=permissions,
            status="active",
            status_reason=None,
            checked_at=now,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _key_record(row, account.name)

    def for_account(self, account_id: int) -> ApiKeyRecord | None:
        """Return the account's key, or None."""
        row = self._row(account_id)
        if row is None:
            return None
        account = self.session.get(AccountRow, account_id)
        assert account is not None
        return _key_record(row, account.name)

    def all(self) -> list[ApiKeyRecord]:
        """Return every stored key, ordered by account name."""
        rows = self.session.execute(
            select(ApiKeyRow, AccountRow.name)
            .join(AccountRow, AccountRow.id == ApiKeyRow.account_id)
            .order_by(AccountRow.name)
        )
        return [_key_record(row, name) for row, name in rows]

    def set_status(self, account_id: int, status: str, reason: str | None) -> None:
        """Mark the key ``active`` or ``paused`` (with the reason shown to the user)."""
        if status not in ("active", "paused"):
            raise ValidationError(f"key status must be 'active' or 'paused', got {status!r}")
        row = self._required(account_id)
        row.status = status
        row.status_reason = reason
        self.session.flush()

    def record_check(self, account_id: int, permissions: dict[str, Any]) -> None:
        """Store the outcome of a permission check and when it ran."""
        row = self._required(account_id)
        row.permissions = permissions
        row.checked_at = self.clock()
        self.session.flush()

    def replace_sealed(
        self, key_id: str, *, sealed_api_key: bytes, sealed_secret: bytes, sealed_password: bytes | None
    ) -> None:
        """Replace a key's sealed blobs (after ``vault passwd`` re-wrapped their data keys)."""
        row = self.session.scalar(select(ApiKeyRow).where(ApiKeyRow.key_id == key_id))
        if row is None:
            raise ValidationError(f"no API key with key id {key_id!r}")
        row.sealed_api_key = sealed_api_key
        row.sealed_secret = sealed_secret
        row.sealed_password = sealed_password
        self.session.flush()

    def remove(self, account_id: int) -> bool:
        """Delete the account's key; return whether there was one."""
        row = self._row(account_id)
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        return True

    def _row(self, account_id: int) -> ApiKeyRow | None:
        return self.session.scalar(select(ApiKeyRow).where(ApiKeyRow.account_id == account_id))

    def _required(self, account_id: int) -> ApiKeyRow:
        row = self._row(account_id)
        if row is None:
            raise ValidationError(f"account id {account_id} has no API key")
        return row


class PolicyRepository(Repository):
    """Read and write the signed per-account policy rows."""

    def get(self, account_id: int) -> PolicyRecord | None:
        """Return the account's policy row, or None when none was ever stored."""
        row = self.session.get(AccountPolicyRow, account_id)
        if row is None:
            return None
        account = self.session.get(AccountRow, account_id)
        assert account is not None
        return PolicyRecord(
            account_id=row.account_id,
            account=account.name,
            config=dict(row.config),
            reason=row.reason,
            revision=row.revision,
            updated_at=row.updated_at,
            signature=row.signature,
        )

    def put(
        self,
        account_id: int,
        *,
        config: dict[str, Any],
        reason: str | None,
        revision: int,
        updated_at: datetime,
        signature: str,
    ) -> None:
        """Insert or replace the account's policy row."""
        row = self.session.get(AccountPolicyRow, account_id)
        if row is None:
            row = AccountPolicyRow(account_id=account_id)
            self.session.add(row)
        row.config = config
        row.reason = reason
        row.revision = revision
        row.updated_at = updated_at
        row.signature = signature
        self.session.flush()
