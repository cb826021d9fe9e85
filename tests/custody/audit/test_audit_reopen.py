from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.custody.audit import (
    AuditCorruptError,
    AuditLog,
    AuditTruncatedError,
    EntryKind,
    Problem,
    canonical_json,
    verify,
)


def _fill(path: Path, key: Ed25519PrivateKey, clock: Callable[[], int], n: int, *, sign: bool = True) -> None:
    log = AuditLog.open(path, signing_key=key, clock=clock)
    for i in range(n):
        log.append("request", {"i": i})
    log.close(sign=sign)


def test_a_partial_last_line_refuses_to_open_by_default(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    _fill(log_path, key, clock, 5, sign=False)
    with log_path.open("ab") as f:
        f.write(b'{"hash":"ab')  # a crash in the middle of an append
    with pytest.raises(AuditCorruptError, match="recover_partial_tail=True"):
        AuditLog.open(log_path, signing_key=key, clock=clock)


def test_recovering_a_partial_last_line_cuts_it_and_records_the_cut(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    _fill(log_path, key, clock, 5)
    with log_path.open("ab") as f:
        f.write(b'{"hash":"ab')
    with AuditLog.open(log_path, signing_key=key, clock=clock, recover_partial_tail=True) as log:
        assert log.next_seq == 6
    entries = [json.loads(line) for line in log_path.read_bytes().splitlines()]
    recovery = entries[5]
    assert recovery["kind"] == EntryKind.RECOVERY
    assert recovery["payload"]["discarded_bytes"] == len(b'{"hash":"ab')
    assert recovery["payload"]["file"] == "audit.jsonl"
    assert verify(log_path, key.public_key())


def test_recovering_a_partial_heads_line(log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]) -> None:
    _fill(log_path, key, clock, 3)
    heads = log_path.with_name("audit.heads.jsonl")
    with heads.open("ab") as f:
        f.write(b'{"hash":')
    with pytest.raises(AuditCorruptError):
        AuditLog.open(log_path, signing_key=key, clock=clock)
    AuditLog.open(log_path, signing_key=key, clock=clock, recover_partial_tail=True).close()
    assert verify(log_path, key.public_key())


def test_a_tail_removed_after_a_signed_head_refuses_to_open(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    _fill(log_path, key, clock, 10)
    lines = log_path.read_bytes().splitlines(keepends=True)
    log_path.write_bytes(b"".join(lines[:7]))
    with pytest.raises(AuditTruncatedError, match="tail was removed"):
        AuditLog.open(log_path, signing_key=key, clock=clock)
    assert log_path.read_bytes() == b"".join(lines[:7])  # nothing appended to a truncated chain


def test_a_deleted_log_with_remaining_heads_refuses_to_open(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    _fill(log_path, key, clock, 3)
    log_path.unlink()
    with pytest.raises(AuditTruncatedError, match="deleted"):
        AuditLog.open(log_path, signing_key=key, clock=clock)
    assert not log_path.exists()


def test_an_edit_after_the_latest_head_refuses_to_open(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    log = AuditLog.open(log_path, signing_key=key, clock=clock)
    for i in range(6):
        log.append("request", {"i": i})
        if i == 2:
            log.sign_head()
    log.close(sign=False)
    lines = log_path.read_bytes().splitlines(keepends=True)
    obj = json.loads(lines[4])
    obj["payload"]["i"] = 40
    lines[4] = canonical_json(obj) + b"\n"
    log_path.write_bytes(b"".join(lines))
    with pytest.raises(AuditCorruptError, match="hash_mismatch"):
        AuditLog.open(log_path, signing_key=key, clock=clock)


def test_an_edit_of_the_signed_entry_itself_refuses_to_open(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    _fill(log_path, key, clock, 4)
    lines = log_path.read_bytes().splitlines(keepends=True)
    obj = json.loads(lines[3])
    obj["payload"]["i"] = 99
    lines[3] = canonical_json(obj) + b"\n"
    log_path.write_bytes(b"".join(lines))
    with pytest.raises(AuditCorruptError, match="does not match"):
        AuditLog.open(log_path, signing_key=key, clock=clock)


def test_reopen_checks_only_the_tail_and_full_verify_finds_older_edits(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    _fill(log_path, key, clock, 10)
    lines = log_path.read_bytes().splitlines(keepends=True)
    obj = json.loads(lines[2])
    obj["payload"]["i"] = 7  # same length, so the head's offset still points at entry 9
    lines[2] = canonical_json(obj) + b"\n"
    log_path.write_bytes(b"".join(lines))
    AuditLog.open(log_path, signing_key=key, clock=clock).close()  # cheap: does not reread entry 2
    result = verify(log_path, key.public_key())
    assert result.failure is not None
    assert result.failure.problem is Problem.HASH_MISMATCH
    assert result.failure.seq == 2
