"""Sealed key entry: an API key sealed in the browser to the signer's X25519 key, opened only here.

The web process relays the sealed blob and never holds anything that opens it. The scheme is
HPKE-shaped (RFC 9180 base mode, single shot) and built from what WebCrypto offers::

    ephemeral (esk, enc) = X25519 key pair made by the page for this one blob
    shared   = X25519(esk, pk_signer)                      (the signer: X25519(sk_signer, enc))
    context  = JSON ["bastion-seal-v1", key_id, account, exchange, url, allow_unrestricted_ip]
    okm      = HKDF-SHA256(ikm=shared, salt=enc || pk_signer, info=context, 44 bytes)
    key, iv  = okm[:32], okm[32:44]
    sealed   = AES-256-GCM(key, iv, plaintext, aad=context)   (ciphertext || 16-byte tag)
    plaintext = JSON {"api_key": ..., "secret": ..., "password": ... or null}

``context`` is the compact JSON of that array (no spaces, non-ASCII as is): a blob opens only
for the account, exchange, URL and IP choice the page sealed it for, and only under the key id
it was sealed to. Changing any of them in transit (a compromised web process pointing the key
at another URL or account) makes the tag fail. The nonce comes from the key schedule: every
blob has a fresh ephemeral key, so a key and nonce are never used twice.

The signer's sealing key pair is made when the signer starts and lives only in its memory
(never written anywhere, so there is nothing to steal from disk, and a blob captured in transit
cannot be opened once that signer process has stopped). Its key id (the first 16 hex digits
of SHA-256 of the public key) changes at every start; a page sealing to an old key is told to
reload. A blob that opened once is refused if it comes again (its ephemeral key is remembered).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = [
    "LABEL",
    "MAX_SEALED_BYTES",
    "PASSPHRASE_LABEL",
    "SUITE",
    "OpenedKey",
    "OpenedPassphrase",
    "SealError",
    "SealingKey",
    "b64url_decode",
    "b64url_encode",
    "passphrase_context",
    "seal_context",
]

#: The version label that starts every context; a new scheme gets a new label.
LABEL = "bastion-seal-v1"
#: The label of a vault passphrase sealed for one policy change (loosening from the web).
PASSPHRASE_LABEL = "bastion-seal-passphrase-v1"  # noqa: S105 - a label, not a password
#: What the public key is for, as published next to it.
SUITE = "X25519-HKDF-SHA256-AES256GCM"
#: The largest ciphertext accepted (an API key, secret and passphrase are far smaller).
MAX_SEALED_BYTES = 4096
_KEY_LEN = 32
_IV_LEN = 12
_TAG_LEN = 16


class SealError(ValueError):
    """A sealed blob that cannot be opened or used; the message says why, never what it holds."""


def b64url_encode(data: bytes) -> str:
    """Return ``data`` as unpadded base64url text."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str, what: str) -> bytes:
    """Return the bytes of unpadded (or padded) base64url ``text``; raise :class:`SealError` naming ``what``."""
    if not isinstance(text, str) or not text or len(text) > 2 * MAX_SEALED_BYTES:
        raise SealError(f"{what} must be base64url text of at most {MAX_SEALED_BYTES} bytes")
    stripped = text.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError):
        raise SealError(f"{what} is not base64url text (letters, digits, '-' and '_')") from None


def passphrase_context(
    *, key_id: str, account: str, changes_json: str, expected_revision: int, reason: str | None
) -> bytes:
    """Return the bytes a sealed vault passphrase is bound to: one policy change of one account at one revision."""
    fields: list[Any] = [PASSPHRASE_LABEL, key_id, account, "policy_set", changes_json, expected_revision, reason]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def seal_context(*, key_id: str, account: str, exchange: str, url: str | None, allow_unrestricted_ip: bool) -> bytes:
    """Return the bytes a sealed key is bound to: the HKDF info and the AES-GCM associated data."""
    fields: list[Any] = [LABEL, key_id, account, exchange, url, bool(allow_unrestricted_ip)]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, slots=True)
class OpenedKey:
    """The credentials a sealed blob held. No repr shows them."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str | None = field(default=None, repr=False)
    blob_id: str = ""
    """A digest of the blob's ephemeral key: what the audit log records, and what a replay repeats."""


@dataclass(frozen=True, slots=True)
class OpenedPassphrase:
    """The vault passphrase a sealed blob held. No repr shows it."""

    passphrase: str = field(repr=False)
    blob_id: str = ""


