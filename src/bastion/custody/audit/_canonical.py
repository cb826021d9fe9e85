"""Canonical JSON and the hash-chain and head-signature definitions."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

__all__ = ["GENESIS_HASH", "canonical_json", "entry_hash", "head_message"]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of entry 0."""

_HEAD_LABEL = b"bastion.audit.head.v1\n"


def _default(obj: object) -> str:
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise ValueError(f"non-finite Decimal {obj} cannot be logged")
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def canonical_json(obj: Any) -> bytes:
    """Serialise ``obj`` canonically: sorted keys, no spaces, raw UTF-8, Decimals as strings.

    Parameters
    ----------
    obj
        JSON-compatible data (``dict`` with ``str`` keys, ``list``, ``str``, ``int``,
        ``bool``, ``None``, finite ``Decimal``).

    Returns
    -------
    bytes
        ``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
        encoded as UTF-8.
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_default
    ).encode("utf-8")


def entry_hash(prev_hash: str, body: bytes) -> str:
    """Return ``hex(SHA-256(raw32(prev_hash) || body))``.

    Parameters
    ----------
    prev_hash
        The previous entry's hash as 64 hex characters (``GENESIS_HASH`` for entry 0);
        its 32 raw bytes are hashed, not the hex text.
    body
        ``canonical_json`` of the entry without its ``hash`` field (``prev_hash`` included).

    Returns
    -------
    str
        64 lowercase hex characters.
    """
    return hashlib.sha256(bytes.fromhex(prev_hash) + body).hexdigest()


def head_message(*, seq: int, head_hash: str, ts_ms: int, offset: int, prev_head: str) -> bytes:
    """Return the bytes an Ed25519 head signature covers.

    ``b"bastion.audit.head.v1\\n" || canonical_json({"hash", "offset", "prev_head", "seq", "ts_ms"})``.
    """
    fields = {"hash": head_hash, "offset": offset, "prev_head": prev_head, "seq": seq, "ts_ms": ts_ms}
    return _HEAD_LABEL + canonical_json(fields)
