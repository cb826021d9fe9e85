"""Verification of a log and its signed heads, and of an export bundle."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bastion.custody.audit._canonical import GENESIS_HASH
from bastion.custody.audit._records import (
    LineProblem,
    Problem,
    SignedHead,
    check_entry_line,
    parse_head_line,
)
from bastion.errors import ValidationError

__all__ = ["PublicKeyLike", "VerifyFailure", "VerifyResult", "heads_path_for", "normalize_public_key", "verify"]

PublicKeyLike = Ed25519PublicKey | bytes | str
"""An Ed25519 public key: the object, its 32 raw bytes, or those as 64 hex characters."""


def heads_path_for(path: str | os.PathLike[str]) -> Path:
    """Return the signed-heads sidecar of a log: ``audit.jsonl`` → ``audit.heads.jsonl``."""
    p = Path(path)
    suffix = p.suffix or ".jsonl"
    return p.with_name(f"{p.stem if p.suffix else p.name}.heads{suffix}")


def normalize_public_key(public_key: PublicKeyLike | None) -> bytes | None:
    """Return the 32 raw bytes of ``public_key`` (``None`` stays ``None``).

    Raises
    ------
    ValidationError
        If it is not an Ed25519 public key in one of the accepted forms.
    """
    if public_key is None:
        return None
    if isinstance(public_key, Ed25519PublicKey):
        return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    if isinstance(public_key, str):
        try:
            raw = bytes.fromhex(public_key)
        except ValueError:
            raise ValidationError("public key string must be 64 hex characters; given non-hex text") from None
    elif isinstance(public_key, bytes):
        raw = public_key
    else:
        raise ValidationError(
            f"public key must be Ed25519PublicKey, 32 raw bytes or 64 hex characters; given {type(public_key).__name__}"
        )
    if len(raw) != 32:
        raise ValidationError(f"Ed25519 public key must be 32 bytes; given {len(raw)}")
    return raw


@dataclass(frozen=True, slots=True)
class VerifyFailure:
    """The first problem :func:`verify` found.

    Attributes
    ----------
    problem
        What is wrong (:class:`Problem`).
    path
        The file it is in (the log, its heads file, or an export).
    line
        1-based line number in ``path``, when the problem is on a line.
    seq
        The entry's (or head's) seq, when it could be read.
    detail
        A sentence saying what was found and what was expected.
    """

    problem: Problem
    path: Path
    line: int | None
    seq: int | None
    detail: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        seq = f" (seq {self.seq})" if self.seq is not None else ""
        return f"{where}{seq}: {self.problem.value}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of :func:`verify` or :func:`verify_export`; true when the log verified.

    Attributes
    ----------
    failure
        ``None`` when everything verified, else the first problem.
    entries
        Entries that verified (all of them when ``ok``).
    last_seq, last_hash
        The last verified entry (``-1`` and ``GENESIS_HASH`` when none).
    head
        The latest signed head that verified.
    heads
        How many signed heads verified.
    unsigned_entries
        Entries after ``head``: chained, but not yet covered by a signature, so their
        removal could not be detected.
    public_key
        Hex of the key the heads were checked against.
    key_pinned
        Whether that key was given by the caller (``False``: taken from the file itself,
        which only proves self-consistency; compare it with a key you trust).
    """

    failure: VerifyFailure | None
    entries: int = 0
    last_seq: int = -1
    last_hash: str = GENESIS_HASH
    head: SignedHead | None = None
    heads: int = 0
    unsigned_entries: int = 0
    public_key: str | None = None
    key_pinned: bool = False

    @property
    def ok(self) -> bool:
        """Whether everything verified."""
        return self.failure is None

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.failure is not None:
            return f"FAILED: {self.failure}"
        head = f"signed through seq {self.head.seq}" if self.head else "no signed head"
        pinned = " (pinned)" if self.key_pinned else ""
        key = "" if self.public_key is None else f", key {self.public_key[:16]}…{pinned}"
        return f"OK: {self.entries} entries, {head}, {self.unsigned_entries} unsigned{key}"