def _credential(data: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > 1024:
        need = "a non-empty string of at most 1024 characters"
        raise SealError(f"the sealed {name} must be {need}" + ("" if required else " or null"))
    return value


class SealingKey:
    """The signer's X25519 sealing key pair, made at start and kept only in memory.

    Parameters
    ----------
    private
        The private key; a fresh one when omitted (what the signer does at every start).
    """

    __slots__ = ("_private", "_public", "_seen", "key_id")

    def __init__(self, private: X25519PrivateKey | None = None) -> None:
        self._private = private if private is not None else X25519PrivateKey.generate()
        self._public = self._private.public_key().public_bytes_raw()
        self.key_id = hashlib.sha256(self._public).hexdigest()[:16]
        self._seen: set[bytes] = set()

    def __repr__(self) -> str:
        return f"SealingKey(key_id={self.key_id!r})"

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte X25519 public key."""
        return self._public

    def describe(self) -> dict[str, Any]:
        """Return what a page needs to seal to this key (nothing secret)."""
        return {
            "key_id": self.key_id,
            "public_key": b64url_encode(self._public),
            "suite": SUITE,
            "label": LABEL,
        }

    def open(
        self,
        *,
        key_id: str,
        enc: str,
        ciphertext: str,
        account: str,
        exchange: str,
        url: str | None,
        allow_unrestricted_ip: bool,
    ) -> OpenedKey:
        """Open a sealed key for ``account`` on ``exchange``; remember the blob so it opens only once.

        Raises
        ------
        SealError
            Sealed to another key, malformed, altered, bound to other account details, or
            already used; the message says which, and never holds the blob's content.
        """
        context = seal_context(
            key_id=key_id, account=account, exchange=exchange, url=url, allow_unrestricted_ip=allow_unrestricted_ip
        )
        data, blob_id = self._open_json(
            key_id=key_id,
            enc=enc,
            ciphertext=ciphertext,
            context=context,
            what="key",
            mismatch="sealed for another account, exchange, URL or IP setting than the ones sent with it",
        )
        if not isinstance(data, dict) or set(data) - {"api_key", "secret", "password"}:
            raise SealError("the sealed content must be an object with api_key, secret and optionally password")
        api_key = _credential(data, "api_key", required=True)
        secret = _credential(data, "secret", required=True)
        assert api_key is not None
        assert secret is not None
        return OpenedKey(
            api_key=api_key, secret=secret, password=_credential(data, "password", required=False), blob_id=blob_id
        )

    def _open_json(
        self, *, key_id: str, enc: str, ciphertext: str, context: bytes, what: str, mismatch: str
    ) -> tuple[dict[str, Any], str]:
        """Open one blob bound to ``context``; return its JSON object and its id. A blob opens once."""
        if key_id != self.key_id:
            raise SealError(
                f"the {what} was sealed to sealing key {str(key_id)[:32]!r}, but this signer's is {self.key_id!r} "
                f"(a new one is made at every signer start); reload the page and enter the {what} again"
            )
        ephemeral = b64url_decode(enc, "enc")
        sealed = b64url_decode(ciphertext, "ciphertext")
        if len(ephemeral) != _KEY_LEN:
            raise SealError(f"enc must be a raw {_KEY_LEN}-byte X25519 public key; it has {len(ephemeral)} bytes")
        if not _TAG_LEN < len(sealed) <= MAX_SEALED_BYTES:
            raise SealError(
                f"ciphertext has {len(sealed)} bytes; expected more than the {_TAG_LEN}-byte tag and at most "
                f"{MAX_SEALED_BYTES}"
            )
        blob_id = hashlib.sha256(b"bastion-seal-blob\x00" + ephemeral).hexdigest()[:32]
        if ephemeral in self._seen:
            raise SealError(
                f"this sealed {what} (blob {blob_id}) was already used once; a replayed blob is refused, seal the "
                f"{what} again"
            )
        try:
            shared = self._private.exchange(X25519PublicKey.from_public_bytes(ephemeral))
        except ValueError:  # a low-order point: the shared secret would be all zeros
            raise SealError("enc is not a usable X25519 public key (a low-order point)") from None
        okm = HKDF(
            algorithm=hashes.SHA256(), length=_KEY_LEN + _IV_LEN, salt=ephemeral + self._public, info=context
        ).derive(shared)
        try:
            plain = bytearray(AESGCM(okm[:_KEY_LEN]).decrypt(okm[_KEY_LEN:], sealed, context))
        except InvalidTag:
            raise SealError(
                f"the sealed {what} does not open: it was altered in transit, or {mismatch}; nothing was stored "
                "or changed"
            ) from None
        self._seen.add(ephemeral)  # from here on the blob is spent, whatever happens next
        try:
            data = json.loads(plain.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise SealError("the sealed content is not the JSON object expected") from None
        finally:
            plain[:] = bytes(len(plain))
        if not isinstance(data, dict):
            raise SealError("the sealed content is not the JSON object expected")
        return data, blob_id

    def open_passphrase(
        self,
        *,
        key_id: str,
        enc: str,
        ciphertext: str,
        account: str,
        changes_json: str,
        expected_revision: int,
        reason: str | None,
    ) -> OpenedPassphrase:
        """Open a vault passphrase sealed for one policy change; the blob opens once.

        Raises
        ------
        SealError
            Sealed to another key, malformed, altered, bound to another account, change,
            revision or reason, or already used; the message never holds the blob's content.
        """
        context = passphrase_context(
            key_id=key_id,
            account=account,
            changes_json=changes_json,
            expected_revision=expected_revision,
            reason=reason,
        )
        data, blob_id = self._open_json(
            key_id=key_id,
            enc=enc,
            ciphertext=ciphertext,
            context=context,
            what="passphrase",
            mismatch="sealed for another account, policy change, revision or reason than the ones sent with it",
        )
        if set(data) != {"passphrase"}:
            raise SealError("the sealed content must be an object with passphrase only")
        passphrase = _credential(data, "passphrase", required=True)
        assert passphrase is not None
        return OpenedPassphrase(passphrase=passphrase, blob_id=blob_id)
