from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.custody.audit import (
    EXPORT_FORMAT,
    AuditCorruptError,
    AuditLog,
    AuditTruncatedError,
    Problem,
    canonical_json,
    export,
    verify_export,
)


@pytest.fixture
def exported(tmp_path: Path, log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]) -> Path:
    with AuditLog.open(log_path, signing_key=key, clock=clock) as log:
        for i in range(30):
            log.append("request", {"i": i, "symbol": "ETH/BTC"})
        log.export(tmp_path / "export.jsonl")
    return tmp_path / "export.jsonl"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _expect(path: Path, key: Ed25519PrivateKey, problem: Problem) -> None:
    result = verify_export(path, key.public_key())
    assert result.failure is not None, str(result)
    assert result.failure.problem is problem, str(result)


def test_export_round_trip_verifies_with_only_the_file_and_the_key(
    exported: Path, log_path: Path, key: Ed25519PrivateKey
) -> None:
    result = verify_export(exported, key.public_key())
    assert result, str(result)
    assert result.entries == 30
    assert result.head is not None
    assert result.head.seq == 29
    assert result.key_pinned
    lines = _lines(exported)
    header, head = json.loads(lines[0]), json.loads(lines[-1])
    assert header == {
        "format": EXPORT_FORMAT,
        "public_key": key.public_key().public_bytes_raw().hex(),
        "type": "export",
        "version": 1,
    }
    assert head["type"] == "head"
    assert lines[1:-1] == _lines(log_path)  # entries byte-identical to the log


def test_export_without_a_key_trusts_the_embedded_one_and_says_so(exported: Path) -> None:
    result = verify_export(exported)
    assert result
    assert not result.key_pinned


def test_export_stops_at_the_latest_signed_head(
    tmp_path: Path, log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    log = AuditLog.open(log_path, signing_key=key, clock=clock)
    for i in range(5):
        log.append("request", {"i": i})
    log.sign_head()
    log.append("request", {"i": 5})  # unsigned
    log.close(sign=False)
    head = export(log_path, tmp_path / "out.jsonl", public_key=key.public_key())
    assert head.seq == 4
    result = verify_export(tmp_path / "out.jsonl", key.public_key())
    assert result
    assert result.entries == 5


def test_tampered_payload_in_an_export_fails(exported: Path, key: Ed25519PrivateKey) -> None:
    lines = _lines(exported)
    obj = json.loads(lines[10])
    obj["payload"]["symbol"] = "SCAM/BTC"
    lines[10] = canonical_json(obj) + b"\n"
    exported.write_bytes(b"".join(lines))
    _expect(exported, key, Problem.HASH_MISMATCH)


def test_a_forged_head_signature_in_an_export_fails(exported: Path, key: Ed25519PrivateKey) -> None:
    lines = _lines(exported)
    obj = json.loads(lines[-1])
    obj["signature"] = "00" * 64
    lines[-1] = canonical_json(obj) + b"\n"
    exported.write_bytes(b"".join(lines))
    _expect(exported, key, Problem.BAD_SIGNATURE)


def test_an_export_under_another_key_fails_against_the_pinned_key(exported: Path) -> None:
    result = verify_export(exported, Ed25519PrivateKey.generate().public_key())
    assert result.failure is not None
    assert result.failure.problem is Problem.KEY_MISMATCH
    assert result.failure.line == 1


def test_an_entry_appended_after_the_head_fails(exported: Path, key: Ed25519PrivateKey) -> None:
    lines = _lines(exported)
    exported.write_bytes(b"".join([*lines, lines[5]]))
    _expect(exported, key, Problem.ENTRY_AFTER_HEAD)


def test_entries_removed_before_the_head_fail(exported: Path, key: Ed25519PrivateKey) -> None:
    lines = _lines(exported)
    exported.write_bytes(b"".join([*lines[:-3], lines[-1]]))
    _expect(exported, key, Problem.LOG_TRUNCATED)


def test_a_missing_header_fails(exported: Path, key: Ed25519PrivateKey) -> None:
    exported.write_bytes(b"".join(_lines(exported)[1:]))
    _expect(exported, key, Problem.MALFORMED_LINE)


def test_a_missing_head_line_fails(exported: Path, key: Ed25519PrivateKey) -> None:
    exported.write_bytes(b"".join(_lines(exported)[:-1]))
    _expect(exported, key, Problem.MALFORMED_HEAD)


def test_export_refuses_a_log_that_does_not_verify(
    tmp_path: Path, exported: Path, log_path: Path, key: Ed25519PrivateKey
) -> None:
    lines = _lines(log_path)
    log_path.write_bytes(b"".join(lines[:20]))
    with pytest.raises(AuditTruncatedError) as info:
        export(log_path, tmp_path / "again.jsonl", public_key=key.public_key())
    assert info.value.result is not None
    assert not (tmp_path / "again.jsonl").exists()


def test_export_refuses_a_log_without_a_signed_head(
    tmp_path: Path, log_path: Path, key: Ed25519PrivateKey, clock: Callable[[], int]
) -> None:
    log = AuditLog.open(log_path, signing_key=key, clock=clock)
    log.append("request", {})
    log.close(sign=False)
    with pytest.raises(AuditCorruptError, match="no signed head"):
        export(log_path, tmp_path / "out.jsonl")
