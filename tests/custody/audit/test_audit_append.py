from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import bastion.custody.audit._log as log_module
from bastion.custody.audit import (
    GENESIS_HASH,
    AuditError,
    AuditKeyMismatch,
    AuditLockedError,
    AuditLog,
    AuditPayloadError,
    AuditSecretError,
    AuditWriteError,
    EntryKind,
    verify,
)

API_SECRET = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_entries_chain_as_specified(log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        for i in range(5):
            log.append("request", {"i": i, "price": Decimal("27000.10"), "note": "ünïcode €"})
    prev = GENESIS_HASH
    for seq, entry in enumerate(_lines(log_path)):
        assert entry["seq"] == seq
        assert entry["prev_hash"] == prev
        body = {k: v for k, v in entry.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        assert entry["hash"] == hashlib.sha256(bytes.fromhex(prev) + canonical).hexdigest()
        prev = entry["hash"]
    raw = log_path.read_bytes()
    assert "ünïcode €".encode() in raw  # ensure_ascii=False
    assert b'"price":"27000.10"' in raw  # Decimal as string


def test_timestamps_come_from_the_injected_clock(log_path: Path, key: Ed25519PrivateKey) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=lambda: 42) as log:
        assert log.append("request", {}).ts_ms == 42


@pytest.mark.parametrize("bad", [1.5, "1700000000000", -1, True, None])
def test_a_clock_that_does_not_return_int_ms_is_refused(log_path: Path, key: Ed25519PrivateKey, bad: object) -> None:
    log = AuditLog.open(log_path, signing_key=key, clock=lambda: bad)  # type: ignore[arg-type,return-value]
    with pytest.raises(AuditPayloadError, match="non-negative int milliseconds"):
        log.append("request", {})
    log.close(sign=False)


def test_files_are_private_and_the_directory_is_fsynced_on_create(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[Path] = []
    monkeypatch.setattr(log_module, "fsync_dir", lambda d: synced.append(d))
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        log.append("request", {})
    assert synced == [log_path.parent]
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.heads_path.stat().st_mode) == 0o600
    assert log.heads_path.name == "audit.heads.jsonl"


def test_every_append_is_fsynced_before_it_returns(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog.open(log_path, signing_key=key, clock=clock)
    real_fsync = os.fsync
    sizes: list[int] = []

    def spy(fd: int) -> None:
        sizes.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    for _ in range(3):
        log.append("request", {})
        assert sizes[-1] == log_path.stat().st_size  # synced after the whole line was written
    assert len(sizes) == 3
    monkeypatch.undo()
    log.close()


@pytest.mark.parametrize(
    "payload",
    [
        {"secret": "x"},
        {"apiSecret": "x"},
        {"api_secret": "x"},
        {"API-SECRET": "x"},
        {"signature": "x"},
        {"password": "x"},
        {"passphrase": "x"},
        {"privateKey": "x"},
        {"client_secret": "x"},
        {"params": {"symbol": "BTCUSDT", "apiSecret": "x"}},
        {"orders": [{"id": 1}, {"password": "x"}]},
    ],
    ids=lambda p: json.dumps(p),
)
def test_payload_keys_named_like_secrets_are_refused_and_nothing_is_written(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int], payload: dict
) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        with pytest.raises(AuditSecretError) as info:
            log.append("request", payload)
        assert log.next_seq == 0
    assert log_path.read_bytes() == b""
    assert '"x"' not in str(info.value)


def test_ordinary_keys_that_merely_mention_keys_are_allowed(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        log.append("request", {"key_id": "k1", "key_fingerprint": "ab12", "signature_valid": True})


def test_known_secret_values_are_redacted_wherever_they_appear(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        entry = log.append(
            "outcome",
            {"error": f"exchange echoed {API_SECRET} back", "nested": [{"msg": API_SECRET}]},
            secrets=[API_SECRET],
        )
    assert entry.payload == {"error": "exchange echoed **** back", "nested": [{"msg": "****"}]}
    assert API_SECRET.encode() not in log_path.read_bytes()


def test_signature_and_key_fragments_in_text_are_scrubbed(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        entry = log.append("outcome", {"url": "/api/v3/order?symbol=BTCUSDT&signature=deadbeef01"})
    assert entry.payload["url"] == "/api/v3/order?symbol=BTCUSDT&signature=****"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"price": 0.1}, "float"),
        ({"price": Decimal("NaN")}, "finite Decimal"),
        ({"raw": b"bytes"}, "bytes"),
        ({1: "int key"}, "str keys"),
        ({"text": "\ud800"}, "UTF-8"),
    ],
)
def test_payloads_that_cannot_be_logged_canonically_are_refused(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int], payload: dict, message: str
) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log, pytest.raises(AuditPayloadError, match=message):
        log.append("request", payload)


