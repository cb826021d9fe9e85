from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.custody.audit import AuditLog, Problem, SignedHead, canonical_json, heads_path_for, verify
from bastion.custody.audit._canonical import entry_hash


def build_log(path: Path, key: Ed25519PrivateKey, n: int, *, sign_every: int = 0, sign_at_end: bool = True) -> None:
    ticks = itertools.count(1_700_000_000_000)
    log = AuditLog.open(path, signing_key=key, clock=lambda: next(ticks))
    for i in range(n):
        kind = ("request", "outcome", "denial")[i % 3]
        log.append(kind, {"i": i, "symbol": "BTC/USDT", "amount": Decimal("0.001"), "tags": ["dca", i % 7]})
        if sign_every and (i + 1) % sign_every == 0:
            log.sign_head()
    log.close(sign=sign_at_end)


def read_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def rewrite_entry(line: bytes, **changes: object) -> bytes:
    obj = json.loads(line)
    obj.update(changes)
    return canonical_json(obj) + b"\n"


@pytest.fixture
def signed_log(tmp_path: Path, key: Ed25519PrivateKey) -> Path:
    path = tmp_path / "audit.jsonl"
    build_log(path, key, 50, sign_every=10)
    return path


def assert_fails(
    path: Path,
    key: Ed25519PrivateKey | None,
    problem: Problem,
    *,
    line: int | None = None,
    seq: int | None = None,
) -> None:
    result = verify(path, key.public_key() if key is not None else None)
    assert not result
    assert result.failure is not None
    assert result.failure.problem is problem, str(result)
    if line is not None:
        assert result.failure.line == line, str(result)
    if seq is not None:
        assert result.failure.seq == seq, str(result)


