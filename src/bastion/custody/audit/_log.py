"""The writer: durable, hash-chained appends and signed heads."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.custody.audit._canonical import GENESIS_HASH, canonical_json, entry_hash, head_message
from bastion.custody.audit._checkpoint import Checkpoint, checkpoint_path_for, read_checkpoint, write_checkpoint
from bastion.custody.audit._errors import (
    AuditCorruptError,
    AuditError,
    AuditKeyMismatch,
    AuditLockedError,
    AuditPayloadError,
    AuditTruncatedError,
    AuditWriteError,
)
from bastion.custody.audit._export import export as _export
from bastion.custody.audit._files import fsync_dir, last_line, write_all
from bastion.custody.audit._payload import sanitize_payload
from bastion.custody.audit._records import (
    KIND_PATTERN,
    AuditEntry,
    EntryKind,
    LineProblem,
    SignedHead,
    check_entry_line,
    parse_head_line,
)
from bastion.custody.audit._verify import _Chain, heads_path_for
from bastion.errors import ValidationError

__all__ = ["AuditLog", "ReplayReport"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayReport:
    """What :meth:`AuditLog.replay` verified.

    Attributes
    ----------
    entries
        Entries visited (the whole log).
    checkpoint_seq
        The last entry covered by the signed checkpoint the replay started from (``-1``: none,
        every entry was checked one by one).
    checked_entries
        Entries after the checkpoint, each checked against the chain.
    """

    entries: int
    checkpoint_seq: int
    checked_entries: int

_MAX_LINE_BYTES = 1024 * 1024
_MAX_TS = 2**63 - 1


def _open_append(path: Path) -> tuple[int, bool]:
    flags = os.O_RDWR | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600), True
    except FileExistsError:
        return os.open(path, flags), False


def _cut_partial_tail(fd: int, path: Path, recover: bool) -> dict[str, Any] | None:
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return None
    found = last_line(fd, size)
    assert found is not None
    start, partial = found
    if not recover:
        raise AuditCorruptError(
            f"the last line of {path} is incomplete ({len(partial)} bytes without a newline: a crash during a "
            "write?); run verify, then reopen with recover_partial_tail=True to cut it off and log the cut"
        )
    os.ftruncate(fd, start)
    os.fsync(fd)
    return {
        "reason": "partial_tail",
        "file": path.name,
        "discarded_bytes": len(partial),
        "discarded_sha256": hashlib.sha256(partial).hexdigest(),
    }


class AuditLog:
    """An append-only, hash-chained JSON-lines log with Ed25519-signed heads.

    Each :meth:`append` writes one canonical JSON line and fsyncs it before returning, so a
    request is on disk before it is sent. :meth:`sign_head` appends a signed
    ``{seq, hash, ts_ms, offset}`` to the sidecar ``<stem>.heads.jsonl``; call it
    periodically and at shutdown (``close()`` does it by default).

    One writer at a time: the log is ``flock``-ed while open. After a failed write the
    log refuses further appends (``AuditWriteError``); the caller must stop sending
    requests and reopen. Not fork-safe. Use :meth:`open`.
    """

    __slots__ = (
        "_checkpoint_path",
        "_clock",
        "_closed",
        "_dirty",
        "_failed",
        "_fd",
        "_file_hash",
        "_head",
        "_heads_fd",
        "_heads_path",
        "_key",
        "_last_head",
        "_last_offset",
        "_lock",
        "_next_seq",
        "_path",
        "_prev",
        "_public_key",
        "_sign_on_sync",
        "_signed_seq",
        "_size",
    )

    _path: Path
    _heads_path: Path
    _checkpoint_path: Path
    _key: Ed25519PrivateKey
    _public_key: str
    _clock: Callable[[], int]
    _fd: int
    _heads_fd: int
    _next_seq: int
    _prev: str
    _last_offset: int
    _size: int
    _signed_seq: int
    _last_head: str

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._dirty = False
        self._failed: str | None = None
        self._file_hash: Any = None
        self._sign_on_sync = False
        self._head: SignedHead | None = None

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        signing_key: Ed25519PrivateKey,
        clock: Callable[[], int],
        heads_path: str | os.PathLike[str] | None = None,
        recover_partial_tail: bool = False,
        sign_on_sync: bool = False,
    ) -> AuditLog:
        """Open (or create) a log and resume its chain.

        Reopening checks the tail cheaply: the latest signed head must carry this key, have
        a valid signature and point at an entry that still exists with that hash; the
        entries after it are chain-checked. Without any signed head yet, the whole log is
        walked once.

        Parameters
        ----------
        path
            The log file; created (mode 0600, directory fsynced) if missing.
        signing_key
            The signer's Ed25519 key (see ``bastion.custody.vault.load_signing_key``).
        clock
            Returns the current time in milliseconds (an ``int``); the library never reads
            the system clock itself.
        heads_path
            The signed-heads file; default ``<stem>.heads.jsonl`` next to ``path``.
        recover_partial_tail
            Cut off an incomplete last line (a crash mid-write) instead of refusing to open;
            the cut is recorded as a ``"recovery"`` entry with its size and SHA-256.
        sign_on_sync
            Sign the head with every fsync of the log (group commit): after each synced
            :meth:`append` and each :meth:`sync` that flushed entries, so no durable entry is
            left unsigned. The signer uses it; an Ed25519 signature costs tens of microseconds.

        Returns
        -------
        AuditLog
            The open log, ready to append.

        Raises
        ------
        AuditLockedError
            If another writer holds the log.
        AuditKeyMismatch
            If the existing heads were signed with another key.
        AuditTruncatedError
            If the latest signed head covers entries no longer in the log.
        AuditCorruptError
            If the tail does not verify, or ends in a partial line without recovery.
        """
        if not isinstance(signing_key, Ed25519PrivateKey):
            raise ValidationError(f"signing_key must be an Ed25519PrivateKey; given {type(signing_key).__name__}")
        if not callable(clock):
            raise ValidationError(f"clock must be a callable returning epoch milliseconds; given {clock!r}")
        self = cls()
        self._path = Path(path)
        self._heads_path = Path(heads_path) if heads_path is not None else heads_path_for(self._path)
        self._key = signing_key
        self._public_key = signing_key.public_key().public_bytes_raw().hex()
        self._clock = clock
        self._sign_on_sync = bool(sign_on_sync)
        self._checkpoint_path = checkpoint_path_for(self._path)
        if not self._path.exists() and self._heads_path.exists() and self._heads_path.stat().st_size > 0:
            raise AuditTruncatedError(
                f"{self._path} is missing but {self._heads_path} holds signed heads: the log was deleted"
            )
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._fd, created = _open_append(self._path)
        self._heads_fd = -1
        try:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise AuditLockedError(f"{self._path} is open for writing elsewhere; one writer at a time") from None
            self._heads_fd, heads_created = _open_append(self._heads_path)
            if created or heads_created:
                fsync_dir(self._path.parent)
                if self._heads_path.parent != self._path.parent:
                    fsync_dir(self._heads_path.parent)
            cuts = [
                cut
                for cut in (
                    _cut_partial_tail(self._fd, self._path, recover_partial_tail),
                    _cut_partial_tail(self._heads_fd, self._heads_path, recover_partial_tail),
                )
                if cut is not None
            ]
            self._resume()
            for cut in cuts:
                self.append(EntryKind.RECOVERY, cut)
        except BaseException:
            self._release()
            raise
        return self

    def _latest_head(self) -> SignedHead | None:
        size = os.fstat(self._heads_fd).st_size
        found = last_line(self._heads_fd, size)
        if found is None:
            return None
        try:
            head = parse_head_line(found[1])
        except LineProblem as exc:
            raise AuditCorruptError(
                f"the latest signed head in {self._heads_path} is unreadable: {exc.detail}"
            ) from None
        if head.public_key != self._public_key:
            raise AuditKeyMismatch(
                f"{self._heads_path} is signed with public key {head.public_key[:16]}…; the signing key given has "
                f"{self._public_key[:16]}…; use the signer's own key (or start a new log)"
            )
        if not head.signature_valid():
            raise AuditCorruptError(f"the latest signed head in {self._heads_path} has an invalid signature")
        return head

    def _resume(self) -> None:
        size = os.fstat(self._fd).st_size
        head = self._latest_head()
        chain = _Chain(self._path)
        start = 0
        if head is not None and head.seq >= 0:
            if head.offset >= size:
                raise AuditTruncatedError(
                    f"the latest signed head covers entry {head.seq} at byte {head.offset}, but {self._path} has only "
                    f"{size} bytes: its tail was removed; run verify"
                )
            with self._path.open("rb") as f:
                f.seek(head.offset)
                line = f.readline()
            try:
                prev = json.loads(line).get("prev_hash")
                entry = check_entry_line(line, expected_seq=head.seq, expected_prev=prev)
            except (LineProblem, ValueError, AttributeError):
                entry = None
            if entry is None or entry.hash != head.hash:
                raise AuditCorruptError(
                    f"the latest signed head (seq {head.seq}) does not match the entry at byte {head.offset} of "
                    f"{self._path}: the log was altered; run verify"
                )
            chain.expected_seq, chain.prev = head.seq + 1, head.hash
            chain.last_offset = head.offset
            start = chain.offset = head.offset + len(line)
        with self._path.open("rb") as f:
            f.seek(start)
            for line in f:
                failure = chain.feed(line, 0)
                if failure is not None:
                    raise AuditCorruptError(
                        f"{self._path} does not verify after its latest signed head at byte {chain.offset} "
                        f"(seq {chain.expected_seq}): {failure.problem.value}: {failure.detail}; run verify"
                    )
        self._next_seq = chain.expected_seq
        self._prev = chain.prev
        self._last_offset = chain.last_offset
        self._size = chain.offset
        self._signed_seq = head.seq if head is not None else -1
        self._last_head = head.digest() if head is not None else GENESIS_HASH
        self._head = head

    # ------------------------------------------------------------------ properties

    @property
    def path(self) -> Path:
        """The log file."""
        return self._path

    @property
    def heads_path(self) -> Path:
        """The signed-heads file."""
        return self._heads_path

    @property
    def public_key(self) -> str:
        """The signing key's Ed25519 public key, 64 hex characters."""
        return self._public_key

    @property
    def next_seq(self) -> int:
        """The seq the next entry will get (the number of entries so far)."""
        return self._next_seq

    @property
    def last_hash(self) -> str:
        """The hash of the last entry (``GENESIS_HASH`` when empty)."""
        return self._prev

    @property
    def unsigned_entries(self) -> int:
        """Entries appended since the latest signed head."""
        return self._next_seq - 1 - self._signed_seq

    @property
    def latest_head(self) -> SignedHead | None:
        """The latest signed head (None before the first)."""
        return self._head

    # ------------------------------------------------------------------ writing

    def _check_writable(self) -> None:
        if self._closed:
            raise AuditError(f"{self._path} is closed; open it again")
        if self._failed is not None:
            raise AuditWriteError(f"{self._path} refuses appends after a failed write ({self._failed}); reopen it")

    def _now(self) -> int:
        ts = self._clock()
        if isinstance(ts, bool) or not isinstance(ts, int) or not 0 <= ts <= _MAX_TS:
            raise AuditPayloadError(f"clock() must return non-negative int milliseconds; returned {ts!r}")
        return ts

    def _write(self, fd: int, path: Path, data: bytes, size_before: int, *, sync: bool = True) -> None:
        try:
            write_all(fd, data)
            if sync:
                os.fsync(fd)
        except OSError as exc:
            self._failed = f"{type(exc).__name__}: {exc.strerror}"
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size_before)
            raise AuditWriteError(
                f"writing to {path} failed ({exc.strerror}); the log refuses further appends"
            ) from exc

    def sync(self) -> bool:
        """Fsync entries appended with ``sync=False``; return whether there were any.

        Raises
        ------
        AuditWriteError
            If the fsync failed; no further appends are accepted.
        """
        with self._lock:
            flushed = self._sync_locked()
            unsigned = self._next_seq - 1 > self._signed_seq
            if self._sign_on_sync and self._failed is None and not self._closed and unsigned:
                self._sign_locked(fsync=False)
            return flushed

    def _sync_locked(self) -> bool:
        if not self._dirty or self._closed:
            return False
        try:
            os.fsync(self._fd)
        except OSError as exc:
            self._failed = f"{type(exc).__name__}: {exc.strerror}"
            raise AuditWriteError(
                f"fsync of {self._path} failed ({exc.strerror}); the log refuses further appends"
            ) from exc
        self._dirty = False
        return True

    def append(
        self, kind: str, payload: Mapping[str, Any], *, secrets: Iterable[str] = (), sync: bool = True
    ) -> AuditEntry:
        """Append one entry and fsync it before returning.

        With ``sync=False`` the entry is written but not fsynced: it becomes durable with the next
        synced append (one fsync covers every earlier write to the file), :meth:`sync`,
        :meth:`sign_head` or :meth:`close`. The signer uses it for an outcome, which follows a
        request that was synced before it went to the exchange.

        Parameters
        ----------
        kind
            ``"request"``, ``"outcome"``, ``"denial"``, ``"policy_change"``, ``"key_event"``
            or any ``[a-z][a-z0-9_]{0,31}`` (see :class:`EntryKind`).
        payload
            JSON-like data with ``str`` keys. Decimals are stored as strings; floats are
            refused. Keys named like secrets are refused (:class:`AuditSecretError`); string
            values are scrubbed with :func:`bastion.errors.scrub`.
        secrets
            Secret strings to mask wherever they appear in a value (e.g. the API secret
            of the request being logged).
        sync
            Fsync before returning (default). False defers durability as described above.

        Returns
        -------
        AuditEntry
            The entry as written.

        Raises
        ------
        AuditPayloadError
            If ``kind``, ``payload`` or the clock's value cannot be logged (nothing written).
        AuditWriteError
            If the write or fsync failed; no further appends are accepted.
        """
        if not isinstance(kind, str) or KIND_PATTERN.fullmatch(kind) is None:
            raise AuditPayloadError(f"kind must match {KIND_PATTERN.pattern}; given {kind!r}")
        clean = sanitize_payload(payload, secrets)
        with self._lock:
            self._check_writable()
            ts = self._now()
            body = {"kind": str(kind), "payload": clean, "prev_hash": self._prev, "seq": self._next_seq, "ts_ms": ts}
            digest = entry_hash(self._prev, canonical_json(body))
            entry = AuditEntry(
                seq=self._next_seq, ts_ms=ts, kind=str(kind), payload=clean, prev_hash=self._prev, hash=digest
            )
            line = entry.to_line()
            if len(line) > _MAX_LINE_BYTES:
                raise AuditPayloadError(f"entry is {len(line)} bytes; expected at most {_MAX_LINE_BYTES}")
            self._write(self._fd, self._path, line, self._size, sync=sync)
            if self._file_hash is not None:
                self._file_hash.update(line)
            self._dirty = not sync
            self._last_offset = self._size
            self._size += len(line)
            self._next_seq += 1
            self._prev = digest
            if sync and self._sign_on_sync:
                self._sign_locked(fsync=False)
            return entry

    def sign_head(self) -> SignedHead:
        """Sign the current chain head and append it (fsynced) to the heads file.

        Returns
        -------
        SignedHead
            The head; for an empty log ``seq`` is -1 and ``hash`` is ``GENESIS_HASH``.
        """
        with self._lock:
            self._check_writable()
            self._sync_locked()  # a head only covers entries that are on disk
            return self._sign_locked(fsync=True)

    def _sign_locked(self, *, fsync: bool) -> SignedHead:
        # The log is fsynced before a head is written, so a head never covers an entry a power
        # loss could take back. A head written without fsync may itself be lost then: the
        # entries it covered are covered again by the next head.
        seq = self._next_seq - 1
        offset = self._last_offset if seq >= 0 else 0
        ts = self._now()
        head_hash = self._prev if seq >= 0 else GENESIS_HASH
        prev_head = self._last_head
        message = head_message(seq=seq, head_hash=head_hash, ts_ms=ts, offset=offset, prev_head=prev_head)
        head = SignedHead(
            seq=seq,
            hash=head_hash,
            ts_ms=ts,
            offset=offset,
            prev_head=prev_head,
            public_key=self._public_key,
            signature=self._key.sign(message).hex(),
        )
        size = os.fstat(self._heads_fd).st_size
        self._write(self._heads_fd, self._heads_path, head.to_line(), size, sync=fsync)
        self._signed_seq = seq
        self._last_head = head.digest()
        self._head = head
        return head

    def export(self, out_file: str | os.PathLike[str]) -> SignedHead:
        """Sign the current head, then write a verifiable export (see :func:`export`).

        Parameters
        ----------
        out_file
            Where to write the export.

        Returns
        -------
        SignedHead
            The head the export ends with (covers every entry so far).
        """
        self.sign_head()
        return _export(self._path, out_file, public_key=self._public_key, heads_path=self._heads_path)

    # ------------------------------------------------------------------ verified replay

    @property
    def checkpoint_path(self) -> Path:
        """The signed checkpoint file (``<stem>.checkpoint.json``)."""
        return self._checkpoint_path

    def replay(self, visit: Callable[[AuditEntry], None]) -> ReplayReport:
        """Verify the whole log against its signed checkpoint and pass every entry to ``visit``, in order.

        The bytes up to the checkpoint are hashed in one pass and compared with its signed
        digest; every entry after it is checked against the chain. Then a new checkpoint is
        written, and from here on the log keeps the running digest, so :meth:`write_checkpoint`
        is cheap. Without a checkpoint every entry is checked.

        ``visit`` sees entries before the verification is complete: when this raises, discard
        whatever it collected.

        Raises
        ------
        AuditCorruptError
            An entry was edited, removed, inserted or reordered, or the checkpoint was forged.
        AuditTruncatedError
            The log is shorter than its checkpoint says.
        """
        with self._lock:
            self._check_writable()
            self._sync_locked()
            raw_key = bytes.fromhex(self._public_key)
            checkpoint = read_checkpoint(self._checkpoint_path, raw_key)
            size = os.fstat(self._fd).st_size
            if checkpoint is not None and checkpoint.size > size:
                raise AuditTruncatedError(
                    f"the signed checkpoint covers {checkpoint.size} bytes (through entry {checkpoint.seq}) but "
                    f"{self._path} has {size}: its tail was removed; run `bastion audit verify`"
                )
            report = self._replay_locked(checkpoint, visit)
            self._write_checkpoint_locked()
            return report

    def _replay_locked(self, checkpoint: Checkpoint | None, visit: Callable[[AuditEntry], None]) -> ReplayReport:
        digest = hashlib.sha256()
        chain = _Chain(self._path)
        boundary = checkpoint.size if checkpoint is not None else 0
        offset = 0
        checked = 0
        met = False
        with self._path.open("rb") as f:
            for lineno, line in enumerate(f, 1):
                digest.update(line)
                end = offset + len(line)
                if end <= boundary:
                    entry = self._trusted_entry(line, lineno, chain)
                    if end == boundary:
                        self._check_checkpoint(checkpoint, digest, chain)
                        met = True
                else:
                    failure = chain.feed(line, lineno)
                    if failure is not None:
                        raise AuditCorruptError(
                            f"{self._path} does not verify at start: {failure}; run `bastion audit verify`"
                        )
                    entry = AuditEntry(**json.loads(line))
                    checked += 1
                offset = end
                visit(entry)
        if boundary and not met:
            raise AuditCorruptError(f"{self._path} does not end on a line at its signed checkpoint; it was altered")
        if chain.expected_seq != self._next_seq or chain.prev != self._prev or offset != self._size:
            raise AuditCorruptError(f"{self._path} changed while it was being replayed; another writer?")
        self._file_hash = digest
        return ReplayReport(
            entries=chain.expected_seq,
            checkpoint_seq=checkpoint.seq if checkpoint is not None else -1,
            checked_entries=checked,
        )

    def _trusted_entry(self, line: bytes, lineno: int, chain: _Chain) -> AuditEntry:
        # Inside the checkpoint: the digest vouches for the bytes, so only parse (and keep the
        # chain position for the entries after it).
        try:
            entry = AuditEntry(**json.loads(line))
        except (ValueError, TypeError):
            raise AuditCorruptError(
                f"{self._path} line {lineno} is not an entry, inside the signed checkpoint: the log was altered"
            ) from None
        chain.expected_seq = entry.seq + 1
        chain.prev = entry.hash
        chain.last_offset = chain.offset
        chain.offset += len(line)
        return entry

    def _check_checkpoint(self, checkpoint: Checkpoint | None, digest: Any, chain: _Chain) -> None:
        assert checkpoint is not None
        if digest.hexdigest() != checkpoint.prefix_sha256 or chain.prev != checkpoint.hash:
            raise AuditCorruptError(
                f"{self._path} was altered before entry {checkpoint.seq}: its first {checkpoint.size} bytes no "
                "longer match the checkpoint the signer signed (an entry was edited, even if every line kept its "
                "length); run `bastion audit verify` to find it"
            )

    def write_checkpoint(self) -> Checkpoint | None:
        """Sign and write a checkpoint of the whole log (after :meth:`replay`; None before it)."""
        with self._lock:
            self._check_writable()
            self._sync_locked()
            return self._write_checkpoint_locked()

    def _write_checkpoint_locked(self) -> Checkpoint | None:
        if self._file_hash is None:
            return None
        return write_checkpoint(
            self._checkpoint_path,
            self._key,
            seq=self._next_seq - 1,
            head_hash=self._prev,
            size=self._size,
            prefix_sha256=self._file_hash.copy().hexdigest(),
            ts_ms=self._now(),
        )

    # ------------------------------------------------------------------ lifetime

    def _release(self) -> None:
        for fd in (self._fd, self._heads_fd):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._heads_fd = -1

    def close(self, *, sign: bool = True) -> None:
        """Sign the head if entries are unsigned (unless ``sign=False``), then close the files."""
        if self._closed:
            return
        try:
            if self._failed is None:
                with self._lock:
                    self._sync_locked()
            if sign and self._failed is None and self.unsigned_entries > 0:
                self.sign_head()
            if self._failed is None and self._file_hash is not None:
                with self._lock:
                    self._write_checkpoint_locked()
        finally:
            self._closed = True
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"next_seq={self._next_seq}"
        return f"AuditLog({str(self._path)!r}, {state})"
