"""The row a sealed secret belongs to, and its canonical associated-data bytes."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from bastion.errors import ValidationError

__all__ = ["SecretBinding"]

_MAX_FIELD_BYTES = 255
_MAX_VERSION = 2**32 - 1


def _length_prefixed(*fields: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(f)) + f for f in fields)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretBinding:
    """The database row a secret is sealed to: account, exchange, key id and version.

    Both encryption layers use :meth:`aad` as associated data, so a ciphertext copied to
    another row (any field different) does not decrypt. The encoding is unambiguous:
    each field is UTF-8, prefixed with its 4-byte big-endian length, after a purpose label,
    so ``("ab", "c")`` and ``("a", "bc")`` never produce the same bytes.

    Parameters
    ----------
    account
        The Bastion account that owns the key (1..255 UTF-8 bytes).
    exchange
        The exchange id, e.g. ``"binance"`` (1..255 UTF-8 bytes).
    key_id
        The API key's id in Bastion's database (1..255 UTF-8 bytes), not the key itself.
    version
        The row version, 1..2**32-1; bump it when the secret is replaced.
    """

    account: str
    exchange: str
    key_id: str
    version: int

    def __post_init__(self) -> None:
        for name in ("account", "exchange", "key_id"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValidationError(f"SecretBinding.{name} must be str; given {type(value).__name__}")
            try:
                size = len(value.encode("utf-8"))
            except UnicodeEncodeError:
                raise ValidationError(f"SecretBinding.{name} must be encodable as UTF-8; given {value!r}") from None
            if not 1 <= size <= _MAX_FIELD_BYTES:
                raise ValidationError(
                    f"SecretBinding.{name} must be 1..{_MAX_FIELD_BYTES} UTF-8 bytes; given {size} bytes"
                )
        if isinstance(self.version, bool) or not isinstance(self.version, int):
            raise ValidationError(f"SecretBinding.version must be int; given {type(self.version).__name__}")
        if not 1 <= self.version <= _MAX_VERSION:
            raise ValidationError(f"SecretBinding.version must be 1..{_MAX_VERSION}; given {self.version}")

    def aad(self, purpose: str) -> bytes:
        """Return the canonical associated-data bytes for one encryption layer.

        Parameters
        ----------
        purpose
            A label that separates the layers (``"wrap"`` for the data key, ``"data"`` for
            the secret), so the two layers never share associated data.

        Returns
        -------
        bytes
            ``"bastion.vault.binding.v1"``, ``purpose``, account, exchange, key id and the
            decimal version, each length-prefixed.
        """
        return _length_prefixed(
            b"bastion.vault.binding.v1",
            purpose.encode("utf-8"),
            self.account.encode("utf-8"),
            self.exchange.encode("utf-8"),
            self.key_id.encode("utf-8"),
            str(self.version).encode("ascii"),
        )

    def describe(self) -> str:
        """Return ``account/exchange/key_id@vN`` for messages (no secret in it)."""
        return f"{self.account}/{self.exchange}/{self.key_id}@v{self.version}"
