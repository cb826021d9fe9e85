"""Web users, their login sessions and passkeys, and which accounts each user owns.

Nothing here hashes or checks a password, a TOTP code or a WebAuthn signature: that is
:mod:`bastion.services.users` and :mod:`bastion.web.auth`. A user record never carries the
password hash or the sealed TOTP secret; :meth:`UserRepository.password_hash` and
:meth:`UserRepository.totp` hand them to the code that checks them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from bastion.errors import ValidationError
from bastion.storage.models import AccountRow, PasskeyRow, UserRow, WebSessionRow
from bastion.storage.records import AccountRecord
from bastion.storage.repositories._base import Repository

__all__ = [
    "ROLES",
    "PasskeyRecord",
    "UserRecord",
    "UserRepository",
    "WebSessionRecord",
    "WebSessionRepository",
]

#: What a web user may do: administer users and everything a trader may; trade; only look.
ROLES = ("admin", "trader", "viewer")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    """A web user (never its password hash nor its TOTP secret)."""

    id: int
    name: str
    role: str
    phrase: str
    totp_confirmed: bool
    failed_logins: int
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSessionRecord:
    """A login session (never its id: only the id's SHA-256 is stored)."""

    id: int
    user_id: int
    csrf_token: str
    stage: str
    created_at: datetime
    last_seen_at: datetime
    factor_at: datetime | None
    challenge: str | None
    challenge_kind: str | None
    challenge_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class PasskeyRecord:
    """A user's passkey: credential id (base64url), COSE public key, signature counter."""

    id: int
    user_id: int
    credential_id: str
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...]
    label: str
    created_at: datetime
    last_used_at: datetime | None


def _user(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id,
        name=row.name,
        role=row.role,
        phrase=row.phrase,
        totp_confirmed=row.totp_confirmed,
        failed_logins=row.failed_logins,
        locked_until=row.locked_until,
        created_at=row.created_at,
    )


def _session(row: WebSessionRow) -> WebSessionRecord:
    return WebSessionRecord(
        id=row.id,
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        stage=row.stage,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        factor_at=row.factor_at,
        challenge=row.challenge,
        challenge_kind=row.challenge_kind,
        challenge_at=row.challenge_at,
    )


