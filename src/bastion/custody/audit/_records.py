"""Entry and signed-head records, and the strict parsing of their lines."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from bastion.custody.audit._canonical import canonical_json, entry_hash, head_message

__all__ = [
    "ENTRY_FIELDS",
    "KIND_PATTERN",
    "AuditEntry",
    "EntryKind",
    "LineProblem",
    "Problem",
    "SignedHead",
    "check_entry_line",
    "parse_head_line",
]

ENTRY_FIELDS = frozenset({"seq", "ts_ms", "kind", "payload", "prev_hash", "hash"})
_HEAD_FIELDS = frozenset({"type", "seq", "hash", "ts_ms", "offset", "prev_head", "public_key", "signature"})
KIND_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,31}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_HEX128 = re.compile(r"[0-9a-f]{128}")
_MAX_INT = 2**63 - 1


class EntryKind(StrEnum):
    """The kinds of entry the signer writes (any ``[a-z][a-z0-9_]{0,31}`` is accepted)."""

    REQUEST = "request"
    OUTCOME = "outcome"
    DENIAL = "denial"
    POLICY_CHANGE = "policy_change"
    KEY_EVENT = "key_event"
    RECOVERY = "recovery"


class Problem(StrEnum):
    """What :func:`verify` found wrong."""

    MISSING_FILE = "missing_file"
    MALFORMED_LINE = "malformed_line"
    TRUNCATED_LINE = "truncated_line"
    NON_CANONICAL = "non_canonical"
    SEQ_MISMATCH = "seq_mismatch"
    PREV_HASH_MISMATCH = "prev_hash_mismatch"
    HASH_MISMATCH = "hash_mismatch"
    MALFORMED_HEAD = "malformed_head"
    HEAD_CHAIN = "head_chain"
    KEY_MISMATCH = "key_mismatch"
    BAD_SIGNATURE = "bad_signature"
    HEAD_ORDER = "head_order"
    HEAD_MISMATCH = "head_mismatch"
    LOG_TRUNCATED = "log_truncated"
    MISSING_HEAD = "missing_head"
    ENTRY_AFTER_HEAD = "entry_after_head"
    WITNESS_MISMATCH = "witness_mismatch"


class LineProblem(Exception):
    def __init__(self, problem: Problem, detail: str, seq: int | None = None) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail
        self.seq = seq


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One appended entry, as written.

    Attributes
    ----------
    seq
        0, 1, 2, ... without gaps.
    ts_ms
        Milliseconds from the caller's clock.
    kind
        E.g. ``"request"``, ``"outcome"``, ``"denial"``, ``"policy_change"``, ``"key_event"``.
    payload
        The (sanitised) payload, Decimals as strings.
    prev_hash
        The previous entry's ``hash`` (64 zeros for entry 0).
    hash
        ``SHA-256(raw32(prev_hash) || canonical_json(entry without hash))`` in hex.
    """

    seq: int
    ts_ms: int
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """Return the entry without its ``hash`` (what the hash covers)."""
        return {"kind": self.kind, "payload": self.payload, "prev_hash": self.prev_hash, "seq": self.seq,
                "ts_ms": self.ts_ms}

    def to_line(self) -> bytes:
        """Return the canonical JSON line, newline included."""
        return canonical_json({**self.body(), "hash": self.hash}) + b"\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedHead:
    """A signature over the chain head: entry ``seq`` has hash ``hash``.

    Attributes
    ----------
    seq
        The last entry covered (``-1`` for an empty log).
    hash
        That entry's hash (``GENESIS_HASH`` for an empty log).
    ts_ms
        When it was signed, from the caller's clock.
    offset
        Byte offset of entry ``seq``'s line in the log (a locator for a cheap reopen).
    prev_head
        :meth:`digest` of the previous head in the heads file (64 zeros for the first), so
        heads cannot be removed, duplicated or reordered unnoticed, except the latest.
    public_key
        The Ed25519 public key, 64 hex characters (raw 32 bytes).
    signature
        Ed25519 signature over :func:`head_message`, 128 hex characters.
    """

    seq: int
    hash: str
    ts_ms: int
    offset: int
    prev_head: str
    public_key: str
    signature: str

    def message(self) -> bytes:
        """Return the bytes the signature covers."""
        return head_message(
            seq=self.seq, head_hash=self.hash, ts_ms=self.ts_ms, offset=self.offset, prev_head=self.prev_head
        )

    def digest(self) -> str:
        """Return ``hex(SHA-256(canonical line without newline))``, the next head's ``prev_head``."""
        return hashlib.sha256(canonical_json(self.to_json())).hexdigest()

    def signature_valid(self, public_key: bytes | None = None) -> bool:
        """Return whether ``signature`` verifies under ``public_key`` (default: the embedded one)."""
        raw = bytes.fromhex(self.public_key) if public_key is None else public_key
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(bytes.fromhex(self.signature), self.message())
        except (InvalidSignature, ValueError):
            return False
        return True

    def to_json(self) -> dict[str, Any]:
        """Return the head as the JSON object written to the heads file."""
        return {
            "type": "head",
            "seq": self.seq,
            "hash": self.hash,
            "ts_ms": self.ts_ms,
            "offset": self.offset,
            "prev_head": self.prev_head,
            "public_key": self.public_key,
            "signature": self.signature,
        }

    def to_line(self) -> bytes:
        """Return the canonical JSON line, newline included."""
        return canonical_json(self.to_json()) + b"\n"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _reject_float(text: str) -> Any:
    raise ValueError(f"float {text} is not allowed (Decimals are logged as strings)")


