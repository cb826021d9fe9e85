"""Signed checkpoints: "the first ``size`` bytes of the log, through entry ``seq``, hash to ``prefix_sha256``".

A checkpoint lets the signer re-verify its log at start without re-hashing every entry: the
bytes up to the checkpoint are hashed in one pass (SHA-256 over raw bytes, far cheaper than
re-checking each entry's chain hash) and compared with the signed digest; only the entries
after it are checked one by one. Any edit before the checkpoint, even one that keeps every line
the same length, changes the digest.

``audit.checkpoint.json``: one canonical JSON object ``{"type":"checkpoint","seq","hash","size",
"prefix_sha256","ts_ms","public_key","signature"}``; the Ed25519 signature covers
``b"bastion.audit.checkpoint.v1\\n" || canonical_json({"hash","prefix_sha256","seq","size","ts_ms"})``.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bastion.custody.audit._canonical import canonical_json
from bastion.custody.audit._errors import AuditCorruptError
from bastion.custody.audit._files import fsync_dir, write_all

__all__ = ["Checkpoint", "checkpoint_path_for", "read_checkpoint", "write_checkpoint"]

_LABEL = b"bastion.audit.checkpoint.v1\n"
_FIELDS = frozenset({"type", "seq", "hash", "size", "prefix_sha256", "ts_ms", "public_key", "signature"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX_FIELDS = ("hash", "prefix_sha256", "public_key")
_MAX_BYTES = 4096


def checkpoint_path_for(path: Path) -> Path:
    """Return the checkpoint file of a log: ``audit.jsonl`` → ``audit.checkpoint.json``."""
    return path.with_name(f"{path.stem if path.suffix else path.name}.checkpoint.json")


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """A signed digest of the log's first ``size`` bytes, which end with entry ``seq`` (hash ``hash``)."""

    seq: int
    hash: str
    size: int
    prefix_sha256: str
    ts_ms: int
    public_key: str
    signature: str

    @staticmethod
    def message(*, seq: int, head_hash: str, size: int, prefix_sha256: str, ts_ms: int) -> bytes:
        """Return the bytes a checkpoint's signature covers."""
        body = {"hash": head_hash, "prefix_sha256": prefix_sha256, "seq": seq, "size": size, "ts_ms": ts_ms}
        return _LABEL + canonical_json(body)

    def signature_valid(self, public_key: bytes) -> bool:
        """Return whether the signature verifies under ``public_key`` (32 raw bytes)."""
        message = self.message(
            seq=self.seq, head_hash=self.hash, size=self.size, prefix_sha256=self.prefix_sha256, ts_ms=self.ts_ms
        )
        try:
            Ed25519PublicKey.from_public_bytes(public_key).verify(bytes.fromhex(self.signature), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "checkpoint",
            "seq": self.seq,
            "hash": self.hash,
            "size": self.size,
            "prefix_sha256": self.prefix_sha256,
            "ts_ms": self.ts_ms,
            "public_key": self.public_key,
            "signature": self.signature,
        }


def _int(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def read_checkpoint(path: Path, public_key: bytes) -> Checkpoint | None:
    """Return the checkpoint at ``path`` (None if there is none), verified under ``public_key``.

    Raises
    ------
    AuditCorruptError
        The file is unreadable, malformed, or its signature does not verify.
    """
    try:
        with path.open("rb") as f:
            raw = f.read(_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        obj = None
    if (
        len(raw) > _MAX_BYTES
        or not isinstance(obj, dict)
        or set(obj) != _FIELDS
        or obj["type"] != "checkpoint"
        or not all(_int(obj[name], low) for name, low in (("seq", -1), ("size", 0), ("ts_ms", 0)))
        or not all(isinstance(obj[n], str) and _HEX64.fullmatch(obj[n]) for n in _HEX_FIELDS)
        or not isinstance(obj["signature"], str)
    ):
        raise AuditCorruptError(f"the audit checkpoint {path} is malformed; expected the file the signer writes")
    checkpoint = Checkpoint(**{k: v for k, v in obj.items() if k != "type"})
    if checkpoint.public_key != public_key.hex() or not checkpoint.signature_valid(public_key):
        raise AuditCorruptError(
            f"the audit checkpoint {path} is not signed by this signer's key: it was forged or replaced"
        )
    return checkpoint


def write_checkpoint(
    path: Path, key: Ed25519PrivateKey, *, seq: int, head_hash: str, size: int, prefix_sha256: str, ts_ms: int
) -> Checkpoint:
    """Sign and write a checkpoint atomically (temporary file, fsync, rename, fsync of the folder)."""
    message = Checkpoint.message(seq=seq, head_hash=head_hash, size=size, prefix_sha256=prefix_sha256, ts_ms=ts_ms)
    checkpoint = Checkpoint(
        seq=seq,
        hash=head_hash,
        size=size,
        prefix_sha256=prefix_sha256,
        ts_ms=ts_ms,
        public_key=key.public_key().public_bytes_raw().hex(),
        signature=key.sign(message).hex(),
    )
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        write_all(fd, canonical_json(checkpoint.to_json()) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)
    return checkpoint
