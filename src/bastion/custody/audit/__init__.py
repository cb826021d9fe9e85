"""The signer's audit log: append-only, hash-chained JSON lines with Ed25519-signed heads.

File format
-----------
``audit.jsonl``: one canonical JSON object per line (``sort_keys``, separators ``","`` and
``":"``, ``ensure_ascii=False``, UTF-8, Decimals as strings, floats refused)::

    {"hash":…,"kind":"request","payload":{…},"prev_hash":…,"seq":0,"ts_ms":…}

``hash = hex(SHA-256(raw32(prev_hash) || canonical_json(entry without "hash")))``; entry 0
has ``prev_hash`` = 64 zeros. Each append is written and fsynced before it returns; the
directory is fsynced when the file is created.

``audit.heads.jsonl``: signed heads ``{"type":"head","seq","hash","ts_ms","offset",
"prev_head","public_key","signature"}``; the Ed25519 signature covers
``b"bastion.audit.head.v1\\n" || canonical_json({"hash","offset","prev_head","seq","ts_ms"})``.
``prev_head`` is the SHA-256 of the previous head's line (64 zeros for the first), so the
heads form a chain of their own. Keys, hashes and signatures are lowercase hex.

What verification proves: no entry was edited, removed, inserted or reordered up to the
latest signed head, and the heads were signed by the pinned key. Entries after the latest
head are chained but could be cut off unnoticed, so the signer opens the log with
``sign_on_sync=True``: a head is signed with every fsync (group commit), and no durable entry
stays unsigned. Cutting the tail of both files consistently, or replacing both with an older
copy, is caught only by a head kept elsewhere: the signer sends its signed head to the
notification channel (hourly and on every halt or panic) and ``verify(..., witnesses=[(seq,
hash)])`` checks the log still holds it. ``audit.checkpoint.json`` holds a signed digest of
the log's bytes so the signer re-verifies the whole log quickly at start (:meth:`AuditLog.replay`).

Example
-------
::

    log = AuditLog.open(home / "audit.jsonl", signing_key=key, clock=clock_ms)
    log.append("request", {"symbol": "BTC/USDT", "amount": Decimal("0.01")}, secrets=[creds.secret])
    log.sign_head()
    log.close()
    assert verify(home / "audit.jsonl", key.public_key())
"""

from __future__ import annotations

from bastion.custody.audit._canonical import GENESIS_HASH, canonical_json
from bastion.custody.audit._checkpoint import Checkpoint
from bastion.custody.audit._errors import (
    AuditCorruptError,
    AuditError,
    AuditKeyMismatch,
    AuditLockedError,
    AuditPayloadError,
    AuditSecretError,
    AuditTruncatedError,
    AuditWriteError,
)
from bastion.custody.audit._export import EXPORT_FORMAT, export, verify_export
from bastion.custody.audit._log import AuditLog, ReplayReport
from bastion.custody.audit._payload import SECRET_KEY_NAMES
from bastion.custody.audit._records import AuditEntry, EntryKind, Problem, SignedHead
from bastion.custody.audit._verify import VerifyFailure, VerifyResult, heads_path_for, verify

__all__ = [
    "EXPORT_FORMAT",
    "GENESIS_HASH",
    "SECRET_KEY_NAMES",
    "AuditCorruptError",
    "AuditEntry",
    "AuditError",
    "AuditKeyMismatch",
    "AuditLockedError",
    "AuditLog",
    "AuditPayloadError",
    "AuditSecretError",
    "AuditTruncatedError",
    "AuditWriteError",
    "Checkpoint",
    "EntryKind",
    "Problem",
    "ReplayReport",
    "SignedHead",
    "VerifyFailure",
    "VerifyResult",
    "canonical_json",
    "export",
    "heads_path_for",
    "verify",
    "verify_export",
]