def _load(line: bytes) -> Any:
    if not line.endswith(b"\n"):
        raise LineProblem(Problem.TRUNCATED_LINE, f"last line has no newline: {len(line)} bytes of a partial write")
    text = line[:-1]
    try:
        obj = json.loads(text.decode("utf-8"), parse_constant=_reject_constant, parse_float=_reject_float)
    except (UnicodeDecodeError, ValueError) as exc:
        raise LineProblem(Problem.MALFORMED_LINE, f"not a JSON line: {exc}") from None
    if not isinstance(obj, dict):
        raise LineProblem(Problem.MALFORMED_LINE, f"expected a JSON object; found {type(obj).__name__}")
    try:
        canonical = canonical_json(obj)
    except (TypeError, ValueError) as exc:
        raise LineProblem(Problem.MALFORMED_LINE, f"cannot re-serialise: {exc}") from None
    if canonical != text:
        raise LineProblem(Problem.NON_CANONICAL, "line is not in canonical JSON form (it was edited)", obj.get("seq"))
    return obj


def _is_int(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= _MAX_INT


def check_entry_line(line: bytes, *, expected_seq: int, expected_prev: str) -> AuditEntry:
    """Parse one log line and check it continues the chain; raise :class:`LineProblem` if not."""
    obj = _load(line)
    if set(obj) != ENTRY_FIELDS:
        raise LineProblem(
            Problem.MALFORMED_LINE, f"entry has fields {sorted(obj)}; expected {sorted(ENTRY_FIELDS)}", obj.get("seq")
        )
    seq, ts_ms, kind, payload = obj["seq"], obj["ts_ms"], obj["kind"], obj["payload"]
    prev_hash, stored_hash = obj["prev_hash"], obj["hash"]
    if not _is_int(seq, 0) or not _is_int(ts_ms, 0):
        raise LineProblem(Problem.MALFORMED_LINE, f"seq and ts_ms must be non-negative ints; found {seq!r}, {ts_ms!r}")
    if not isinstance(kind, str) or KIND_PATTERN.fullmatch(kind) is None:
        raise LineProblem(Problem.MALFORMED_LINE, f"kind {kind!r} does not match {KIND_PATTERN.pattern}", seq)
    if not isinstance(payload, dict):
        raise LineProblem(Problem.MALFORMED_LINE, f"payload must be an object; found {type(payload).__name__}", seq)
    for name, value in (("prev_hash", prev_hash), ("hash", stored_hash)):
        if not isinstance(value, str) or _HEX64.fullmatch(value) is None:
            raise LineProblem(Problem.MALFORMED_LINE, f"{name} must be 64 lowercase hex characters", seq)
    if seq != expected_seq:
        why = "an entry is missing" if seq > expected_seq else "entries were reordered or duplicated"
        raise LineProblem(Problem.SEQ_MISMATCH, f"expected seq {expected_seq}, found {seq} ({why})", seq)
    if prev_hash != expected_prev:
        raise LineProblem(
            Problem.PREV_HASH_MISMATCH,
            f"prev_hash {prev_hash[:12]}… does not match the previous entry's hash {expected_prev[:12]}… "
            "(this entry or the one before was altered)",
            seq,
        )
    entry = AuditEntry(seq=seq, ts_ms=ts_ms, kind=kind, payload=payload, prev_hash=prev_hash, hash=stored_hash)
    computed = entry_hash(prev_hash, canonical_json(entry.body()))
    if computed != stored_hash:
        raise LineProblem(
            Problem.HASH_MISMATCH,
            f"stored hash {stored_hash[:12]}… but the entry hashes to {computed[:12]}… "
            "(its content or hash was edited)",
            seq,
        )
    return entry


def parse_head_line(line: bytes) -> SignedHead:
    """Parse one signed-head line; raise :class:`LineProblem` if it is malformed (signature not checked)."""
    try:
        obj = _load(line)
    except LineProblem as exc:
        if exc.problem is Problem.TRUNCATED_LINE:
            raise
        raise LineProblem(Problem.MALFORMED_HEAD, exc.detail) from None
    if set(obj) != _HEAD_FIELDS or obj.get("type") != "head":
        raise LineProblem(Problem.MALFORMED_HEAD, f"head has fields {sorted(obj)}; expected {sorted(_HEAD_FIELDS)}")
    seq, ts_ms, offset = obj["seq"], obj["ts_ms"], obj["offset"]
    if not _is_int(seq, -1) or not _is_int(ts_ms, 0) or not _is_int(offset, 0):
        raise LineProblem(Problem.MALFORMED_HEAD, "head seq, ts_ms and offset must be ints (seq >= -1)")
    if not isinstance(obj["hash"], str) or _HEX64.fullmatch(obj["hash"]) is None:
        raise LineProblem(Problem.MALFORMED_HEAD, "head hash must be 64 lowercase hex characters", seq)
    if not isinstance(obj["prev_head"], str) or _HEX64.fullmatch(obj["prev_head"]) is None:
        raise LineProblem(Problem.MALFORMED_HEAD, "head prev_head must be 64 lowercase hex characters", seq)
    if not isinstance(obj["public_key"], str) or _HEX64.fullmatch(obj["public_key"]) is None:
        raise LineProblem(Problem.MALFORMED_HEAD, "head public_key must be 64 lowercase hex characters", seq)
    if not isinstance(obj["signature"], str) or _HEX128.fullmatch(obj["signature"]) is None:
        raise LineProblem(Problem.MALFORMED_HEAD, "head signature must be 128 lowercase hex characters", seq)
    return SignedHead(
        seq=seq,
        hash=obj["hash"],
        ts_ms=ts_ms,
        offset=offset,
        prev_head=obj["prev_head"],
        public_key=obj["public_key"],
        signature=obj["signature"],
    )
