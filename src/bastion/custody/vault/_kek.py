"""Key-encryption-key sources: the interface, and the Argon2id passphrase implementation."""

from __future__ import annotations

import base64
import binascii
import os
import unicodedata
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.custody.vault._errors import KdfProfileError, KekUnwrapError, VaultFormatError
from bastion.custody.vault._kdf import KdfParams, resolve_kdf_params, weak_kdf_allowed
from bastion.custody.vault._secret import SecretBytes, zero
from bastion.errors import ValidationError

__all__ = ["KekSource", "Passphrase", "PassphraseKek"]

Passphrase = str | bytes | bytearray | SecretBytes
"""What a passphrase may be given as. ``str`` is NFC-normalised then UTF-8 encoded; bytes are used as given."""

_WRAP_VERSION = 1
_NONCE_LEN = 12
_KEY_LEN = 32
_TAG_LEN = 16


@runtime_checkable
class KekSource(Protocol):
    """Where the key-encryption key (KEK) lives; it wraps and unwraps data keys.

    The KEK itself never has to leave the source: an external KMS (e.g. HashiCorp Vault
    transit with an ``aes256-gcm96`` key and ``associated_data``) implements this by sending
    the data key and ``aad`` to its encrypt/decrypt endpoints.

    Implementations must

    - authenticate ``aad``: ``unwrap`` with other ``aad`` than ``wrap`` got must fail;
    - raise :class:`~bastion.custody.vault.KekUnwrapError` from ``unwrap`` for a wrong key,
      wrong ``aad`` or altered blob, with no secret in the message;
    - return from :meth:`describe` only non-secret data (it is stored in ``vault.json``).

    An optional ``close()`` is called by the vault when it closes.
    """

    def wrap(self, data_key: bytes | bytearray, aad: bytes) -> bytes:
        """Encrypt ``data_key`` under the KEK with ``aad`` as associated data; return the blob."""
        ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes | bytearray:
        """Return the data key in ``blob``; a ``bytearray`` result is zeroed by the caller after use."""
        ...

    def describe(self) -> dict[str, Any]:
        """Return a JSON-serialisable, non-secret description with at least a ``"kind"`` key."""
        ...


def _passphrase_bytes(passphrase: Passphrase) -> bytes:
    if isinstance(passphrase, SecretBytes):
        raw = passphrase.reveal()
    elif isinstance(passphrase, str):
        raw = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    elif isinstance(passphrase, bytes | bytearray):
        raw = bytes(passphrase)
    else:
        raise ValidationError(
            f"passphrase must be str, bytes, bytearray or SecretBytes; given {type(passphrase).__name__}"
        )
    if not raw:
        raise ValidationError("passphrase is empty; expected at least one character")
    return raw


