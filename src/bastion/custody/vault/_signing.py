"""The signer's Ed25519 audit-signing key: generated raw, sealed in the vault like any secret."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.custody.vault._binding import SecretBinding
from bastion.custody.vault._secret import SecretBytes, zero
from bastion.errors import ValidationError

__all__ = ["SIGNER_KEY_BINDING", "generate_signing_key", "load_signing_key"]

SIGNER_KEY_BINDING = SecretBinding(account="_signer", exchange="_audit", key_id="ed25519", version=1)
"""The row binding under which the signer's Ed25519 private key is sealed."""

_SEED_LEN = 32


def generate_signing_key() -> SecretBytes:
    """Generate a new Ed25519 private key as its raw 32-byte seed.

    Seal it with ``vault.seal(key, SIGNER_KEY_BINDING)`` and close it.

    Returns
    -------
    SecretBytes
        The raw private key bytes (RFC 8032 seed).
    """
    seed = bytearray(os.urandom(_SEED_LEN))
    Ed25519PrivateKey.from_private_bytes(seed)  # fails loudly if the backend cannot use it
    return SecretBytes.take(seed)


def load_signing_key(raw: SecretBytes | bytes | bytearray) -> Ed25519PrivateKey:
    """Turn raw private bytes (e.g. from ``vault.unseal``) into a signing key.

    Parameters
    ----------
    raw
        The 32-byte seed. A :class:`SecretBytes` is read through a view and left open.

    Returns
    -------
    Ed25519PrivateKey
        The key (OpenSSL holds its own copy, which Python cannot wipe).

    Raises
    ------
    ValidationError
        If ``raw`` is not 32 bytes.
    """
    if isinstance(raw, SecretBytes):
        buf = bytearray(raw.view())
    elif isinstance(raw, bytes | bytearray):
        buf = bytearray(raw)
    else:
        raise ValidationError(f"signing key must be SecretBytes, bytes or bytearray; given {type(raw).__name__}")
    try:
        if len(buf) != _SEED_LEN:
            raise ValidationError(f"Ed25519 private key must be {_SEED_LEN} raw bytes; given {len(buf)}")
        return Ed25519PrivateKey.from_private_bytes(buf)
    finally:
        zero(buf)
