"""Seal an API key the way the page's seal.js does, with ``cryptography`` (independent of the signer's code)."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["b64url", "seal_like_the_page", "seal_passphrase_like_the_page", "unb64url"]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal_like_the_page(
    published: dict[str, Any],
    *,
    account: str,
    exchange: str,
    api_key: str,
    secret: str,
    password: str | None = None,
    url: str | None = None,
    allow_unrestricted_ip: bool = False,
) -> dict[str, Any]:
    """Return the body the page posts: account details in clear, the credentials sealed to ``published``."""
    key_id = published["key_id"]
    recipient = unb64url(published["public_key"])
    ephemeral = X25519PrivateKey.generate()
    enc = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    context = json.dumps(
        ["bastion-seal-v1", key_id, account, exchange, url, allow_unrestricted_ip], separators=(",", ":")
    ).encode()
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=enc + recipient, info=context).derive(shared)
    plaintext = json.dumps({"api_key": api_key, "secret": secret, "password": password}).encode()
    ciphertext = AESGCM(okm[:32]).encrypt(okm[32:], plaintext, context)
    body: dict[str, Any] = {
        "account": account,
        "exchange": exchange,
        "key_id": key_id,
        "enc": b64url(enc),
        "ciphertext": b64url(ciphertext),
        "allow_unrestricted_ip": allow_unrestricted_ip,
    }
    if url is not None:
        body["url"] = url
    return body


def seal_passphrase_like_the_page(
    published: dict[str, Any],
    *,
    changes: dict[str, Any],
    expected_revision: int,
    passphrase: str,
    account: str,
    reason: str | None = None,
) -> dict[str, Any]:
    """Return the body of ``POST .../policy/loosen``: the change in clear, the vault passphrase sealed to
    ``published`` and bound to the account, the change's exact JSON text, the revision and the reason."""
    key_id = published["key_id"]
    recipient = unb64url(published["public_key"])
    changes_json = json.dumps(changes, separators=(",", ":"))
    ephemeral = X25519PrivateKey.generate()
    enc = ephemeral.public_key().public_bytes_raw()
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient))
    context = json.dumps(
        ["bastion-seal-passphrase-v1", key_id, account, "policy_set", changes_json, expected_revision, reason],
        separators=(",", ":"),
    ).encode()
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=enc + recipient, info=context).derive(shared)
    ciphertext = AESGCM(okm[:32]).encrypt(okm[32:], json.dumps({"passphrase": passphrase}).encode(), context)
    body: dict[str, Any] = {
        "changes_json": changes_json,
        "expected_revision": expected_revision,
        "key_id": key_id,
        "enc": b64url(enc),
        "ciphertext": b64url(ciphertext),
    }
    if reason is not None:
        body["reason"] = reason
    return body