@pytest.mark.parametrize("kind", ["", "Request", "has space", "x" * 33, 7])
def test_kinds_must_be_short_lowercase_identifiers(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int], kind: object
) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log, pytest.raises(AuditPayloadError):
        log.append(kind, {})  # type: ignore[arg-type]


def test_entry_kind_constants_are_accepted(log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        for kind in EntryKind:
            assert log.append(kind, {}).kind == kind.value


def test_reopening_resumes_the_chain(log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        for i in range(3):
            log.append("request", {"i": i})
        last = log.last_hash
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        assert log.next_seq == 3
        entry = log.append("request", {"i": 3})
    assert entry.seq == 3
    assert entry.prev_hash == last
    assert verify(log_path, key.public_key())


def test_reopening_without_any_signed_head_walks_and_resumes(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    log = AuditLog.open(log_path, signing_key=key, clock=clock)
    log.append("request", {})
    log.close(sign=False)
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        assert log.unsigned_entries == 1
        assert log.append("request", {}).seq == 1


def test_a_second_writer_is_refused(log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock), pytest.raises(AuditLockedError):
        AuditLog.open(log_path, signing_key=key, clock=clock)
    AuditLog.open(log_path, signing_key=key, clock=clock).close()


def test_reopening_with_another_key_is_refused(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        log.append("request", {})
    with pytest.raises(AuditKeyMismatch):
        AuditLog.open(log_path, signing_key=Ed25519PrivateKey.generate(), clock=clock)


def test_close_signs_the_head_by_default(log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]) -> None:
    log = AuditLog.open(log_path, signing_key=key, clock=clock)
    log.append("request", {})
    assert log.unsigned_entries == 1
    log.close()
    result = verify(log_path, key.public_key())
    assert result.head is not None
    assert result.head.seq == 0
    with pytest.raises(AuditError, match="closed"):
        log.append("request", {})


def test_empty_log_head_can_be_signed_and_verifies(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        head = log.sign_head()
    assert (head.seq, head.hash) == (-1, GENESIS_HASH)
    assert verify(log_path, key.public_key())


def test_a_failed_write_is_rolled_back_and_the_log_refuses_further_appends(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog.open(log_path, signing_key=key, clock=clock)
    log.append("request", {"i": 0})
    size = log_path.stat().st_size

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(AuditWriteError, match="Input/output error"):
        log.append("request", {"i": 1})
    monkeypatch.undo()
    assert log_path.stat().st_size == size
    with pytest.raises(AuditWriteError, match="refuses appends"):
        log.append("request", {"i": 2})
    log.close()
    assert verify(log_path, key.public_key(), require_head=False)


def test_a_deferred_entry_is_fsynced_by_the_next_synced_append_sync_or_head(
    log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(log_module.os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        synced.clear()
        log.append("request", {"i": 1})
        assert len(synced) == 1
        log.append("outcome", {"i": 1}, sync=False)
        assert len(synced) == 1  # written, not yet fsynced
        assert len(_lines(log_path)) == 2  # but already in the file, in order
        log.append("request", {"i": 2})  # one fsync covers both
        assert len(synced) == 2
        assert log.sync() is False  # nothing pending
        log.append("outcome", {"i": 2}, sync=False)
        assert log.sync() is True
        log.append("outcome", {"i": 3}, sync=False)
        before = len(synced)
        log.sign_head()  # the log first, then the heads file
        assert len(synced) == before + 2
    assert verify(log_path, key.public_key())