def _passkey(row: PasskeyRow) -> PasskeyRecord:
    return PasskeyRecord(
        id=row.id,
        user_id=row.user_id,
        credential_id=row.credential_id,
        public_key=row.public_key,
        sign_count=row.sign_count,
        transports=tuple(t for t in (row.transports or "").split(",") if t),
        label=row.label,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


def _account(row: AccountRow) -> AccountRecord:
    from bastion.storage.records import AccountState

    return AccountRecord(
        id=row.id, name=row.name, exchange=row.exchange, state=AccountState(row.state), created_at=row.created_at,
        url=row.url,
    )  # fmt: skip


class UserRepository(Repository):
    """Create and find users, record failed logins, keep TOTP state, and give accounts owners."""

    def create(self, name: str, *, role: str, password_hash: str, phrase: str) -> UserRecord:
        """Add a user.

        Raises
        ------
        ValidationError
            The name is malformed or taken, the role unknown, or the phrase empty or too long.
        """
        if not _NAME.match(name):
            raise ValidationError(
                f"user name {name!r} is not valid; expected 1-64 letters, digits, '_', '.', '@' or '-'"
            )
        if role not in ROLES:
            raise ValidationError(f"role {role!r} is not one of {', '.join(ROLES)}")
        if not 1 <= len(phrase.strip()) <= 128:
            raise ValidationError("the anti-phishing phrase must have 1 to 128 characters")
        if self._row(name) is not None:
            raise ValidationError(f"user name {name!r} is already taken; expected a new name")
        row = UserRow(
            name=name, role=role, password_hash=password_hash, phrase=phrase.strip(), totp_sealed=None,
            totp_confirmed=False, totp_last_step=None, failed_logins=0, locked_until=None, created_at=self.clock(),
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return _user(row)

    def get(self, name: str) -> UserRecord | None:
        """Return the user called ``name``, or None."""
        row = self._row(name)
        return None if row is None else _user(row)

    def get_by_id(self, user_id: int) -> UserRecord | None:
        """Return the user with this id, or None."""
        row = self.session.get(UserRow, user_id)
        return None if row is None else _user(row)

    def all(self) -> list[UserRecord]:
        """Return every user, by name."""
        return [_user(r) for r in self.session.scalars(select(UserRow).order_by(UserRow.name))]

    def password_hash(self, user_id: int) -> str:
        """Return the user's Argon2id hash (for the password check only)."""
        return self._by_id(user_id).password_hash

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        """Replace the user's password hash (a rehash with newer parameters, a new password)."""
        self._by_id(user_id).password_hash = password_hash
        self.session.flush()

    def failed_login(self, user_id: int, *, limit: int, lock_until: datetime) -> UserRecord:
        """Count one failed login; at ``limit`` failures in a row lock the user until ``lock_until``."""
        row = self._by_id(user_id)
        row.failed_logins += 1
        if row.failed_logins >= limit:
            row.locked_until = lock_until
            row.failed_logins = 0
        self.session.flush()
        return _user(row)

    def login_succeeded(self, user_id: int) -> None:
        """Reset the failure count after a successful login step."""
        row = self._by_id(user_id)
        row.failed_logins = 0
        row.locked_until = None
        self.session.flush()

    # --- TOTP ---------------------------------------------------------------------------------

    def totp(self, user_id: int) -> tuple[bytes | None, bool, int | None]:
        """Return the sealed TOTP secret, whether it is confirmed, and the last accepted time step."""
        row = self._by_id(user_id)
        return row.totp_sealed, row.totp_confirmed, row.totp_last_step

    def set_totp(self, user_id: int, sealed: bytes | None, *, confirmed: bool) -> None:
        """Store a (new, unconfirmed) sealed TOTP secret, or remove it with None."""
        row = self._by_id(user_id)
        row.totp_sealed = sealed
        row.totp_confirmed = confirmed and sealed is not None
        row.totp_last_step = None
        self.session.flush()

    def use_totp_step(self, user_id: int, step: int, *, confirm: bool = False) -> bool:
        """Record that the code of time step ``step`` was used; False (nothing changed) if it was already.

        A code is accepted once: a step at or before the last accepted one is a replay.
        """
        row = self._by_id(user_id)
        if row.totp_last_step is not None and step <= row.totp_last_step:
            return False
        row.totp_last_step = step
        if confirm:
            row.totp_confirmed = True
        self.session.flush()
        return True

    # --- accounts -----------------------------------------------------------------------------

    def set_account_owner(self, account_name: str, user_id: int | None) -> AccountRecord:
        """Make ``user_id`` the owner of the account (None: no owner; no web user reaches it)."""
        row = self.session.scalar(select(AccountRow).where(AccountRow.name == account_name))
        if row is None:
            raise ValidationError(f"no account named {account_name!r}")
        if user_id is not None:
            self._by_id(user_id)
        row.owner_user_id = user_id
        self.session.flush()
        return _account(row)

    def owned_accounts(self, user_id: int) -> list[AccountRecord]:
        """Return the accounts the user owns, by name."""
        query = select(AccountRow).where(AccountRow.owner_user_id == user_id).order_by(AccountRow.name)
        return [_account(r) for r in self.session.scalars(query)]

    def account_owner(self, account_id: int) -> int | None:
        """Return the id of the account's owner, or None (no account, or no owner)."""
        row = self.session.get(AccountRow, account_id)
        return None if row is None else row.owner_user_id

    def _row(self, name: str) -> UserRow | None:
        return self.session.scalar(select(UserRow).where(UserRow.name == name))

    def _by_id(self, user_id: int) -> UserRow:
        row = self.session.get(UserRow, user_id)
        if row is None:
            raise ValidationError(f"no user with id {user_id}")
        return row


class WebSessionRepository(Repository):
    """Login sessions and passkeys, looked up by the SHA-256 of the session id."""

    def create(self, token_sha256: str, *, user_id: int, csrf_token: str, stage: str) -> WebSessionRecord:
        """Store a new session (its id's digest) and return it."""
        now = self.clock()
        row = WebSessionRow(
            token_sha256=token_sha256, user_id=user_id, csrf_token=csrf_token, stage=stage, created_at=now,
            last_seen_at=now, factor_at=None, challenge=None, challenge_kind=None, challenge_at=None,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return _session(row)

    def find(self, token_sha256: str) -> WebSessionRecord | None:
        """Return the session whose id has this digest, or None."""
        row = self._row(token_sha256)
        return None if row is None else _session(row)

    def find_by_id(self, session_id: int) -> WebSessionRecord | None:
        """Return the session with this row id, or None."""
        row = self.session.get(WebSessionRow, session_id)
        return None if row is None else _session(row)

    def mark_factor(self, session_id: int, when: datetime) -> None:
        """A second factor was given again (a step-up): it is fresh from ``when``."""
        row = self._get(session_id)
        row.factor_at = when
        row.last_seen_at = when
        self.session.flush()

    def touch(self, session_id: int, when: datetime) -> None:
        """Record activity (the idle expiry counts from the last)."""
        row = self._get(session_id)
        row.last_seen_at = when
        self.session.flush()

    def upgrade(self, session_id: int, *, token_sha256: str, csrf_token: str, factor_at: datetime) -> None:
        """After a second factor: a new id (against fixation), a new CSRF token, stage ``full``, fresh factor."""
        row = self._get(session_id)
        row.token_sha256 = token_sha256
        row.csrf_token = csrf_token
        row.stage = "full"
        row.factor_at = factor_at
        row.last_seen_at = factor_at
        row.challenge = row.challenge_kind = None
        row.challenge_at = None
        self.session.flush()

    def set_challenge(self, session_id: int, challenge: str | None, kind: str | None, when: datetime | None) -> None:
        """Remember (or forget, with None) the WebAuthn challenge this session was given."""
        row = self._get(session_id)
        row.challenge, row.challenge_kind, row.challenge_at = challenge, kind, when
        self.session.flush()

    def delete(self, session_id: int) -> None:
        """End a session."""
        self.session.execute(delete(WebSessionRow).where(WebSessionRow.id == session_id))

    def delete_for_user(self, user_id: int) -> None:
        """End every session of a user."""
        self.session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))

    def delete_older(self, created_before: datetime, idle_before: datetime) -> int:
        """Delete sessions past their absolute or idle expiry; return how many."""
        result = self.session.execute(
            delete(WebSessionRow).where(
                (WebSessionRow.created_at < created_before) | (WebSessionRow.last_seen_at < idle_before)
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    # --- passkeys -----------------------------------------------------------------------------

    def add_passkey(
        self, user_id: int, *, credential_id: str, public_key: bytes, sign_count: int, transports: tuple[str, ...],
        label: str,
    ) -> PasskeyRecord:  # fmt: skip
        """Store a registered passkey.

        Raises
        ------
        ValidationError
            This credential id is already registered.
        """
        if self.session.scalar(select(PasskeyRow).where(PasskeyRow.credential_id == credential_id)) is not None:
            raise ValidationError("this passkey is already registered; expected a new credential")
        row = PasskeyRow(
            user_id=user_id, credential_id=credential_id, public_key=public_key, sign_count=sign_count,
            transports=",".join(transports)[:256] or None, label=label[:64], created_at=self.clock(),
            last_used_at=None,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return _passkey(row)

    def passkeys(self, user_id: int) -> list[PasskeyRecord]:
        """Return the user's passkeys, oldest first."""
        query = select(PasskeyRow).where(PasskeyRow.user_id == user_id).order_by(PasskeyRow.id)
        return [_passkey(r) for r in self.session.scalars(query)]

    def passkey(self, credential_id: str) -> PasskeyRecord | None:
        """Return the passkey with this credential id, or None."""
        row = self.session.scalar(select(PasskeyRow).where(PasskeyRow.credential_id == credential_id))
        return None if row is None else _passkey(row)

    def passkey_used(self, passkey_id: int, *, sign_count: int, when: datetime) -> None:
        """Record a successful assertion: the new signature counter and when."""
        row = self.session.get(PasskeyRow, passkey_id)
        if row is None:
            raise ValidationError(f"no passkey with id {passkey_id}")
        row.sign_count = sign_count
        row.last_used_at = when
        self.session.flush()

    def remove_passkey(self, user_id: int, passkey_id: int) -> bool:
        """Remove one of the user's passkeys; False when the user has no passkey with this id."""
        result = self.session.execute(
            delete(PasskeyRow).where(PasskeyRow.id == passkey_id, PasskeyRow.user_id == user_id)
        )
        return bool(getattr(result, "rowcount", 0))

    def _row(self, token_sha256: str) -> WebSessionRow | None:
        return self.session.scalar(select(WebSessionRow).where(WebSessionRow.token_sha256 == token_sha256))

    def _get(self, session_id: int) -> WebSessionRow:
        row = self.session.get(WebSessionRow, session_id)
        if row is None:
            raise ValidationError(f"no web session with id {session_id}")
        return row
