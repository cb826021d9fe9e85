"""The vault: a header file that unlocks a KEK, and sealing/unsealing of row-bound secrets."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.custody.vault._binding import SecretBinding
from bastion.custody.vault._errors import (
    KekUnwrapError,
    SecretIntegrityError,
    StaleKekError,
    VaultError,
    VaultExistsError,
    VaultFormatError,
    VaultNotFoundError,
    WrongKek,
    WrongPassphrase,
)
from bastion.custody.vault._files import fsync_dir, write_file_atomic
from bastion.custody.vault._kdf import KdfParams
from bastion.custody.vault._kek import KekSource, Passphrase, PassphraseKek
from bastion.custody.vault._sealed import SealedSecret
from bastion.custody.vault._secret import SecretBytes, zero
from bastion.errors import ValidationError

__all__ = ["HEADER_NAME", "PREVIOUS_HEADER_NAME", "Vault"]

HEADER_NAME = "vault.json"
PREVIOUS_HEADER_NAME = "vault.json.prev"

_FORMAT = "bastion-vault"
_HEADER_VERSION = 1
_MAX_HEADER_BYTES = 64 * 1024
_VERIFIER_PLAINTEXT = hashlib.sha256(b"bastion.vault.verifier.v1").digest()
_KEK_ID = re.compile(r"[0-9a-f]{32}")
_NONCE_LEN = 12
_TAG_LEN = 16
_DATA_KEY_LEN = 32


def _canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _verifier_aad(header_without_verifier: Mapping[str, Any]) -> bytes:
    # Binds every header field: editing the KDF parameters, salt or kek_id fails verification.
    return b"bastion.vault.verifier.v1\x00" + _canonical(header_without_verifier)


def _integrity_error(cls: type[SecretIntegrityError], message: str, binding: SecretBinding) -> SecretIntegrityError:
    return cls(
        message,
        account=binding.account,
        exchange=binding.exchange,
        key_id=binding.key_id,
        version=binding.version,
    )


def _as_kek_source(
    kek: Passphrase | KekSource, kdf: KdfParams | None, allow_weak_kdf: bool
) -> tuple[KekSource, bool]:
    """Return the source and whether the vault owns (and must close) it."""
    if isinstance(kek, str | bytes | bytearray | SecretBytes):
        return PassphraseKek.create(kek, kdf, allow_weak_kdf=allow_weak_kdf), True
    if isinstance(kek, KekSource):
        if kdf is not None:
            raise ValidationError("kdf parameters apply to a passphrase only; given them with a KekSource")
        return kek, False
    raise ValidationError(f"expected a passphrase (str, bytes, SecretBytes) or a KekSource; given {type(kek).__name__}")


def _close_source(source: KekSource) -> None:
    close = getattr(source, "close", None)
    if callable(close):
        close()


def _new_header(source: KekSource, kek_id: str) -> dict[str, Any]:
    description = source.describe()
    if not isinstance(description, dict) or not isinstance(description.get("kind"), str):
        raise ValidationError(f"KekSource.describe() must return a dict with a str 'kind'; given {description!r}")
    header: dict[str, Any] = {"format": _FORMAT, "version": _HEADER_VERSION, "kek_id": kek_id, "kek": description}
    try:
        aad = _verifier_aad(header)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"KekSource.describe() must be JSON-serialisable: {exc}") from None
    header["verifier"] = base64.b64encode(source.wrap(_VERIFIER_PLAINTEXT, aad)).decode()
    return header


def _read_header(path: Path) -> dict[str, Any]:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise VaultNotFoundError(f"no vault at {path}; expected a {HEADER_NAME} made by Vault.init") from None
    except OSError as exc:
        raise VaultFormatError(f"cannot open vault header {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise VaultFormatError(f"vault header {path} is not a regular file")
        if st.st_mode & 0o022:
            raise VaultFormatError(
                f"vault header {path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
                "expected 0600"
            )
        raw = f.read(_MAX_HEADER_BYTES + 1)
    if len(raw) > _MAX_HEADER_BYTES:
        raise VaultFormatError(f"vault header {path} is larger than {_MAX_HEADER_BYTES} bytes")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VaultFormatError(f"vault header {path} is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise VaultFormatError(f"vault header {path} must be a JSON object; given {type(header).__name__}")
    if header.get("format") != _FORMAT or header.get("version") != _HEADER_VERSION:
        raise VaultFormatError(
            f"vault header {path} has format={header.get('format')!r} version={header.get('version')!r}; "
            f"expected format={_FORMAT!r} version={_HEADER_VERSION}"
        )
    if set(header) != {"format", "version", "kek_id", "kek", "verifier"}:
        raise VaultFormatError(
            f"vault header {path} has fields {sorted(header)}; expected exactly format, kek, kek_id, verifier, version"
        )
    if not isinstance(header["kek_id"], str) or _KEK_ID.fullmatch(header["kek_id"]) is None:
        raise VaultFormatError(f"vault header {path} kek_id must be 32 lowercase hex characters")
    if not isinstance(header["kek"], dict) or not isinstance(header["kek"].get("kind"), str):
        raise VaultFormatError(f"vault header {path} kek must be an object with a str 'kind'")
    if not isinstance(header["verifier"], str):
        raise VaultFormatError(f"vault header {path} verifier must be a base64 string")
    return header


class Vault:
    """An unlocked vault: seals secrets to rows and unseals them.

    Layout on disk: one header, ``<directory>/vault.json`` (mode 0600, written atomically),
    holding the format version, a random ``kek_id``, the KEK source's description (for a
    passphrase: Argon2id parameters and salt) and a verifier (a constant wrapped by the KEK
    with the rest of the header as associated data). Secrets themselves live in the
    caller's database as :class:`SealedSecret` bytes.

    Do not construct directly: use :meth:`init` or :meth:`open`.
    """

    __slots__ = ("_closed", "_directory", "_kek", "_kek_id", "_owns_kek")

    def __init__(self, directory: Path, kek: KekSource, kek_id: str, *, owns_kek: bool) -> None:
        self._directory = directory
        self._kek = kek
        self._kek_id = kek_id
        self._owns_kek = owns_kek
        self._closed = False

    # ------------------------------------------------------------------ create / open

    @staticmethod
    def exists(directory: str | os.PathLike[str]) -> bool:
        """Return whether ``directory`` holds a vault header."""
        return (Path(directory) / HEADER_NAME).exists()

    @classmethod
    def init(
        cls,
        directory: str | os.PathLike[str],
        kek: Passphrase | KekSource,
        *,
        kdf: KdfParams | None = None,
        allow_weak_kdf: bool = False,
    ) -> Vault:
        """Create a new vault header in ``directory`` and return the unlocked vault.

        Parameters
        ----------
        directory
            Where to put ``vault.json`` (e.g. ``$BASTION_HOME``); created with mode 0700
            if missing.
        kek
            A passphrase (``str``, ``bytes`` or :class:`SecretBytes`) for Argon2id, or any
            :class:`KekSource` such as an external KMS.
        kdf
            Argon2id parameters for a passphrase; ``None`` means production strength
            (or the ``BASTION_KDF_PROFILE`` profile).
        allow_weak_kdf
            Consent to parameters below the production floor (tests only).

        Returns
        -------
        Vault
            The new, unlocked vault.

        Raises
        ------
        VaultExistsError
            If ``directory`` already holds a vault; it is never overwritten.
        KdfProfileError
            If ``kdf`` is weak without consent.
        """
        directory = Path(directory)
        path = directory / HEADER_NAME
        if path.exists() or path.is_symlink():
            raise VaultExistsError(f"a vault already exists at {path}; refusing to overwrite it")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        source, owns = _as_kek_source(kek, kdf, allow_weak_kdf)
        try:
            kek_id = os.urandom(16).hex()
            header = _new_header(source, kek_id)
            try:
                write_file_atomic(path, _canonical(header) + b"\n", overwrite=False)
            except FileExistsError:
                raise VaultExistsError(f"a vault already exists at {path}; refusing to overwrite it") from None
        except BaseException:
            if owns:
                _close_source(source)
            raise
        return cls(directory, source, kek_id, owns_kek=owns)

    @classmethod
    def open(
        cls,
        directory: str | os.PathLike[str],
        kek: Passphrase | KekSource,
        *,
        allow_weak_kdf: bool = False,
    ) -> Vault:
        """Unlock the vault in ``directory``.

        Parameters
        ----------
        directory
            The directory given to :meth:`init`.
        kek
            The passphrase, or the :class:`KekSource` the vault was created with.
        allow_weak_kdf
            Consent to open a vault made with test-strength KDF parameters.

        Returns
        -------
        Vault
            The unlocked vault.

        Raises
        ------
        VaultNotFoundError
            If there is no ``vault.json``.
        VaultFormatError
            If the header is malformed, of another version, or writable by others.
        WrongPassphrase
            If the passphrase does not unlock the header (nothing on disk changes).
        WrongKek
            If a :class:`KekSource` does not unlock the header.
        KdfProfileError
            If the header's KDF parameters are weak and there is no consent.
        """
        directory = Path(directory)
        path = directory / HEADER_NAME
        header = _read_header(path)
        owns = isinstance(kek, str | bytes | bytearray | SecretBytes)
        source: KekSource
        if owns:
            source = PassphraseKek.from_description(header["kek"], kek, allow_weak_kdf=allow_weak_kdf)  # type: ignore[arg-type]
        elif isinstance(kek, KekSource):
            source = kek
            kind = source.describe().get("kind")
            if kind != header["kek"]["kind"]:
                raise WrongKek(
                    f"vault at {path} is unlocked by a KEK source of kind {header['kek']['kind']!r}; "
                    f"given kind {kind!r}"
                )
        else:
            raise ValidationError(
                f"expected a passphrase (str, bytes, SecretBytes) or a KekSource; given {type(kek).__name__}"
            )
        try:
            cls._check_verifier(path, header, source, passphrase=owns)
        except BaseException:
            if owns:
                _close_source(source)
            raise
        return cls(directory, source, header["kek_id"], owns_kek=owns)

    @staticmethod
    def _check_verifier(path: Path, header: Mapping[str, Any], source: KekSource, *, passphrase: bool) -> None:
        try:
            blob = base64.b64decode(header["verifier"], validate=True)
        except binascii.Error:
            raise VaultFormatError(f"vault header {path} verifier is not valid base64") from None
        aad = _verifier_aad({k: v for k, v in header.items() if k != "verifier"})
        try:
            plain = source.unwrap(blob, aad)
        except KekUnwrapError:
            ok = False
        else:
            ok = hmac.compare_digest(bytes(plain), _VERIFIER_PLAINTEXT)
            if isinstance(plain, bytearray):
                zero(plain)
        if not ok:
            if passphrase:
                raise WrongPassphrase(
                    f"the passphrase does not unlock the vault at {path} (or its header was modified); nothing changed"
                )
            raise WrongKek(f"the KEK source does not unlock the vault at {path} (or its header was modified)")

    # ------------------------------------------------------------------ properties

    @property
    def directory(self) -> Path:
        """The directory holding ``vault.json``."""
        return self._directory

    @property
    def header_path(self) -> Path:
        """The path of ``vault.json``."""
        return self._directory / HEADER_NAME

    @property
    def kek_id(self) -> str:
        """The id of the current key-encryption key (changes on :meth:`rewrap`)."""
        return self._kek_id

    def _source(self) -> KekSource:
        if self._closed:
            raise VaultError(f"the vault at {self._directory} is closed; open it again")
        return self._kek

    # ------------------------------------------------------------------ seal / unseal

    def seal(self, secret: SecretBytes | bytes | bytearray | str, binding: SecretBinding) -> SealedSecret:
        """Encrypt ``secret`` for the row ``binding`` under a fresh data key.

        Parameters
        ----------
        secret
            The secret. A ``str`` is encoded as UTF-8. The caller keeps ownership (close
            a :class:`SecretBytes` yourself).
        binding
            The row the secret belongs to; bound into the associated data of both layers.

        Returns
        -------
        SealedSecret
            The record to store (``to_bytes()`` for a BLOB column).
        """
        source = self._source()
        if not isinstance(binding, SecretBinding):
            raise ValidationError(f"binding must be a SecretBinding; given {type(binding).__name__}")
        owned: SecretBytes | None = None
        if isinstance(secret, SecretBytes):
            plain = secret.view()
        elif isinstance(secret, str):
            owned = SecretBytes.from_str(secret)
            plain = owned.view()
        elif isinstance(secret, bytes | bytearray):
            plain = memoryview(secret)
        else:
            raise ValidationError(f"secret must be SecretBytes, bytes, bytearray or str; given {type(secret).__name__}")
        data_key = bytearray(os.urandom(_DATA_KEY_LEN))
        try:
            if len(plain) == 0:
                raise ValidationError(f"secret for {binding.describe()} is empty; expected at least one byte")
            nonce = os.urandom(_NONCE_LEN)
            ciphertext = AESGCM(data_key).encrypt(nonce, plain, binding.aad("data"))
            wrapped = source.wrap(data_key, binding.aad("wrap"))
        finally:
            zero(data_key)
            plain.release()
            if owned is not None:
                owned.close()
        return SealedSecret(
            binding=binding, kek_id=self._kek_id, wrapped_key=bytes(wrapped), nonce=nonce, ciphertext=ciphertext
        )

    def _unwrap_data_key(self, source: KekSource, sealed: SealedSecret, binding: SecretBinding) -> bytearray:
        if sealed.kek_id != self._kek_id:
            raise _integrity_error(
                StaleKekError,
                f"sealed secret for row {binding.describe()} was wrapped under key-encryption key "
                f"{sealed.kek_id[:8]}…, but the vault's is {self._kek_id[:8]}… (not re-wrapped after a passphrase "
                "change, from another vault, or altered)",
                binding,
            )
        try:
            key = source.unwrap(sealed.wrapped_key, binding.aad("wrap"))
        except KekUnwrapError:
            raise _integrity_error(
                SecretIntegrityError,
                f"data key of row {binding.describe()} does not authenticate: the sealed secret was altered or "
                "copied from another row",
                binding,
            ) from None
        out = bytearray(key)
        if isinstance(key, bytearray):
            zero(key)
        if len(out) != _DATA_KEY_LEN:
            zero(out)
            raise _integrity_error(
                SecretIntegrityError,
                f"data key of row {binding.describe()} is {len(out)} bytes; expected {_DATA_KEY_LEN}",
                binding,
            )
        return out

    def unseal(self, sealed: SealedSecret, binding: SecretBinding) -> SecretBytes:
        """Decrypt a sealed secret read from the row ``binding``.

        Parameters
        ----------
        sealed
            What :meth:`seal` returned (or ``SealedSecret.from_bytes`` of it).
        binding
            The binding of the row it was *read from*, taken from the row's own columns,
            not from ``sealed``. A sealed secret copied to another row fails here.

        Returns
        -------
        SecretBytes
            The secret; close it (or use ``with``) when done.

        Raises
        ------
        SecretIntegrityError
            If the sealed secret was stored for another row, altered in any byte, or wrapped
            under another KEK (:class:`StaleKekError`). The message names the row, never
            the secret.
        """
        source = self._source()
        if not isinstance(sealed, SealedSecret):
            raise ValidationError(f"sealed must be a SealedSecret; given {type(sealed).__name__}")
        if not isinstance(binding, SecretBinding):
            raise ValidationError(f"binding must be a SecretBinding; given {type(binding).__name__}")
        if sealed.binding != binding:
            raise _integrity_error(
                SecretIntegrityError,
                f"sealed secret read from row {binding.describe()} was sealed for row {sealed.binding.describe()}; "
                "it was copied or its binding altered",
                binding,
            )
        data_key = self._unwrap_data_key(source, sealed, binding)
        out = bytearray(len(sealed.ciphertext) - _TAG_LEN)
        try:
            AESGCM(data_key).decrypt_into(sealed.nonce, sealed.ciphertext, binding.aad("data"), out)
        except InvalidTag:
            zero(out)
            raise _integrity_error(
                SecretIntegrityError,
                f"ciphertext of row {binding.describe()} does not authenticate: the sealed secret was altered or "
                "copied from another row",
                binding,
            ) from None
        finally:
            zero(data_key)
        return SecretBytes.take(out)

    # ------------------------------------------------------------------ passphrase change

    def rewrap(
        self,
        new_kek: Passphrase | KekSource,
        sealed: Iterable[SealedSecret],
        *,
        kdf: KdfParams | None = None,
        allow_weak_kdf: bool = False,
    ) -> list[SealedSecret]:
        """Move the vault to a new KEK, re-wrapping only the data keys of ``sealed``.

        The secrets' ciphertexts and nonces stay byte-identical; only ``wrapped_key`` and
        ``kek_id`` change. The new header is written (atomically) only after every data
        key was re-wrapped; if any fails, nothing on disk changes and this vault keeps the
        old KEK. The previous header is kept as ``vault.json.prev``.

        Crash safety for the caller (``bastion vault passwd``): pass *every* sealed row,
        store the returned rows in one database transaction, then call
        :meth:`discard_previous_header`. If the transaction fails after this returned,
        the database still holds rows for the old KEK: restore ``vault.json.prev`` to
        ``vault.json`` and open with the old passphrase. Rows left on the old KEK raise
        :class:`StaleKekError` naming the row.

        Parameters
        ----------
        new_kek
            The new passphrase, or a :class:`KekSource` to move to (e.g. a KMS).
        sealed
            All sealed secrets of this vault.
        kdf
            Argon2id parameters for a new passphrase; ``None`` means production strength.
        allow_weak_kdf
            Consent to weak parameters (tests only).

        Returns
        -------
        list[SealedSecret]
            The re-wrapped records, in input order.

        Raises
        ------
        SecretIntegrityError
            If any record does not unwrap under the current KEK (nothing was changed).
        VaultError
            If ``vault.json`` changed on disk since this vault was opened.
        """
        source = self._source()
        records = list(sealed)
        new_source, owns = _as_kek_source(new_kek, kdf, allow_weak_kdf)
        new_kek_id = os.urandom(16).hex()
        try:
            out: list[SealedSecret] = []
            for record in records:
                if not isinstance(record, SealedSecret):
                    raise ValidationError(f"rewrap takes SealedSecret records; given {type(record).__name__}")
                data_key = self._unwrap_data_key(source, record, record.binding)
                try:
                    wrapped = new_source.wrap(data_key, record.binding.aad("wrap"))
                finally:
                    zero(data_key)
                out.append(replace(record, wrapped_key=bytes(wrapped), kek_id=new_kek_id))
            header = _new_header(new_source, new_kek_id)
            current = self.header_path.read_bytes()
            on_disk = json.loads(current.decode("utf-8")).get("kek_id")
            if on_disk != self._kek_id:
                raise VaultError(
                    f"{self.header_path} changed since this vault was opened (kek_id {str(on_disk)[:8]}…, expected "
                    f"{self._kek_id[:8]}…); refusing to overwrite it"
                )
            write_file_atomic(self._directory / PREVIOUS_HEADER_NAME, current, overwrite=True)
            write_file_atomic(self.header_path, _canonical(header) + b"\n", overwrite=True)
        except BaseException:
            if owns:
                _close_source(new_source)
            raise
        if self._owns_kek:
            _close_source(self._kek)
        self._kek, self._kek_id, self._owns_kek = new_source, new_kek_id, owns
        return out

    def discard_previous_header(self) -> bool:
        """Delete ``vault.json.prev`` once the re-wrapped rows are committed.

        Returns
        -------
        bool
            Whether there was a previous header to delete.
        """
        try:
            (self._directory / PREVIOUS_HEADER_NAME).unlink()
        except FileNotFoundError:
            return False
        fsync_dir(self._directory)
        return True

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Zero the KEK held in memory (a passphrase KEK) and refuse further use."""
        if not self._closed and self._owns_kek:
            _close_source(self._kek)
        self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"kek_id={self._kek_id[:8]}…"
        return f"Vault({str(self._directory)!r}, {state})"