@dataclass(slots=True)
class _Chain:
    path: Path
    wanted: set[int] = field(default_factory=set)
    expected_seq: int = 0
    prev: str = GENESIS_HASH
    offset: int = 0
    last_offset: int = 0
    at: dict[int, tuple[str, int]] = field(default_factory=dict)

    def feed(self, line: bytes, lineno: int) -> VerifyFailure | None:
        try:
            entry = check_entry_line(line, expected_seq=self.expected_seq, expected_prev=self.prev)
        except LineProblem as exc:
            return VerifyFailure(exc.problem, self.path, lineno, exc.seq, exc.detail)
        if entry.seq in self.wanted:
            self.at[entry.seq] = (entry.hash, self.offset)
        self.last_offset = self.offset
        self.offset += len(line)
        self.expected_seq += 1
        self.prev = entry.hash
        return None

    def locate(self, seq: int) -> tuple[str, int] | None:
        return (GENESIS_HASH, 0) if seq == -1 else self.at.get(seq)


def _read_heads(path: Path) -> tuple[list[tuple[int, SignedHead]], VerifyFailure | None]:
    heads: list[tuple[int, SignedHead]] = []
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return heads, None
    with f:
        for lineno, line in enumerate(f, 1):
            try:
                heads.append((lineno, parse_head_line(line)))
            except LineProblem as exc:
                problem = Problem.TRUNCATED_LINE if exc.problem is Problem.TRUNCATED_LINE else Problem.MALFORMED_HEAD
                return heads, VerifyFailure(problem, path, lineno, exc.seq, exc.detail)
    return heads, None


def check_heads(
    heads: Iterable[tuple[int, SignedHead]],
    chain: _Chain,
    pinned: bytes | None,
    path: Path,
    *,
    check_head_chain: bool = True,
) -> tuple[VerifyFailure | None, SignedHead | None, int, str | None]:
    """Check signatures, key, head chain, order and log match; return (failure, latest head, count, key hex)."""
    key_hex = pinned.hex() if pinned is not None else None
    latest: SignedHead | None = None
    count = 0
    last_seq = chain.expected_seq - 1
    for lineno, head in heads:
        if key_hex is None:
            key_hex = head.public_key
        if head.public_key != key_hex:
            return (
                VerifyFailure(
                    Problem.KEY_MISMATCH, path, lineno, head.seq,
                    f"head names public key {head.public_key[:16]}…; expected {key_hex[:16]}…",
                ),
                latest, count, key_hex,
            )
        if not head.signature_valid(bytes.fromhex(key_hex)):
            return (
                VerifyFailure(
                    Problem.BAD_SIGNATURE, path, lineno, head.seq,
                    f"head signature does not verify under key {key_hex[:16]}… (head forged or altered)",
                ),
                latest, count, key_hex,
            )
        expected_prev = latest.digest() if latest is not None else GENESIS_HASH
        if check_head_chain and head.prev_head != expected_prev:
            return (
                VerifyFailure(
                    Problem.HEAD_CHAIN, path, lineno, head.seq,
                    f"head's prev_head {head.prev_head[:12]}… is not the digest of the head before it "
                    f"({expected_prev[:12]}…): signed heads were removed, duplicated or reordered",
                ),
                latest, count, key_hex,
            )
        if latest is not None and head.seq < latest.seq:
            return (
                VerifyFailure(
                    Problem.HEAD_ORDER, path, lineno, head.seq,
                    f"head covers seq {head.seq}, earlier than the previous head's seq {latest.seq}",
                ),
                latest, count, key_hex,
            )
        if head.seq > last_seq:
            return (
                VerifyFailure(
                    Problem.LOG_TRUNCATED, path, lineno, head.seq,
                    f"signed head covers entry {head.seq}, but the log ends at seq {last_seq}: "
                    f"{head.seq - last_seq} signed entries were removed",
                ),
                latest, count, key_hex,
            )
        located = chain.locate(head.seq)
        if located is None or located != (head.hash, head.offset):
            found = "nothing" if located is None else f"hash {located[0][:12]}… at offset {located[1]}"
            return (
                VerifyFailure(
                    Problem.HEAD_MISMATCH, path, lineno, head.seq,
                    f"signed head says entry {head.seq} has hash {head.hash[:12]}… at offset {head.offset}; the log "
                    f"has {found} (entries up to it were rewritten)",
                ),
                latest, count, key_hex,
            )
        latest = head
        count += 1
    return None, latest, count, key_hex


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        yield from f


