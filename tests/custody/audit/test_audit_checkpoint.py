"""``AuditLog.replay``: verified from a signed checkpoint, only what follows it checked entry by entry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.custody.audit import AuditCorruptError, AuditEntry, AuditLog, AuditTruncatedError, verify


def _open(path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]) -> AuditLog:
    return AuditLog.open(path, signing_key=key, clock=clock, sign_on_sync=True)


def _fill(log: AuditLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.append("request", {"account": "alice", "n": i})


def _replay(log: AuditLog) -> tuple[list[AuditEntry], int, int]:
    seen: list[AuditEntry] = []
    report = log.replay(seen.append)
    return seen, report.checkpoint_seq, report.checked_entries


def test_a_replay_checks_every_entry_once_then_only_those_after_the_checkpoint(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    log = _open(log_path, key, clock)
    _fill(log, 5)
    seen, checkpoint_seq, checked = _replay(log)
    assert [e.payload["n"] for e in seen] == list(range(5))
    assert (checkpoint_seq, checked) == (-1, 5)
    _fill(log, 3, start=5)
    log.close()  # writes a checkpoint through seq 7
    log = _open(log_path, key, clock)
    _fill(log, 2, start=8)  # a crash after these: no checkpoint covers them
    seen, checkpoint_seq, checked = _replay(log)
    assert [e.payload["n"] for e in seen] == list(range(10))
    assert (checkpoint_seq, checked) == (7, 2)
    log.close()
    assert verify(log_path, key.public_key()).unsigned_entries == 0


def test_a_same_length_edit_before_the_checkpoint_is_caught(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    log = _open(log_path, key, clock)
    _fill(log, 6)
    log.replay(lambda entry: None)
    log.close()
    data = log_path.read_bytes()
    log_path.write_bytes(data.replace(b'"n":2}', b'"n":9}', 1))
    log = _open(log_path, key, clock)  # the head is still fine: only the tail is checked at open
    with pytest.raises(AuditCorruptError, match="altered before entry"):
        log.replay(lambda entry: None)
    log.close(sign=False)


def test_a_log_shorter_than_its_checkpoint_is_truncated(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    log = _open(log_path, key, clock)
    _fill(log, 4)
    log.replay(lambda entry: None)
    _fill(log, 2, start=4)
    log.write_checkpoint()
    log.close()
    checkpoint = log.checkpoint_path.read_bytes()
    log_path.unlink()
    log.heads_path.unlink()
    log = _open(log_path, key, clock)
    _fill(log, 1)
    log.checkpoint_path.write_bytes(checkpoint)
    with pytest.raises(AuditTruncatedError):
        log.replay(lambda entry: None)
    log.close(sign=False)


def test_a_forged_checkpoint_is_refused(log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]) -> None:
    log = _open(log_path, key, clock)
    _fill(log, 2)
    log.replay(lambda entry: None)
    log.close()
    text = log.checkpoint_path.read_text()
    log.checkpoint_path.write_text(text.replace('"size":', '"size":1', 1))
    log = _open(log_path, key, clock)
    with pytest.raises(AuditCorruptError, match="not signed by this signer"):
        log.replay(lambda entry: None)
    log.close(sign=False)
