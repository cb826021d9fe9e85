"""``bastion audit verify / export / verify-export``: exit 0 when intact, 1 naming the first bad entry, 2 misuse."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.cli.main import main
from bastion.custody.audit import AuditLog, SignedHead, canonical_json, heads_path_for
from bastion.custody.layout import HomeLayout
from bastion.custody.vault import SIGNER_KEY_BINDING, SealedSecret, Vault, load_signing_key

PASSPHRASE = "correct horse battery staple"
ENTRIES = 8  # heads signed after entry 3 and entry 7


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """A home made by `bastion vault init` (fast test KDF)."""
    home = tmp_path / "home"
    monkeypatch.setenv("BASTION_HOME", str(home))
    monkeypatch.setenv("BASTION_KDF_PROFILE", "test")
    monkeypatch.setenv("BASTION_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    code, _, err = run(capsys, "vault", "init")
    assert code == 0, err
    monkeypatch.delenv("BASTION_PASSPHRASE")
    return home


@pytest.fixture
def layout(home: Path) -> HomeLayout:
    return HomeLayout(home)


@pytest.fixture
def signing_key(layout: HomeLayout) -> Ed25519PrivateKey:
    """The signer's key, unsealed the way the signer does it."""
    with (
        Vault.open(layout.home, PASSPHRASE) as vault,
        vault.unseal(SealedSecret.from_bytes(layout.signing_key.read_bytes()), SIGNER_KEY_BINDING) as raw,
    ):
        return load_signing_key(raw)


def open_log(layout: HomeLayout, key: Ed25519PrivateKey) -> AuditLog:
    ticks = itertools.count(1_700_000_000_000, 1000)
    return AuditLog.open(layout.audit_log, signing_key=key, clock=lambda: next(ticks))


def append(log: AuditLog, i: int) -> None:
    log.append("request", {"i": i, "symbol": "BTC/USDT", "amount": Decimal("0.001"), "side": "buy"})


@pytest.fixture
def signed_log(layout: HomeLayout, signing_key: Ed25519PrivateKey) -> Path:
    log = open_log(layout, signing_key)
    for i in range(ENTRIES):
        append(log, i)
        if i == 3:
            log.sign_head()
    log.close()  # signs the final head
    return layout.audit_log


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), " ".join(err.split())


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def write(path: Path, content: list[bytes]) -> None:
    path.write_bytes(b"".join(content))


# ------------------------------------------------------------------------------- verify


def test_verify_of_an_intact_log_prints_one_summary_line(
    signed_log: Path, layout: HomeLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "audit", "verify")
    assert code == 0, err
    public = layout.public_key.read_text().strip()
    assert out == (
        f"audit log intact: {ENTRIES} entries in {signed_log}; last signed head seq 7 at 2023-11-14 22:13:29 UTC; "
        f"key {public[:16]}… (pinned from {layout.public_key})"
    )


