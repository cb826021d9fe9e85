"""Finding 7: the audit log has no unsigned tail, and an external witness catches an older copy.

Before: the head was signed every 30 s and at shutdown, so ``bastion audit verify`` right after
the signer started failed with ``missing_head``, and the entries after the last head could be cut
off unnoticed. Now every fsync of the log signs the head, and the signer sends its signed head to
the notification channel (at start, hourly, on every halt and panic) so that replacing both audit
files with an older copy is caught by ``bastion audit verify --witness SEQ:HASH``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from bastion.cli.main import main
from bastion.custody.audit import Problem, heads_path_for, verify
from bastion.custody.signer.service import SignerService
from support.inprocess_signer import OPERATOR, InProcessSigner, run
from support.sink import json_sink


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, " ".join((out + err).split())


def _requests(service: SignerService, n: int) -> None:
    for i in range(n):
        service._append("request", {"account": "alice", "op": "get_order", "params": {"n": i}})


def test_audit_verify_right_after_the_signer_started_succeeds(
    signer_home: InProcessSigner, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scenario() -> None:
        service = await signer_home.start()
        try:
            code, out = _cli(capsys, "audit", "verify")
            assert code == 0, out
            assert "audit log intact" in out
            assert "not yet signed" not in out
        finally:
            await signer_home.stop(service)

    run(scenario())


def test_cutting_the_latest_entries_of_a_running_signer_is_detected(signer_home: InProcessSigner) -> None:
    async def scenario() -> None:
        service = await signer_home.start()
        try:
            _requests(service, 3)
            log = service.layout.audit_log
            key = service.audit.public_key
            assert verify(log, key).unsigned_entries == 0
            lines = log.read_bytes().splitlines(keepends=True)
            log.write_bytes(b"".join(lines[:-1]))  # the attacker cuts the last request off
            result = verify(log, key)
            assert not result.ok
            assert result.failure is not None
            assert result.failure.problem is Problem.LOG_TRUNCATED
        finally:
            service.audit.close(sign=False)
            service.vault.close()

    run(scenario())


def _witnesses(received: list[tuple[str, dict[str, object]]]) -> list[str]:
    found = []
    for _path, body in received:
        match = re.search(r"--witness (\d+:[0-9a-f]{64})", str(body.get("message", "")))
        if match:
            found.append(match.group(1))
    return found


def test_a_log_replaced_by_an_older_copy_is_caught_with_the_witness(
    signer_home: InProcessSigner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    now = [1_800_000_000_000]
    signer_home.clock = lambda: now[0]
    with json_sink() as sink:
        monkeypatch.setenv("BASTION_NOTIFY_URLS", sink.url())

        async def scenario() -> None:
            service = await signer_home.start()
            log = service.layout.audit_log
            saved = tmp_path / "older"
            saved.mkdir()
            for path in (log, heads_path_for(log)):
                shutil.copy2(path, saved / path.name)  # the copy an attacker will put back
            try:
                _requests(service, 4)
                now[0] += 3_600_000
                await service.tick()  # an hour later: the hourly witness
                _requests(service, 2)
                await service.handle("panic", {}, OPERATOR)  # panic sends one too
            finally:
                await signer_home.stop(service)
            for path in (log, heads_path_for(log)):
                shutil.copy2(saved / path.name, path)

        run(scenario())
        witnesses = _witnesses(sink.received)
    assert len(witnesses) >= 3, sink.received  # at start, hourly, on panic
    code, out = _cli(capsys, "audit", "verify")
    assert code == 0, out  # the older copy verifies on its own: signatures cannot tell
    code, out = _cli(capsys, "audit", "verify", "--witness", witnesses[-1])
    assert code == 1, out
    assert "witness_mismatch" in out
    code, out = _cli(capsys, "audit", "verify", "--witness", witnesses[0])
    assert code == 0, out  # the start witness is in the older copy as well


def test_a_witness_that_is_not_seq_colon_hash_is_refused(
    signer_home: InProcessSigner, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scenario() -> None:
        service = await signer_home.start()
        await signer_home.stop(service)

    run(scenario())
    code, out = _cli(capsys, "audit", "verify", "--witness", "12-abc")
    assert code == 2, out
    assert "SEQ:HASH" in out
