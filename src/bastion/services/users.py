"""Web users: ``bastion user add/list/own`` and the password check of the web login.

Passwords are hashed with Argon2id (argon2-cffi); by default 64 MiB, 3 passes, 4 lanes, the
same cost as the vault's key derivation. The hash string carries its parameters, so a hash made
with other parameters still verifies (and is re-hashed with the current ones at the next login).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import ValidationError
from bastion.storage.records import AccountRecord
from bastion.storage.repositories.users import ROLES, UserRecord, UserRepository

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "PasswordParams",
    "UserRecord",
    "add_user",
    "give_account",
    "hash_password",
    "list_users",
    "new_phrase",
    "owned_accounts",
    "set_owner",
    "verify_password",
]

#: The shortest password ``user add`` accepts.
MIN_PASSWORD_LENGTH = 12
_MAX_PASSWORD_BYTES = 1024

_WORDS = [
    "amber",
    "anchor",
    "aspen",
    "badger",
    "basalt",
    "beacon",
    "birch",
    "bison",
    "cedar",
    "cinder",
    "cobalt",
    "comet",
    "copper",
    "coral",
    "crane",
    "dune",
    "ember",
    "falcon",
    "fern",
    "fjord",
    "flint",
    "garnet",
    "glacier",
    "granite",
    "harbor",
    "hazel",
    "heron",
    "indigo",
    "iris",
    "jasper",
    "juniper",
    "kestrel",
    "lagoon",
    "larch",
    "lichen",
    "lynx",
    "maple",
    "marble",
    "meadow",
    "mica",
    "moss",
    "nebula",
    "nutmeg",
    "oak",
    "obsidian",
    "onyx",
    "orchid",
    "osprey",
    "otter",
    "pebble",
    "pine",
    "plover",
    "quartz",
    "raven",
    "reef",
    "river",
    "saffron",
    "sage",
    "slate",
    "sparrow",
    "spruce",
    "summit",
    "tern",
    "thistle",
    "tundra",
    "umber",
    "violet",
    "walnut",
    "willow",
    "wren",
    "yarrow",
    "zephyr",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordParams:
    """Argon2id cost: memory in KiB, passes, lanes (the default is what production uses)."""

    memory_kib: int = 64 * 1024
    time_cost: int = 3
    parallelism: int = 4

    def hasher(self) -> PasswordHasher:
        """Return an Argon2id hasher with these parameters."""
        return PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism, type=Type.ID
        )


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"the password has {len(password)} characters; expected at least {MIN_PASSWORD_LENGTH}")
    if len(password.encode("utf-8")) > _MAX_PASSWORD_BYTES:
        raise ValidationError(f"the password is longer than {_MAX_PASSWORD_BYTES} bytes; expected a shorter one")
    return password


def hash_password(password: str, params: PasswordParams | None = None) -> str:
    """Return the Argon2id hash string of ``password``."""
    return (params or PasswordParams()).hasher().hash(password)


def verify_password(hashed: str, password: str, params: PasswordParams | None = None) -> tuple[bool, str | None]:
    """Check ``password`` against ``hashed``; return (matches, a new hash when the parameters changed)."""
    hasher = (params or PasswordParams()).hasher()
    if len(password.encode("utf-8")) > _MAX_PASSWORD_BYTES:
        return False, None
    try:
        hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, None
    return True, hasher.hash(password) if hasher.check_needs_rehash(hashed) else None


def new_phrase() -> str:
    """Return a random anti-phishing phrase of three words and a number, e.g. ``otter-basalt-comet-42``."""
    words = [secrets.choice(_WORDS) for _ in range(3)]
    return "-".join([*words, str(secrets.randbelow(90) + 10)])


def add_user(
    sessions: sessionmaker[Session], name: str, *, role: str, password: str, phrase: str | None = None,
    params: PasswordParams | None = None,
) -> UserRecord:  # fmt: skip
    """Create a web user with an Argon2id password hash and an anti-phishing phrase (random when None).

    Raises
    ------
    ValidationError
        The name is malformed or taken, the role unknown, or the password too short.
    """
    if role not in ROLES:
        raise ValidationError(f"--role {role!r} is not one of {', '.join(ROLES)}")
    hashed = hash_password(_checked_password(password), params)
    with sessions.begin() as session:
        return UserRepository(session).create(name, role=role, password_hash=hashed, phrase=phrase or new_phrase())


def list_users(sessions: sessionmaker[Session]) -> list[tuple[UserRecord, list[str]]]:
    """Return every user and the names of the accounts it owns."""
    with sessions() as session:
        users = UserRepository(session)
        return [(u, [a.name for a in users.owned_accounts(u.id)]) for u in users.all()]


def set_owner(sessions: sessionmaker[Session], account: str, user: str | None) -> AccountRecord:
    """Give ``account`` to the web user ``user`` (None: to nobody).

    Raises
    ------
    ValidationError
        No such account or user.
    """
    with sessions.begin() as session:
        users = UserRepository(session)
        user_id = None
        if user is not None:
            record = users.get(user)
            if record is None:
                raise ValidationError(f"no user named {user!r}; see `bastion user list`")
            user_id = record.id
        return users.set_account_owner(account, user_id)


def give_account(sessions: sessionmaker[Session], account: str, user_id: int) -> AccountRecord:
    """Make the web user with this id the owner of ``account`` (a key connected in the web).

    Raises
    ------
    ValidationError
        No such account or user, or the account already belongs to another user.
    """
    with sessions.begin() as session:
        users = UserRepository(session)
        for record in users.owned_accounts(user_id):
            if record.name == account:
                return record
        from bastion.storage import AccountRepository

        found = AccountRepository(session).get(account)
        if found is not None and users.account_owner(found.id) not in (None, user_id):
            raise ValidationError(f"account {account!r} belongs to another user; expected a new account name")
        return users.set_account_owner(account, user_id)


def owned_accounts(sessions: sessionmaker[Session], user_id: int) -> list[AccountRecord]:
    """Return the accounts the user owns, by name."""
    with sessions() as session:
        return UserRepository(session).owned_accounts(user_id)