class PassphraseKek:
    """A KEK derived from a passphrase with Argon2id; wraps with AES-256-GCM.

    The derived key is kept in a ``bytearray`` that :meth:`close` zeroes (OpenSSL keeps its
    own copy inside the cipher object, and argon2-cffi copies the passphrase into an
    immutable buffer; neither can be wiped from Python).

    Use :meth:`create` for a new vault and :meth:`from_description` to reopen one.

    Parameters
    ----------
    passphrase
        The passphrase.
    params
        Argon2id cost parameters.
    salt
        The salt, ``params.salt_len`` bytes.
    allow_weak_kdf
        Consent to ``params`` below the production floor (tests only; see
        :func:`~bastion.custody.vault._kdf.weak_kdf_allowed`).

    Raises
    ------
    KdfProfileError
        If ``params`` are weak without consent.
    """

    __slots__ = ("_aead", "_key", "_params", "_salt")

    kind = "passphrase"

    def __init__(
        self, passphrase: Passphrase, params: KdfParams, salt: bytes, *, allow_weak_kdf: bool = False
    ) -> None:
        if params.is_weak and not weak_kdf_allowed(allow_weak_kdf):
            raise KdfProfileError(
                f"KDF parameters memory_kib={params.memory_kib} time_cost={params.time_cost} are below the production "
                "floor; refusing them without allow_weak_kdf=True or BASTION_KDF_PROFILE=test (tests only)"
            )
        if len(salt) != params.salt_len:
            raise ValidationError(f"salt must be {params.salt_len} bytes; given {len(salt)}")
        raw = _passphrase_bytes(passphrase)
        derived = hash_secret_raw(
            raw,
            salt,
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            hash_len=params.hash_len,
            type=Type.ID,
            version=19,
        )
        self._key = bytearray(derived)
        del derived, raw
        self._aead: AESGCM | None = AESGCM(self._key)
        self._params = params
        self._salt = bytes(salt)

    @classmethod
    def create(
        cls,
        passphrase: Passphrase,
        params: KdfParams | None = None,
        *,
        allow_weak_kdf: bool = False,
    ) -> PassphraseKek:
        """Derive a KEK for a new vault with a fresh random salt.

        Parameters
        ----------
        passphrase
            The new passphrase.
        params
            Argon2id parameters; ``None`` means production (or the ``BASTION_KDF_PROFILE``
            profile).
        allow_weak_kdf
            Consent to parameters below the production floor (tests only).

        Returns
        -------
        PassphraseKek
            The derived KEK.

        Raises
        ------
        KdfProfileError
            If ``params`` are weak without consent.
        """
        params = resolve_kdf_params(params, allow_weak_kdf=allow_weak_kdf)
        return cls(passphrase, params, os.urandom(params.salt_len), allow_weak_kdf=True)  # consent checked above

    @classmethod
    def from_description(
        cls,
        description: Mapping[str, Any],
        passphrase: Passphrase,
        *,
        allow_weak_kdf: bool = False,
    ) -> PassphraseKek:
        """Re-derive the KEK described in a vault header.

        Parameters
        ----------
        description
            The header's ``kek`` object, as written by :meth:`describe`.
        passphrase
            The passphrase to try.
        allow_weak_kdf
            Consent to open a vault whose parameters are below the production floor.

        Returns
        -------
        PassphraseKek
            The derived KEK (not yet checked against the vault's verifier).

        Raises
        ------
        VaultFormatError
            If the description is not a passphrase KEK Bastion can read.
        KdfProfileError
            If the stored parameters are weak and there is no consent.
        """
        if description.get("kind") != cls.kind:
            raise VaultFormatError(
                f"vault is unlocked by a KEK source of kind {description.get('kind')!r}; given a passphrase, "
                f"which needs kind {cls.kind!r}"
            )
        kdf = description.get("kdf")
        if not isinstance(kdf, Mapping):
            raise VaultFormatError(f"vault header kek.kdf must be an object; given {type(kdf).__name__}")
        try:
            salt = base64.b64decode(str(kdf.get("salt", "")), validate=True)
        except binascii.Error:
            raise VaultFormatError("vault header kek.kdf.salt is not valid base64") from None
        try:
            params = KdfParams.from_json(kdf, salt_len=len(salt))
        except ValidationError as exc:
            raise VaultFormatError(f"vault header KDF parameters are invalid: {exc}") from None
        if params.is_weak and not weak_kdf_allowed(allow_weak_kdf):
            raise KdfProfileError(
                f"vault uses weak test KDF parameters (memory_kib={params.memory_kib}, time_cost={params.time_cost}); "
                "refusing to open it in production; re-create the vault, or pass allow_weak_kdf=True / set "
                "BASTION_KDF_PROFILE=test in tests"
            )
        return cls(passphrase, params, salt, allow_weak_kdf=True)  # consent checked above

    @property
    def params(self) -> KdfParams:
        """The Argon2id parameters this KEK was derived with."""
        return self._params

    def describe(self) -> dict[str, Any]:
        """Return the header description: kind, KDF parameters and salt (base64)."""
        return {"kind": self.kind, "kdf": {**self._params.to_json(), "salt": base64.b64encode(self._salt).decode()}}

    def _cipher(self) -> AESGCM:
        if self._aead is None:
            raise ValidationError("this PassphraseKek was closed; expected an open one")
        return self._aead

    def wrap(self, data_key: bytes | bytearray, aad: bytes) -> bytes:
        """Encrypt a 32-byte data key with AES-256-GCM under the KEK.

        Parameters
        ----------
        data_key
            The data key, 32 bytes.
        aad
            Associated data that :meth:`unwrap` must be given again.

        Returns
        -------
        bytes
            ``0x01 || nonce (12) || ciphertext+tag (48)``.
        """
        if len(data_key) != _KEY_LEN:
            raise ValidationError(f"data key must be {_KEY_LEN} bytes; given {len(data_key)}")
        nonce = os.urandom(_NONCE_LEN)
        return bytes([_WRAP_VERSION]) + nonce + self._cipher().encrypt(nonce, bytes(data_key), aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytearray:
        """Decrypt a blob made by :meth:`wrap` into a fresh ``bytearray`` (zero it after use).

        Parameters
        ----------
        blob
            The wrapped key.
        aad
            The associated data used when wrapping.

        Returns
        -------
        bytearray
            The data key.

        Raises
        ------
        KekUnwrapError
            If the blob is malformed, altered, or was wrapped under another KEK or ``aad``.
        """
        expected = 1 + _NONCE_LEN + _KEY_LEN + _TAG_LEN
        if len(blob) != expected or blob[0] != _WRAP_VERSION:
            raise KekUnwrapError(
                f"wrapped key must be {expected} bytes starting with version {_WRAP_VERSION}; given {len(blob)} bytes"
            )
        out = bytearray(_KEY_LEN)
        try:
            self._cipher().decrypt_into(blob[1 : 1 + _NONCE_LEN], blob[1 + _NONCE_LEN :], aad, out)
        except InvalidTag:
            zero(out)
            raise KekUnwrapError("wrapped key does not authenticate under this KEK and associated data") from None
        return out

    def close(self) -> None:
        """Zero the derived key and drop the cipher."""
        zero(self._key)
        self._aead = None

    def __repr__(self) -> str:
        p = self._params
        return f"PassphraseKek(argon2id m={p.memory_kib}KiB t={p.time_cost} p={p.parallelism}, key=****)"