def verify(
    path: str | os.PathLike[str],
    public_key: PublicKeyLike | None = None,
    *,
    heads_path: str | os.PathLike[str] | None = None,
    require_head: bool = True,
    witnesses: Iterable[tuple[int, str]] = (),
) -> VerifyResult:
    """Walk a whole audit log and its signed heads; return ok or the first problem.

    Checks, per log line: complete line, canonical JSON with exactly the entry fields, seq
    ``0, 1, 2, ...``, ``prev_hash`` equal to the previous ``hash``, and ``hash`` recomputed.
    Then, per signed head: same public key throughout (``public_key`` if given), a valid
    Ed25519 signature, non-decreasing seq, and that the log still holds that entry with that
    hash at that offset. A head beyond the end of the log means its tail was removed.

    Parameters
    ----------
    path
        The log file (e.g. ``$BASTION_HOME/audit.jsonl``).
    public_key
        The signer's Ed25519 public key to pin; ``None`` trusts the key in the heads file
        (then only self-consistency is proven; see ``VerifyResult.key_pinned``).
    heads_path
        The signed-heads file; default :func:`heads_path_for` ``(path)``.
    require_head
        Fail with ``missing_head`` when a non-empty log has no signed head.
    witnesses
        ``(seq, hash)`` pairs kept outside the machine (the signer sends its signed head to the
        notification channel): the log must still hold entry ``seq`` with that hash, else it
        fails with ``witness_mismatch``. This catches a log replaced by an older copy of itself,
        which the signatures alone cannot.

    Returns
    -------
    VerifyResult
        Truthy when everything verified; else ``failure`` names file, line, seq and problem.
    """
    path = Path(path)
    heads_file = Path(heads_path) if heads_path is not None else heads_path_for(path)
    pinned = normalize_public_key(public_key)
    heads, heads_failure = _read_heads(heads_file)
    witnessed = [(int(seq), str(digest).lower()) for seq, digest in witnesses]
    chain = _Chain(path, wanted={h.seq for _, h in heads} | {seq for seq, _ in witnessed})

    def result(failure: VerifyFailure | None, **extra: object) -> VerifyResult:
        return VerifyResult(
            failure,
            entries=chain.expected_seq,
            last_seq=chain.expected_seq - 1,
            last_hash=chain.prev,
            key_pinned=pinned is not None,
            **extra,  # type: ignore[arg-type]
        )

    if not path.exists():
        detail = "log file is missing" + (f" although {heads_file.name} has signed heads" if heads else "")
        return result(VerifyFailure(Problem.MISSING_FILE, path, None, None, detail))
    for lineno, line in enumerate(_lines(path), 1):
        failure = chain.feed(line, lineno)
        if failure is not None:
            return result(failure)
    if heads_failure is not None:
        return result(heads_failure)
    failure, head, count, key_hex = check_heads(heads, chain, pinned, heads_file)
    if failure is None and head is None and require_head and chain.expected_seq > 0:
        failure = VerifyFailure(
            Problem.MISSING_HEAD, heads_file, None, None,
            f"the log has {chain.expected_seq} entries but no signed head; truncation cannot be ruled out",
        )
    for seq, digest in witnessed if failure is None else ():
        located = chain.locate(seq) if seq >= 0 else None
        if located is None or located[0] != digest:
            found = (
                f"ends at seq {chain.expected_seq - 1}" if located is None else f"has hash {located[0][:12]}… there"
            )
            failure = VerifyFailure(
                Problem.WITNESS_MISMATCH, path, None, seq,
                f"the witness says entry {seq} has hash {digest[:12]}…, but the log {found}: the log was replaced "
                "by another (older?) copy or rewritten",
            )
            break
    unsigned = chain.expected_seq - 1 - (head.seq if head is not None else -1)
    return result(failure, head=head, heads=count, unsigned_entries=unsigned, public_key=key_hex)
