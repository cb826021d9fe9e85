"""The stored form of one secret: a frozen record and its compact byte encoding."""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from bastion.custody.vault._binding import SecretBinding
from bastion.custody.vault._errors import SealedFormatError
from bastion.errors import ValidationError

__all__ = ["SEALED_ALGORITHM", "SEALED_FORMAT_VERSION", "SealedSecret"]

SEALED_FORMAT_VERSION = 1
SEALED_ALGORITHM = "aes-256-gcm"
"""Secret layer: AES-256-GCM under a fresh 32-byte data key; the data key is wrapped by the KEK source."""

_MAGIC = b"BVS"
_NONCE_LEN = 12
_TAG_LEN = 16
_KEK_ID = re.compile(r"[0-9a-f]{32}")


class _Reader:
    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def take(self, n: int, what: str) -> bytes:
        end = self._pos + n
        if end > len(self._data):
            raise SealedFormatError(
                f"sealed secret is truncated: {what} needs {n} bytes at offset {self._pos}, "
                f"only {len(self._data) - self._pos} left"
            )
        out = self._data[self._pos : end]
        self._pos = end
        return out

    def uint(self, fmt: str, what: str) -> int:
        (value,) = struct.unpack(fmt, self.take(struct.calcsize(fmt), what))
        return int(value)

    def field(self, fmt: str, what: str) -> bytes:
        return self.take(self.uint(fmt, f"length of {what}"), what)

    def text(self, what: str) -> str:
        raw = self.field(">B", what)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SealedFormatError(f"sealed secret field {what} is not valid UTF-8") from None

    def done(self) -> None:
        if self._pos != len(self._data):
            raise SealedFormatError(
                f"sealed secret has {len(self._data) - self._pos} unexpected trailing bytes; expected none"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class SealedSecret:
    """One secret sealed by the vault, as stored in a database row.

    Attributes
    ----------
    binding
        The row it was sealed for. It is bound into the associated data of both layers;
        :meth:`Vault.unseal` still takes the row's binding from the caller and checks both.
    kek_id
        Which key-encryption key wrapped ``wrapped_key`` (32 hex characters, from the header).
    wrapped_key
        The data key wrapped by the KEK source (opaque; carries its own nonce).
    nonce
        The 12-byte AES-GCM nonce of the secret layer.
    ciphertext
        The secret encrypted with AES-256-GCM under the data key, tag appended.
    algorithm
        The secret layer's algorithm, ``"aes-256-gcm"``.
    format_version
        The encoding version, 1.
    """

    binding: SecretBinding
    kek_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes
    algorithm: str = SEALED_ALGORITHM
    format_version: int = SEALED_FORMAT_VERSION

    def __post_init__(self) -> None:
        problem = self._problem()
        if problem is not None:
            b = self.binding if isinstance(self.binding, SecretBinding) else None
            raise SealedFormatError(
                f"sealed secret for {b.describe() if b else '?'} is invalid: {problem}",
                account=b.account if b else None,
                exchange=b.exchange if b else None,
                key_id=b.key_id if b else None,
                version=b.version if b else None,
            )

    def _problem(self) -> str | None:
        if not isinstance(self.binding, SecretBinding):
            return f"binding must be a SecretBinding; given {type(self.binding).__name__}"
        if self.format_version != SEALED_FORMAT_VERSION:
            return f"format_version must be {SEALED_FORMAT_VERSION}; given {self.format_version!r}"
        if self.algorithm != SEALED_ALGORITHM:
            return f"algorithm must be {SEALED_ALGORITHM!r}; given {self.algorithm!r}"
        if not isinstance(self.kek_id, str) or _KEK_ID.fullmatch(self.kek_id) is None:
            return f"kek_id must be 32 lowercase hex characters; given {self.kek_id!r}"
        for name in ("wrapped_key", "nonce", "ciphertext"):
            if not isinstance(getattr(self, name), bytes):
                return f"{name} must be bytes; given {type(getattr(self, name)).__name__}"
        if not 1 <= len(self.wrapped_key) <= 0xFFFF:
            return f"wrapped_key must be 1..65535 bytes; given {len(self.wrapped_key)}"
        if len(self.nonce) != _NONCE_LEN:
            return f"nonce must be {_NONCE_LEN} bytes; given {len(self.nonce)}"
        if not _TAG_LEN <= len(self.ciphertext) <= 0xFFFFFFFF:
            return f"ciphertext must be at least {_TAG_LEN} bytes (the tag); given {len(self.ciphertext)}"
        return None

    def to_bytes(self) -> bytes:
        """Encode for a database BLOB column.

        Returns
        -------
        bytes
            ``"BVS" || format_version (u8)`` then length-prefixed algorithm, kek_id, account,
            exchange, key_id (u8 lengths), version (u32), wrapped_key (u16 length),
            nonce (u8 length) and ciphertext (u32 length), all big-endian.
        """
        b = self.binding
        parts = [_MAGIC, struct.pack(">B", self.format_version)]
        for text in (self.algorithm, self.kek_id, b.account, b.exchange, b.key_id):
            raw = text.encode("utf-8")
            parts += [struct.pack(">B", len(raw)), raw]
        parts += [
            struct.pack(">I", b.version),
            struct.pack(">H", len(self.wrapped_key)),
            self.wrapped_key,
            struct.pack(">B", len(self.nonce)),
            self.nonce,
            struct.pack(">I", len(self.ciphertext)),
            self.ciphertext,
        ]
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> SealedSecret:
        """Decode what :meth:`to_bytes` wrote (no decryption happens here).

        Parameters
        ----------
        data
            The stored bytes.

        Returns
        -------
        SealedSecret
            The decoded record.

        Raises
        ------
        SealedFormatError
            If the bytes are not a complete, well-formed sealed secret of a known version.
        """
        if not isinstance(data, bytes | bytearray | memoryview):
            raise SealedFormatError(f"sealed secret must be bytes; given {type(data).__name__}")
        r = _Reader(bytes(data))
        magic = r.take(len(_MAGIC), "magic")
        if magic != _MAGIC:
            raise SealedFormatError(f"sealed secret must start with {_MAGIC!r}; given {magic!r}")
        fmt = r.uint(">B", "format version")
        if fmt != SEALED_FORMAT_VERSION:
            raise SealedFormatError(f"sealed secret format version must be {SEALED_FORMAT_VERSION}; given {fmt}")
        algorithm = r.text("algorithm")
        kek_id = r.text("kek_id")
        account = r.text("account")
        exchange = r.text("exchange")
        key_id = r.text("key_id")
        version = r.uint(">I", "version")
        wrapped_key = r.field(">H", "wrapped_key")
        nonce = r.field(">B", "nonce")
        ciphertext = r.field(">I", "ciphertext")
        r.done()
        try:
            binding = SecretBinding(account=account, exchange=exchange, key_id=key_id, version=version)
        except ValidationError as exc:
            raise SealedFormatError(f"sealed secret has an invalid binding: {exc}") from None
        return cls(
            binding=binding,
            kek_id=kek_id,
            wrapped_key=wrapped_key,
            nonce=nonce,
            ciphertext=ciphertext,
            algorithm=algorithm,
            format_version=fmt,
        )

    def __repr__(self) -> str:
        return (
            f"SealedSecret({self.binding.describe()}, kek_id={self.kek_id[:8]}…, "
            f"ciphertext={len(self.ciphertext)} bytes)"
        )