def test_verify_accepts_the_key_as_hex_or_as_a_file(
    signed_log: Path, layout: HomeLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = layout.public_key.read_text().strip()
    code, out, _ = run(capsys, "audit", "verify", "--public-key", public)
    assert code == 0
    assert "(pinned from --public-key)" in out
    copy = tmp_path / "trusted.pub"
    copy.write_text(public.upper() + "\n")
    code, out, _ = run(capsys, "audit", "verify", "--public-key", str(copy))
    assert code == 0
    assert f"(pinned from {copy})" in out


def test_verify_reports_entries_after_the_last_head_as_unsigned(
    signed_log: Path, layout: HomeLayout, signing_key: Ed25519PrivateKey, capsys: pytest.CaptureFixture[str]
) -> None:
    log = open_log(layout, signing_key)
    append(log, 99)
    log.close(sign=False)
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 0
    assert f"{ENTRIES + 1} entries" in out
    assert "last signed head seq 7" in out
    assert "1 newer entries chained but not yet signed" in out


def _edit_one_payload_byte(log: Path) -> None:
    content = lines(log)
    content[2] = content[2].replace(b"BTC/USDT", b"BTC/USDX")
    write(log, content)


def _delete_a_middle_line(log: Path) -> None:
    content = lines(log)
    del content[3]
    write(log, content)


def _swap_two_lines(log: Path) -> None:
    content = lines(log)
    content[2], content[3] = content[3], content[2]
    write(log, content)


def _cut_the_last_entries(log: Path) -> None:
    write(log, lines(log)[:5])


def _delete_the_log(log: Path) -> None:
    log.unlink()


def _append_a_forged_entry(log: Path) -> None:
    last = json.loads(lines(log)[-1])
    forged = {**last, "seq": last["seq"] + 1, "prev_hash": last["hash"], "payload": {"symbol": "PUMP/USDT"}}
    write(log, [*lines(log), canonical_json(forged) + b"\n"])  # keeps the old hash: not recomputed


def _append_a_forged_head(log: Path) -> None:
    heads = heads_path_for(log)
    latest = SignedHead(**{k: v for k, v in json.loads(lines(heads)[-1]).items() if k != "type"})
    unsigned = replace(latest, ts_ms=latest.ts_ms + 1, prev_head=latest.digest())
    forged = replace(unsigned, signature=Ed25519PrivateKey.generate().sign(unsigned.message()).hex())
    write(heads, [*lines(heads), forged.to_line()])  # names the signer's key, signed by another


def _re_sign_everything_with_another_key(log: Path) -> None:
    log.unlink()
    heads_path_for(log).unlink()
    ticks = itertools.count(1_700_000_000_000)
    forged = AuditLog.open(log, signing_key=Ed25519PrivateKey.generate(), clock=lambda: next(ticks))
    for i in range(ENTRIES):
        append(forged, i)
    forged.close()


TAMPERING = [
    pytest.param(_edit_one_payload_byte, "audit.jsonl, line 3, seq 2: hash_mismatch", id="edit-one-byte"),
    pytest.param(_delete_a_middle_line, "audit.jsonl, line 4, seq 4: seq_mismatch", id="delete-middle-line"),
    pytest.param(_swap_two_lines, "audit.jsonl, line 3, seq 3: seq_mismatch", id="reorder"),
    pytest.param(_cut_the_last_entries, "audit.heads.jsonl, line 2, seq 7: log_truncated", id="truncate-tail"),
    pytest.param(_delete_the_log, "audit.jsonl: missing_file", id="delete-log"),
    pytest.param(_append_a_forged_entry, f"audit.jsonl, line 9, seq {ENTRIES}: hash_mismatch", id="forged-entry"),
    pytest.param(_append_a_forged_head, "audit.heads.jsonl, line 3, seq 7: bad_signature", id="forged-head"),
    pytest.param(
        _re_sign_everything_with_another_key,
        "audit.heads.jsonl, line 1, seq 7: key_mismatch",
        id="re-signed-with-another-key",
    ),
]


@pytest.mark.parametrize(("tamper", "expected"), TAMPERING)
def test_verify_names_the_first_bad_entry_after_tampering(
    signed_log: Path, capsys: pytest.CaptureFixture[str], tamper: object, expected: str
) -> None:
    assert callable(tamper)
    tamper(signed_log)
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 1
    assert out.startswith("audit log FAILED verification at file ")
    assert expected in out


def test_verify_fails_when_the_pinned_public_key_is_replaced(
    signed_log: Path, layout: HomeLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    layout.public_key.write_text(other + "\n")
    code, out, _ = run(capsys, "audit", "verify")
    assert code == 1
    assert "audit.heads.jsonl, line 1, seq 3: key_mismatch" in out
    assert f"expected {other[:16]}…" in out


def test_verify_without_a_log_is_a_usage_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "audit", "verify")
    assert code == 2
    assert "error: no audit log at" in err


@pytest.mark.parametrize("value", ["abc123", "not/a/file.pub"])
def test_verify_with_an_unusable_public_key_option_is_a_usage_error(
    signed_log: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    code, _, err = run(capsys, "audit", "verify", "--public-key", value)
    assert code == 2
    assert "is neither 64 hex characters nor an existing file" in err


def test_verify_without_a_public_key_file_is_a_usage_error(
    signed_log: Path, layout: HomeLayout, capsys: pytest.CaptureFixture[str]
) -> None:
    layout.public_key.unlink()
    code, _, err = run(capsys, "audit", "verify")
    assert code == 2
    assert "or pass --public-key HEX_OR_PATH" in err


def test_verify_and_export_work_while_the_signer_holds_the_log_open(
    signed_log: Path,
    layout: HomeLayout,
    signing_key: Ed25519PrivateKey,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = open_log(layout, signing_key)  # holds the writer's flock
    try:
        append(log, 100)
        code, out, err = run(capsys, "audit", "verify")
        assert code == 0, out + err
        assert "1 newer entries chained but not yet signed" in out
        code, out, err = run(capsys, "audit", "export", str(tmp_path / "export.jsonl"))
        assert code == 0, out + err
        append(log, 101)
    finally:
        log.close()
    code, out, _ = run(capsys, "audit", "verify-export", str(tmp_path / "export.jsonl"))
    assert code == 0
    assert f"export intact: {ENTRIES} entries" in out


# ------------------------------------------------------------------------------- export


@pytest.fixture
def exported(signed_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out_file = tmp_path / "audit-export.jsonl"
    code, out, err = run(capsys, "audit", "export", str(out_file))
    assert code == 0, err
    assert out.startswith(f"wrote {out_file}: {ENTRIES} entries (seq 0 to 7)")
    return out_file


def test_export_says_how_a_third_party_verifies_it(
    signed_log: Path, layout: HomeLayout, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "x.jsonl"
    code, out, _ = run(capsys, "audit", "export", str(out_file))
    assert code == 0
    public = layout.public_key.read_text().strip()
    assert f"bastion audit verify-export {out_file} --public-key {public}" in out
    assert len(lines(out_file)) == 1 + ENTRIES + 1  # header, entries, signed head


def test_export_round_trip_verifies(exported: Path, layout: HomeLayout, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", "verify-export", str(exported))
    assert code == 0
    assert out.startswith(f"export intact: {ENTRIES} entries in {exported}; last signed head seq 7 at ")
    public = layout.public_key.read_text().strip()
    code, out, _ = run(capsys, "audit", "verify-export", str(exported), "--public-key", public)
    assert code == 0
    assert "(pinned from --public-key)" in out


def _export_edit_one_byte(path: Path) -> None:
    content = lines(path)
    content[3] = content[3].replace(b'"side":"buy"', b'"side":"buz"')
    write(path, content)


def _export_drop_the_head(path: Path) -> None:
    write(path, lines(path)[:-1])


def _export_drop_an_entry(path: Path) -> None:
    content = lines(path)
    del content[4]
    write(path, content)


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        pytest.param(_export_edit_one_byte, "line 4, seq 2: hash_mismatch", id="edit-one-byte"),
        pytest.param(_export_drop_the_head, "line 9: malformed_head", id="head-removed"),
        pytest.param(_export_drop_an_entry, "line 5, seq 4: seq_mismatch", id="entry-removed"),
    ],
)
def test_verify_export_fails_on_a_tampered_export(
    exported: Path, capsys: pytest.CaptureFixture[str], tamper: object, expected: str
) -> None:
    assert callable(tamper)
    tamper(exported)
    code, out, _ = run(capsys, "audit", "verify-export", str(exported))
    assert code == 1
    assert out.startswith("export FAILED verification at file ")
    assert expected in out


def test_verify_export_with_another_key_fails(exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = Ed25519PrivateKey.generate().public_key().public_bytes_raw().hex()
    code, out, _ = run(capsys, "audit", "verify-export", str(exported), "--public-key", other)
    assert code == 1
    assert "line 1: key_mismatch" in out


def test_export_of_a_tampered_log_exits_1_and_writes_nothing(
    signed_log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _swap_two_lines(signed_log)
    out_file = tmp_path / "export.jsonl"
    code, out, _ = run(capsys, "audit", "export", str(out_file))
    assert code == 1
    assert "seq_mismatch" in out
    assert not out_file.exists()


def test_export_refuses_to_overwrite_the_log_itself(signed_log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = signed_log.read_bytes()
    code, _, err = run(capsys, "audit", "export", str(signed_log))
    assert code == 2
    assert "is one of Bastion's own files" in err
    assert signed_log.read_bytes() == before


def test_verify_export_of_a_missing_file_is_a_usage_error(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "audit", "verify-export", str(tmp_path / "nope.jsonl"))
    assert code == 2
    assert "no export file at" in err
