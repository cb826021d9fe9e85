"""Vault use cases: create a vault with the signer's audit-signing key, and change its passphrase.

``bastion vault init`` is :func:`check_no_vault`, then :func:`create_vault`.
``bastion vault passwd`` is :func:`finish_interrupted_change`, then ``Vault.open`` with the
current passphrase, then :func:`change_passphrase`.

A passphrase change re-wraps the data key of every sealed secret (the signing-key file and
each API key row) and leaves their ciphertexts byte-identical. Its steps, so that a crash at
any point leaves a state :func:`finish_interrupted_change` can complete or undo:

1. ``Vault.rewrap``: the new ``vault.json`` is written, the old one kept as ``vault.json.prev``;
2. the re-wrapped signing key goes to ``signer-key.sealed.new``;
3. the re-wrapped rows are written in one database transaction (the commit point);
4. ``signer-key.sealed.new`` replaces ``signer-key.sealed``;
5. ``vault.json.prev`` is deleted.

Nothing here prints, and no passphrase or secret is ever put in a message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from bastion.custody.layout import HomeLayout
from bastion.custody.vault import (
    PREVIOUS_HEADER_NAME,
    SIGNER_KEY_BINDING,
    KdfParams,
    SealedSecret,
    SecretBinding,
    SecretIntegrityError,
    Vault,
    VaultError,
    VaultExistsError,
    VaultFormatError,
    VaultNotFoundError,
    generate_signing_key,
    load_signing_key,
)
from bastion.custody.vault._files import fsync_dir, write_file_atomic
from bastion.errors import BastionError, StorageError, scrub
from bastion.storage.db import create_engine_for, mask_url, session_factory, upgrade
from bastion.storage.repositories import ApiKeyRecord, ApiKeyRepository

__all__ = [
    "KdfSummary",
    "PassphraseChanged",
    "VaultCreated",
    "change_passphrase",
    "check_no_vault",
    "create_vault",
    "finish_interrupted_change",
    "kdf_summary",
    "pending_signing_key_path",
]

_SEALED_COLUMNS = ("sealed_api_key", "sealed_secret", "sealed_password")


@dataclass(frozen=True, slots=True, kw_only=True)
class KdfSummary:
    """The Argon2id parameters a vault header names (nothing secret)."""

    memory_kib: int
    time_cost: int
    parallelism: int
    weak: bool

    def __str__(self) -> str:
        memory = f"{self.memory_kib // 1024} MiB" if self.memory_kib % 1024 == 0 else f"{self.memory_kib} KiB"
        text = f"argon2id, {memory} memory, t={self.time_cost}, p={self.parallelism}"
        if self.weak:
            text += " (weak TEST parameters from BASTION_KDF_PROFILE=test; never use them for real keys)"
        return text


@dataclass(frozen=True, slots=True, kw_only=True)
class VaultCreated:
    """What :func:`create_vault` made."""

    home: Path
    header: Path
    signing_key: Path
    public_key_file: Path
    public_key: str
    kdf: KdfSummary
    database: str
    stale_api_keys: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PassphraseChanged:
    """What :func:`change_passphrase` re-wrapped."""

    signing_keys: int
    api_keys: int
    api_secrets: int
    kdf: KdfSummary

    @property
    def secrets(self) -> int:
        """How many sealed secrets were re-wrapped in all."""
        return self.signing_keys + self.api_secrets


def pending_signing_key_path(layout: HomeLayout) -> Path:
    """Return where a passphrase change keeps the re-wrapped signing key until its commit."""
    return layout.signing_key.with_name(layout.signing_key.name + ".new")


def _previous_header(layout: HomeLayout) -> Path:
    return layout.home / PREVIOUS_HEADER_NAME


def _header_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise VaultNotFoundError(f"no vault header at {path}; create a vault with `bastion vault init`") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise VaultFormatError(f"cannot read vault header {path}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("kek_id"), str):
        raise VaultFormatError(f"vault header {path} is not a JSON object with a kek_id")
    return data


def kdf_summary(header: Path) -> KdfSummary | None:
    """Return the Argon2id parameters named in a vault header, or ``None`` for a non-passphrase KEK.

    Parameters
    ----------
    header
        The ``vault.json`` file.

    Raises
    ------
    VaultFormatError
        The header cannot be read or its KDF parameters are invalid.
    """
    kek = _header_json(header).get("kek")
    kdf = kek.get("kdf") if isinstance(kek, dict) else None
    if not isinstance(kdf, dict):
        return None
    try:
        salt = base64.b64decode(str(kdf.get("salt", "")), validate=True)
        params = KdfParams.from_json(kdf, salt_len=len(salt))
    except (binascii.Error, BastionError) as exc:
        raise VaultFormatError(f"vault header {header} has invalid KDF parameters: {exc}") from None
    return KdfSummary(
        memory_kib=params.memory_kib, time_cost=params.time_cost, parallelism=params.parallelism, weak=params.is_weak
    )


# ---------------------------------------------------------------------------------- init


def check_no_vault(layout: HomeLayout) -> None:
    """Raise unless ``layout`` holds no vault file at all (call it before asking for a passphrase).

    Raises
    ------
    VaultExistsError
        A vault header, sealed signing key or public key is already there; the message names them.
    """
    found = [
        path
        for path in (
            layout.vault_header,
            _previous_header(layout),
            layout.signing_key,
            pending_signing_key_path(layout),
            layout.public_key,
        )
        if path.exists() or path.is_symlink()
    ]
    if found:
        names = ", ".join(str(p) for p in found)
        raise VaultExistsError(
            f"a vault already exists in {layout.home} (found {names}); refusing to overwrite it. "
            "Use `bastion vault passwd` to change its passphrase, or choose another BASTION_HOME"
        )


def _database(layout: HomeLayout) -> tuple[Any, sessionmaker[Session]]:
    layout.ensure()
    engine = create_engine_for(layout.custody_database_url())  # the signer's own database in production
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine, session_factory(engine)


def create_vault(layout: HomeLayout, passphrase: str) -> VaultCreated:
    """Create the vault, the signer's sealed Ed25519 audit-signing key, its public key and the database.

    The KDF parameters are production strength unless ``BASTION_KDF_PROFILE=test``. The
    database is created or upgraded first; if any vault file cannot be written, the files
    made so far are removed again, so a failed run changes nothing but the database schema.

    Parameters
    ----------
    layout
        The Bastion home.
    passphrase
        The new vault passphrase.

    Returns
    -------
    VaultCreated
        Paths, the public key (hex), the KDF parameters and the masked database URL.

    Raises
    ------
    VaultExistsError
        Any vault file is already there.
    StorageError
        The database cannot be opened or migrated.
    """
    check_no_vault(layout)
    engine, factory = _database(layout)
    try:
        with factory() as session:
            stale = len(ApiKeyRepository(session).all())
        database = mask_url(engine.url)
    finally:
        engine.dispose()
    created: list[Path] = []
    try:
        with Vault.init(layout.home, passphrase) as vault:
            created.append(vault.header_path)
            with generate_signing_key() as raw:
                public = load_signing_key(raw).public_key().public_bytes_raw().hex()
                sealed = vault.seal(raw, SIGNER_KEY_BINDING)
        for path, data in ((layout.signing_key, sealed.to_bytes()), (layout.public_key, f"{public}\n".encode())):
            try:
                write_file_atomic(path, data, overwrite=False)
            except FileExistsError:
                raise VaultExistsError(f"{path} appeared while the vault was being created; nothing changed") from None
            created.append(path)
    except BaseException:
        for path in reversed(created):
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    kdf = kdf_summary(layout.vault_header)
    assert kdf is not None  # a passphrase vault always names its KDF
    return VaultCreated(
        home=layout.home,
        header=layout.vault_header,
        signing_key=layout.signing_key,
        public_key_file=layout.public_key,
        public_key=public,
        kdf=kdf,
        database=database,
        stale_api_keys=stale,
    )


# ---------------------------------------------------------------------------------- passwd


def _row_binding(record: ApiKeyRecord) -> SecretBinding:
    return SecretBinding(account=record.account, exchange=record.exchange, key_id=record.key_id, version=record.version)


def _sealed_of(record: ApiKeyRecord, column: str) -> SealedSecret | None:
    blob = getattr(record, column)
    if blob is None:
        return None
    binding = _row_binding(record)
    try:
        sealed = SealedSecret.from_bytes(blob)
    except SecretIntegrityError as exc:
        raise SecretIntegrityError(
            f"{column} of API key row {binding.describe()} is not a sealed secret ({exc}); nothing changed",
            account=binding.account,
            exchange=binding.exchange,
            key_id=binding.key_id,
            version=binding.version,
        ) from None
    if sealed.binding != binding:
        raise SecretIntegrityError(
            f"{column} of API key row {binding.describe()} was sealed for row {sealed.binding.describe()}: it was "
            "copied or altered; nothing changed",
            account=binding.account,
            exchange=binding.exchange,
            key_id=binding.key_id,
            version=binding.version,
        )
    return sealed


def _read_signing_key(path: Path) -> SealedSecret:
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise VaultError(
            f"no sealed signing key at {path}; expected the file `bastion vault init` wrote next to the vault"
        ) from None
    try:
        sealed = SealedSecret.from_bytes(blob)
    except SecretIntegrityError as exc:
        raise SecretIntegrityError(f"{path} is not a sealed signing key: {exc}") from None
    if sealed.binding != SIGNER_KEY_BINDING:
        raise SecretIntegrityError(
            f"{path} holds a secret sealed for row {sealed.binding.describe()}; expected the signer's key "
            f"{SIGNER_KEY_BINDING.describe()}"
        )
    return sealed


def _stored_kek_ids(factory: sessionmaker[Session]) -> set[str]:
    with factory() as session:
        records = ApiKeyRepository(session).all()
    ids: set[str] = set()
    for record in records:
        for column in _SEALED_COLUMNS:
            sealed = _sealed_of(record, column)
            if sealed is not None:
                ids.add(sealed.kek_id)
    return ids


def _restore_previous_header(layout: HomeLayout) -> None:
    pending = pending_signing_key_path(layout)
    with contextlib.suppress(FileNotFoundError):
        pending.unlink()
    os.replace(_previous_header(layout), layout.vault_header)
    fsync_dir(layout.home)


def finish_interrupted_change(layout: HomeLayout) -> str | None:
    """Complete or undo a passphrase change that a crash interrupted; return what was done.

    Decided from the key-encryption-key ids stored next to each sealed secret (no
    passphrase needed): if the database rows were committed under the new key, the
    re-wrapped signing key is put in place; otherwise the previous header is restored.

    Parameters
    ----------
    layout
        The Bastion home.

    Returns
    -------
    str | None
        A sentence saying which passphrase now opens the vault, or ``None`` when nothing was
        interrupted.

    Raises
    ------
    VaultError
        The files and the database disagree in a way no interrupted change explains; the
        message names what was found.
    """
    previous = _previous_header(layout)
    pending = pending_signing_key_path(layout)
    if not previous.exists():
        if pending.exists():
            raise VaultError(
                f"{pending} exists without {previous}; expected neither. It is not from an interrupted passphrase "
                "change; move it away and retry"
            )
        return None
    current_id = _header_json(layout.vault_header)["kek_id"]
    previous_id = _header_json(previous)["kek_id"]
    if current_id == previous_id:
        previous.unlink()
        fsync_dir(layout.home)
        return None
    engine, factory = _database(layout)
    try:
        stored = _stored_kek_ids(factory)
    finally:
        engine.dispose()
    if stored == {current_id}:
        committed = True
    elif stored == {previous_id}:
        committed = False
    elif not stored:
        committed = pending.exists() or _read_signing_key(layout.signing_key).kek_id == current_id
    else:
        raise VaultError(
            f"the database holds secrets wrapped under key-encryption keys {sorted(k[:8] for k in stored)}, but the "
            f"vault's is {current_id[:8]} and the previous one {previous_id[:8]}; no interrupted passphrase change "
            "explains this, so nothing was touched"
        )
    if committed:
        if pending.exists():
            os.replace(pending, layout.signing_key)
            fsync_dir(layout.home)
        if _read_signing_key(layout.signing_key).kek_id != current_id:
            raise VaultError(
                f"{layout.signing_key} is not wrapped under the vault's current key {current_id[:8]}; the signing key "
                f"of an interrupted passphrase change is lost; nothing was touched"
            )
        previous.unlink()
        fsync_dir(layout.home)
        return "an interrupted passphrase change was completed: the NEW passphrase of that change opens the vault"
    if _read_signing_key(layout.signing_key).kek_id != previous_id:
        raise VaultError(
            f"{layout.signing_key} is not wrapped under the previous key {previous_id[:8]}; cannot undo the "
            "interrupted passphrase change; nothing was touched"
        )
    _restore_previous_header(layout)
    return "an interrupted passphrase change was undone: the passphrase from before that change opens the vault"


def _failure(exc: Exception, database: str) -> BastionError:
    if isinstance(exc, sa_exc.SQLAlchemyError):
        orig = getattr(exc, "orig", None) or exc
        lines = str(orig).strip().splitlines()
        reason = scrub(lines[0] if lines else type(orig).__name__)
        return StorageError(
            f"cannot write the re-wrapped API keys to {database}: {reason}; rolled back, the current passphrase "
            "still opens the vault"
        )
    return VaultError(
        f"changing the passphrase failed ({type(exc).__name__}: {scrub(str(exc))}); rolled back, the current "
        "passphrase still opens the vault"
    )


def change_passphrase(layout: HomeLayout, vault: Vault, new_passphrase: str) -> PassphraseChanged:
    """Move an open vault to a new passphrase, re-wrapping every sealed secret's data key.

    Every secret must unwrap under the current passphrase first; the ciphertexts are not
    re-encrypted. The rows are written in one transaction; on any failure before it commits,
    the previous header is restored and the re-wrapped signing key discarded, so the current
    passphrase still opens everything. Stop the signer first.

    Parameters
    ----------
    layout
        The Bastion home.
    vault
        The vault, opened with the current passphrase.
    new_passphrase
        The new passphrase (KDF parameters: production, or ``BASTION_KDF_PROFILE``).

    Returns
    -------
    PassphraseChanged
        How many secrets were re-wrapped, and the new KDF parameters.

    Raises
    ------
    SecretIntegrityError
        A stored secret does not unwrap under the current passphrase or belongs to another
        row (nothing changed).
    StorageError
        The database cannot be read or written (rolled back).
    """
    signing = _read_signing_key(layout.signing_key)
    pending = pending_signing_key_path(layout)
    engine, factory = _database(layout)
    database = mask_url(engine.url)
    rewrapped = committed = False
    try:
        with factory.begin() as session:
            repo = ApiKeyRepository(session)
            rows = repo.all()
            slots: list[tuple[ApiKeyRecord, str]] = []
            records = [signing]
            for row in rows:
                for column in _SEALED_COLUMNS:
                    sealed = _sealed_of(row, column)
                    if sealed is not None:
                        slots.append((row, column))
                        records.append(sealed)
            new_records = vault.rewrap(new_passphrase, records)
            rewrapped = True
            new_signing, *new_secrets = new_records
            write_file_atomic(pending, new_signing.to_bytes(), overwrite=True)
            columns: dict[str, dict[str, bytes | None]] = {row.key_id: dict.fromkeys(_SEALED_COLUMNS) for row in rows}
            for (row, column), sealed in zip(slots, new_secrets, strict=True):
                columns[row.key_id][column] = sealed.to_bytes()
            for key_id, blobs in columns.items():
                api_key, secret = blobs["sealed_api_key"], blobs["sealed_secret"]
                assert api_key is not None  # non-null column
                assert secret is not None  # non-null column
                repo.replace_sealed(
                    key_id, sealed_api_key=api_key, sealed_secret=secret, sealed_password=blobs["sealed_password"]
                )
        committed = True
        os.replace(pending, layout.signing_key)
        fsync_dir(layout.home)
    except BaseException as exc:
        passes_through = isinstance(exc, BastionError) or not isinstance(exc, Exception)
        if not rewrapped or (committed and passes_through):
            raise
        if committed:
            raise VaultError(
                f"the new passphrase was committed, but putting the re-wrapped signing key in place failed "
                f"({type(exc).__name__}: {scrub(str(exc))}); run `bastion vault passwd` again: it completes the "
                "change before asking for the (new) passphrase"
            ) from exc
        _restore_previous_header(layout)
        if passes_through or not isinstance(exc, Exception):
            raise
        raise _failure(exc, database) from exc
    finally:
        engine.dispose()
    vault.discard_previous_header()
    kdf = kdf_summary(layout.vault_header)
    assert kdf is not None
    return PassphraseChanged(signing_keys=1, api_keys=len(rows), api_secrets=len(slots), kdf=kdf)


# ---------------------------------------------------------------------------------- keys remove


def remove_key_offline(layout: HomeLayout, passphrase: str, account: str) -> str:
    """Remove an account's API key with the signer stopped, and record it in the signed audit log.

    The vault passphrase is checked first (a wrong one changes nothing); the removal is appended
    to the audit log (and its head signed) before the row is deleted, so the signer's log tells
    what happened when it starts again.

    Parameters
    ----------
    layout
        The Bastion home.
    passphrase
        The vault passphrase.
    account
        The account whose key to remove.

    Returns
    -------
    str
        The account's exchange (to print how to revoke the key there).

    Raises
    ------
    WrongPassphrase
        The passphrase is wrong.
    ValidationError
        The account has no stored key.
    AuditLockedError
        The signer is running after all (it holds the audit log).
    """
    import time

    from bastion.custody.audit import AuditLog
    from bastion.errors import ValidationError
    from bastion.storage import AccountRepository

    with Vault.open(layout.home, passphrase) as vault:
        sealed = _read_signing_key(layout.signing_key)
        with vault.unseal(sealed, SIGNER_KEY_BINDING) as raw:
            key = load_signing_key(raw)
    engine, factory = _database(layout)
    try:
        with factory.begin() as session:
            record = AccountRepository(session).get(account)
            stored = None if record is None else ApiKeyRepository(session).for_account(record.id)
            if record is None or stored is None:
                raise ValidationError(f"account {account!r} has no stored key; `bastion keys list` shows the keys")
            audit = AuditLog.open(
                layout.audit_log,
                signing_key=key,
                clock=lambda: time.time_ns() // 1_000_000,
                recover_partial_tail=True,
                sign_on_sync=True,
            )
            try:
                audit.append(
                    "key_event",
                    {
                        "account": account,
                        "event": "removed",
                        "key_hint": stored.key_hint,
                        "fingerprint": stored.fingerprint,
                        "offline": True,
                        "user_confirmed": True,
                        "pid": os.getpid(),
                    },
                )
            finally:
                audit.close()
            ApiKeyRepository(session).remove(record.id)
            return record.exchange
    finally:
        engine.dispose()