def test_an_intact_log_of_thousands_of_entries_verifies(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "audit.jsonl"
    build_log(path, key, 3000, sign_every=500)
    result = verify(path, key.public_key())
    assert result, str(result)
    assert result.entries == 3000
    assert result.heads == 6
    assert result.head is not None
    assert result.head.seq == 2999
    assert result.unsigned_entries == 0
    assert result.key_pinned
    assert "OK: 3000 entries" in str(result)


def test_entries_after_the_latest_head_are_reported_unsigned(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    path = tmp_path / "audit.jsonl"
    build_log(path, key, 25, sign_every=10, sign_at_end=False)
    result = verify(path, key.public_key())
    assert result
    assert result.unsigned_entries == 5


def test_editing_a_payload_field_fails_at_that_line(signed_log: Path, key: Ed25519PrivateKey) -> None:
    lines = read_lines(signed_log)
    obj = json.loads(lines[17])
    obj["payload"]["amount"] = "1000"
    lines[17] = canonical_json(obj) + b"\n"
    write_lines(signed_log, lines)
    assert_fails(signed_log, key, Problem.HASH_MISMATCH, line=18, seq=17)


def test_editing_a_hash_fails_at_that_line(signed_log: Path, key: Ed25519PrivateKey) -> None:
    lines = read_lines(signed_log)
    lines[30] = rewrite_entry(lines[30], hash="f" * 64)
    write_lines(signed_log, lines)
    assert_fails(signed_log, key, Problem.HASH_MISMATCH, line=31, seq=30)


def test_deleting_a_middle_entry_is_a_seq_gap(signed_log: Path, key: Ed25519PrivateKey) -> None:
    lines = read_lines(signed_log)
    del lines[20]
    write_lines(signed_log, lines)
    assert_fails(signed_log, key, Problem.SEQ_MISMATCH, line=21, seq=21)


def test_swapping_two_entries_is_detected(signed_log: Path, key: Ed25519PrivateKey) -> None:
    lines = read_lines(signed_log)
    lines[5], lines[6] = lines[6], lines[5]
    write_lines(signed_log, lines)
    assert_fails(signed_log, key, Problem.SEQ_MISMATCH, line=6, seq=6)


def test_removing_the_tail_after_a_signed_head_is_detected(signed_log: Path, key: Ed25519PrivateKey) -> None:
    write_lines(signed_log, read_lines(signed_log)[:45])  # clean cut at a line boundary
    result = verify(signed_log, key.public_key())
    assert result.failure is not None
    assert result.failure.problem is Problem.LOG_TRUNCATED
    assert result.failure.path == heads_path_for(signed_log)
    assert "5 signed entries were removed" in result.failure.detail


def test_deleting_the_last_entries_and_their_heads_is_caught_by_an_earlier_head(
    signed_log: Path, key: Ed25519PrivateKey
) -> None:
    # Attacker removes entries 40..49 and the head that covered them; the head at seq 39 remains.
    write_lines(signed_log, read_lines(signed_log)[:38])
    heads = heads_path_for(signed_log)
    write_lines(heads, read_lines(heads)[:4])
    assert_fails(signed_log, key, Problem.LOG_TRUNCATED, line=4, seq=39)


def test_a_partial_last_line_is_detected(signed_log: Path, key: Ed25519PrivateKey) -> None:
    data = signed_log.read_bytes()
    signed_log.write_bytes(data[:-20])
    assert_fails(signed_log, key, Problem.TRUNCATED_LINE, line=50)


def test_a_forged_head_signature_is_detected(signed_log: Path, key: Ed25519PrivateKey) -> None:
    heads = heads_path_for(signed_log)
    lines = read_lines(heads)
    obj = json.loads(lines[2])
    obj["signature"] = ("0" if obj["signature"][0] != "0" else "1") + obj["signature"][1:]
    lines[2] = canonical_json(obj) + b"\n"
    write_lines(heads, lines)
    assert_fails(signed_log, key, Problem.BAD_SIGNATURE, line=3, seq=29)


def test_heads_signed_by_another_key_fail_against_the_pinned_key(signed_log: Path, key: Ed25519PrivateKey) -> None:
    attacker = Ed25519PrivateKey.generate()
    heads = heads_path_for(signed_log)
    forged, prev = [], "0" * 64
    for line in read_lines(heads):
        fields = {k: v for k, v in json.loads(line).items() if k != "type"}
        fields.update(prev_head=prev, public_key=attacker.public_key().public_bytes_raw().hex())
        unsigned = SignedHead(**fields)
        head = replace(unsigned, signature=attacker.sign(unsigned.message()).hex())
        forged.append(head.to_line())
        prev = head.digest()
    write_lines(heads, forged)
    assert_fails(signed_log, key, Problem.KEY_MISMATCH, line=1)
    unpinned = verify(signed_log)  # self-consistent, so only pinning the key catches it
    assert unpinned
    assert not unpinned.key_pinned
    assert unpinned.public_key == attacker.public_key().public_bytes_raw().hex()


def test_rewriting_an_entry_and_rehashing_the_rest_is_caught_by_the_signed_head(
    signed_log: Path, key: Ed25519PrivateKey
) -> None:
    lines = read_lines(signed_log)
    prev = json.loads(lines[11])["prev_hash"]
    for i in range(11, len(lines)):
        obj = json.loads(lines[i])
        if i == 11:
            obj["payload"]["amount"] = "999"
        obj["prev_hash"] = prev
        body = {k: v for k, v in obj.items() if k != "hash"}
        obj["hash"] = prev = entry_hash(prev, canonical_json(body))
        lines[i] = canonical_json(obj) + b"\n"
    write_lines(signed_log, lines)
    assert_fails(signed_log, key, Problem.HEAD_MISMATCH, line=2, seq=19)


def test_a_whitespace_only_edit_is_detected_as_non_canonical(signed_log: Path, key: Ed25519PrivateKey) -> None:
    lines = read_lines(signed_log)
    lines[3] = lines[3].replace(b'"seq":', b'"seq": ')
    write_lines(signed_log, lines)
    assert_fails(signed_log, key, Problem.NON_CANONICAL, line=4)


def test_removing_an_earlier_head_breaks_the_head_chain(signed_log: Path, key: Ed25519PrivateKey) -> None:
    heads = heads_path_for(signed_log)
    lines = read_lines(heads)
    del lines[1]
    write_lines(heads, lines)
    assert_fails(signed_log, key, Problem.HEAD_CHAIN, line=2, seq=29)


def test_removing_the_latest_head_leaves_its_entries_reported_as_unsigned(
    signed_log: Path, key: Ed25519PrivateKey
) -> None:
    heads = heads_path_for(signed_log)
    write_lines(heads, read_lines(heads)[:-1])
    result = verify(signed_log, key.public_key())
    assert result
    assert result.unsigned_entries == 10


def test_a_deleted_heads_file_is_a_missing_head(signed_log: Path, key: Ed25519PrivateKey) -> None:
    heads_path_for(signed_log).unlink()
    assert_fails(signed_log, key, Problem.MISSING_HEAD)
    assert verify(signed_log, key.public_key(), require_head=False)


def test_a_missing_log_is_reported(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    assert_fails(tmp_path / "nope.jsonl", key, Problem.MISSING_FILE)


def test_verify_reports_the_first_problem_only(signed_log: Path, key: Ed25519PrivateKey) -> None:
    lines = read_lines(signed_log)
    lines[40] = rewrite_entry(lines[40], kind="denial")
    lines[10] = rewrite_entry(lines[10], ts_ms=1)
    write_lines(signed_log, lines)
    assert_fails(signed_log, key, Problem.HASH_MISMATCH, line=11)


# ---------------------------------------------------------------- property: any edit fails

_PRISTINE: dict[str, tuple[bytes, bytes, bytes]] = {}


def _pristine(base: Path) -> tuple[bytes, bytes, bytes]:
    if "log" not in _PRISTINE:
        key = Ed25519PrivateKey.generate()
        path = base / "pristine.jsonl"
        build_log(path, key, 12, sign_every=4)
        _PRISTINE["log"] = (path.read_bytes(), heads_path_for(path).read_bytes(), key.public_key().public_bytes_raw())
    return _PRISTINE["log"]


@pytest.fixture(scope="module")
def pristine_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pristine")


def _check_edit(base: Path, target: str, edit: Callable[[list[bytes]], None], label: str) -> None:
    log_bytes, heads_bytes, public = _pristine(base)
    work = base / label
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    log_lines = log_bytes.splitlines(keepends=True)
    heads_lines = heads_bytes.splitlines(keepends=True)
    edit(log_lines if target == "log" else heads_lines)
    (work / "audit.jsonl").write_bytes(b"".join(log_lines))
    (work / "audit.heads.jsonl").write_bytes(b"".join(heads_lines))
    if b"".join(log_lines) == log_bytes and b"".join(heads_lines) == heads_bytes:
        return  # the edit was a no-op
    result = verify(work / "audit.jsonl", public)
    if heads_lines == heads_bytes.splitlines(keepends=True)[:-1]:
        # Removing the latest head cannot be detected from the files alone (see module docs):
        # its entries then show up as unsigned.
        assert result.unsigned_entries > 0
        return
    assert not result, f"{label} edit of {target} went unnoticed"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), target=st.sampled_from(["log", "heads"]))
def test_any_single_byte_change_in_either_file_fails_verify(
    pristine_dir: Path, data: st.DataObject, target: str
) -> None:
    log_bytes, heads_bytes, _ = _pristine(pristine_dir)
    n_lines = len((log_bytes if target == "log" else heads_bytes).splitlines())
    index = data.draw(st.integers(0, n_lines - 1), label="line")

    def edit(lines: list[bytes]) -> None:
        line = bytearray(lines[index])
        position = data.draw(st.integers(0, len(line) - 1), label="byte")
        line[position] ^= data.draw(st.integers(1, 255), label="xor")
        lines[index] = bytes(line)

    _check_edit(pristine_dir, target, edit, "flip")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), target=st.sampled_from(["log", "heads"]))
def test_any_single_line_replacement_deletion_or_duplication_fails_verify(
    pristine_dir: Path, data: st.DataObject, target: str
) -> None:
    log_bytes, heads_bytes, _ = _pristine(pristine_dir)
    n_lines = len((log_bytes if target == "log" else heads_bytes).splitlines())
    index = data.draw(st.integers(0, n_lines - 1), label="line")
    action = data.draw(st.sampled_from(["replace", "delete", "duplicate", "copy-other"]), label="action")

    def edit(lines: list[bytes]) -> None:
        if action == "replace":
            lines[index] = data.draw(st.text(max_size=80), label="new line").encode("utf-8", "surrogatepass") + b"\n"
        elif action == "delete":
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        else:
            other = data.draw(st.integers(0, n_lines - 1), label="other")
            lines[index] = lines[other]

    _check_edit(pristine_dir, target, edit, "line")
