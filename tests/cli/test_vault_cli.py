"""``bastion vault init`` and ``bastion vault passwd``: files, modes, re-wrapping, refusals that change nothing."""

from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc

from bastion.cli import _prompt
from bastion.cli._prompt import read_passphrase, signer_is_running
from bastion.cli.main import main
from bastion.custody.layout import HomeLayout
from bastion.custody.vault import (
    SIGNER_KEY_BINDING,
    SealedSecret,
    SecretBinding,
    Vault,
    WrongPassphrase,
    load_signing_key,
)
from bastion.errors import ValidationError
from bastion.services import vault as service
from bastion.storage import (
    AccountRepository,
    ApiKeyRepository,
    create_engine_for,
    current_revision,
    head_revision,
    session_factory,
)

OLD = "correct horse battery staple"
NEW = "purple monkey dishwasher 42"
COLUMNS = ("sealed_api_key", "sealed_secret", "sealed_password")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Bastion home with the fast test KDF and no passphrase in the environment."""
    home = tmp_path / "home"
    monkeypatch.setenv("BASTION_HOME", str(home))
    monkeypatch.setenv("BASTION_KDF_PROFILE", "test")
    for name in ("BASTION_DATABASE_URL", "BASTION_PASSPHRASE", "BASTION_NEW_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    return home


def run(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    passphrase: str | None = None,
    new: str | None = None,
) -> tuple[int, str, str]:
    for name, value in (("BASTION_PASSPHRASE", passphrase), ("BASTION_NEW_PASSPHRASE", new)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    try:
        main(["vault", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), " ".join(err.split())  # rich wraps long lines


def snapshot(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file()}


def init(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, passphrase: str = OLD) -> None:
    code, _, err = run(capsys, monkeypatch, "init", passphrase=passphrase)
    assert code == 0, err


def add_api_keys(home: Path, passphrase: str) -> dict[tuple[str, str], str]:
    """Store two accounts' keys sealed by the vault; return (key_id, column) -> plaintext."""
    plain: dict[tuple[str, str], str] = {}
    engine = create_engine_for(f"sqlite:///{home / 'bastion.db'}")
    try:
        with Vault.open(home, passphrase) as vault, session_factory(engine).begin() as session:
            for name, exchange, has_password in (("alice", "binance", True), ("bob", "kucoin", False)):
                account = AccountRepository(session).create(name, exchange)
                key_id = f"key-{name}"
                binding = SecretBinding(account=name, exchange=exchange, key_id=key_id, version=1)
                blobs: dict[str, bytes | None] = dict.fromkeys(COLUMNS)
                for column in COLUMNS if has_password else COLUMNS[:2]:
                    plain[(key_id, column)] = f"{name}-{column}-{os.urandom(8).hex()}"
                    blobs[column] = vault.seal(plain[(key_id, column)], binding).to_bytes()
                api_key, secret = blobs["sealed_api_key"], blobs["sealed_secret"]
                assert api_key is not None
                assert secret is not None
                ApiKeyRepository(session).add(
                    account_id=account.id,
                    key_id=key_id,
                    version=1,
                    exchange=exchange,
                    url=None,
                    key_hint="abcd",
                    fingerprint="0" * 64,
                    sealed_api_key=api_key,
                    sealed_secret=secret,
                    sealed_password=blobs["sealed_password"],
                    allow_unrestricted_ip=False,
                    permissions=None,
                )
    finally:
        engine.dispose()
    return plain


def stored_sealed(home: Path) -> dict[tuple[str, str], SealedSecret]:
    engine = create_engine_for(f"sqlite:///{home / 'bastion.db'}")
    try:
        with session_factory(engine)() as session:
            records = ApiKeyRepository(session).all()
    finally:
        engine.dispose()
    return {
        (r.key_id, column): SealedSecret.from_bytes(getattr(r, column))
        for r in records
        for column in COLUMNS
        if getattr(r, column) is not None
    }


def unsealed(vault: Vault, sealed: dict[tuple[str, str], SealedSecret]) -> dict[tuple[str, str], str]:
    out = {}
    for slot, record in sealed.items():
        with vault.unseal(record, record.binding) as secret:
            out[slot] = secret.reveal_str()
    return out


# ------------------------------------------------------------------------------- init


def test_init_creates_header_sealed_signing_key_public_key_and_database(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(capsys, monkeypatch, "init", passphrase=OLD)
    assert code == 0, err
    layout = HomeLayout(home)
    for path in (layout.vault_header, layout.signing_key, layout.public_key):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    public_hex = layout.public_key.read_text()
    assert public_hex.endswith("\n")
    assert len(public_hex.strip()) == 64
    with (
        Vault.open(home, OLD) as vault,
        vault.unseal(SealedSecret.from_bytes(layout.signing_key.read_bytes()), SIGNER_KEY_BINDING) as raw,
    ):
        key = load_signing_key(raw)
    assert key.public_key().public_bytes_raw().hex() == public_hex.strip()
    assert layout.audit_dir.is_dir()
    assert current_revision(f"sqlite:///{home / 'bastion.db'}") == head_revision()
    assert f"vault created in {home}" in out
    assert "argon2id, 8 KiB memory, t=1, p=1" in out
    assert public_hex.strip() in out
    assert OLD not in out + err


def test_init_refuses_an_existing_vault_and_changes_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, monkeypatch)
    before = snapshot(home)
    code, _, err = run(capsys, monkeypatch, "init", passphrase=NEW)
    assert code == 2
    assert "a vault already exists in" in err
    assert "refusing to overwrite it" in err
    assert snapshot(home) == before


def test_init_refuses_a_leftover_signing_key_without_a_header(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir()
    (home / "signer-key.sealed").write_bytes(b"left over")
    code, _, err = run(capsys, monkeypatch, "init", passphrase=OLD)
    assert code == 2
    assert "signer-key.sealed" in err
    assert not (home / "vault.json").exists()


def test_init_refuses_a_short_passphrase(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, monkeypatch, "init", passphrase="too short")
    assert code == 2
    assert "shorter than 12 characters" in err
    assert "too short" not in err
    assert not (home / "vault.json").exists()


def test_init_without_a_terminal_or_variable_says_what_to_do(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, monkeypatch, "init")
    assert code == 2
    assert "set BASTION_PASSPHRASE or run the command in a terminal" in err
    assert not (home / "vault.json").exists()


# ------------------------------------------------------------------------------- passwd


def test_passwd_rewraps_every_secret_and_keeps_the_ciphertexts(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, monkeypatch)
    plain = add_api_keys(home, OLD)
    layout = HomeLayout(home)
    before = stored_sealed(home)
    signing_before = SealedSecret.from_bytes(layout.signing_key.read_bytes())

    code, out, err = run(capsys, monkeypatch, "passwd", passphrase=OLD, new=NEW)

    assert code == 0, err
    assert "re-wrapped 6 sealed secrets (the audit-signing key and 5 secrets of 2 API keys)" in out
    assert "ciphertexts were not re-encrypted" in out
    assert OLD not in out + err
    assert NEW not in out + err
    with pytest.raises(WrongPassphrase):
        Vault.open(home, OLD)
    after = stored_sealed(home)
    signing_after = SealedSecret.from_bytes(layout.signing_key.read_bytes())
    assert after.keys() == before.keys() == plain.keys()
    for slot, record in after.items():
        assert (record.ciphertext, record.nonce) == (before[slot].ciphertext, before[slot].nonce)
        assert record.wrapped_key != before[slot].wrapped_key
    assert (signing_after.ciphertext, signing_after.nonce) == (signing_before.ciphertext, signing_before.nonce)
    with Vault.open(home, NEW) as vault:
        assert unsealed(vault, after) == plain
        with vault.unseal(signing_after, SIGNER_KEY_BINDING) as raw:
            public = load_signing_key(raw).public_key().public_bytes_raw().hex()
    assert public == layout.public_key.read_text().strip()
    assert not (home / "vault.json.prev").exists()
    assert not service.pending_signing_key_path(layout).exists()
    assert stat.S_IMODE(layout.signing_key.stat().st_mode) == 0o600


def test_passwd_without_api_keys_rewraps_the_signing_key(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, monkeypatch)
    code, out, err = run(capsys, monkeypatch, "passwd", passphrase=OLD, new=NEW)
    assert code == 0, err
    assert "re-wrapped 1 sealed secret (the audit-signing key; no API keys are stored)" in out
    with Vault.open(home, NEW) as vault:
        signing = SealedSecret.from_bytes(HomeLayout(home).signing_key.read_bytes())
        with vault.unseal(signing, SIGNER_KEY_BINDING) as raw:
            assert len(raw) == 32


def test_passwd_with_a_wrong_current_passphrase_exits_2_and_changes_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, monkeypatch)
    add_api_keys(home, OLD)
    before = snapshot(home)
    code, _, err = run(capsys, monkeypatch, "passwd", passphrase="not the passphrase", new=NEW)
    assert code == 2
    assert "the passphrase does not unlock the vault" in err
    assert "not the passphrase" not in err
    assert snapshot(home) == before


def test_passwd_refuses_the_same_passphrase_again(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, monkeypatch)
    before = snapshot(home)
    code, _, err = run(capsys, monkeypatch, "passwd", passphrase=OLD, new=OLD)
    assert code == 2
    assert "the same as the current one" in err
    assert snapshot(home) == before


def test_passwd_without_a_vault_says_to_create_one(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, monkeypatch, "passwd", passphrase=OLD, new=NEW)
    assert code == 2
    assert "bastion vault init" in err


@pytest.fixture
def short_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home with a short path: a Unix socket path holds at most 107 bytes."""
    base = Path(tempfile.mkdtemp(prefix="bst", dir="/tmp"))
    home = base / "h"
    monkeypatch.setenv("BASTION_HOME", str(home))
    monkeypatch.setenv("BASTION_KDF_PROFILE", "test")
    monkeypatch.delenv("BASTION_DATABASE_URL", raising=False)
    yield home
    shutil.rmtree(base, ignore_errors=True)


def test_passwd_is_refused_while_the_signer_listens(
    short_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, monkeypatch)
    layout = HomeLayout(short_home)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(layout.socket))
        server.listen(1)
        before = snapshot(short_home)
        code, _, err = run(capsys, monkeypatch, "passwd", passphrase=OLD, new=NEW)
    assert code == 2
    assert "the signer is running" in err
    assert "stop it first" in err
    assert snapshot(short_home) == before
    with Vault.open(short_home, OLD):
        pass


def test_a_socket_file_nobody_listens_on_is_not_a_running_signer(short_home: Path) -> None:
    layout = HomeLayout(short_home)
    short_home.mkdir()
    assert not signer_is_running(layout)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as stale:
        stale.bind(str(layout.socket))  # bound, never listening: what a crashed signer leaves
        assert not signer_is_running(layout)
        stale.listen(1)
        assert signer_is_running(layout)


def test_passwd_rolls_back_when_the_database_write_fails(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, monkeypatch)
    plain = add_api_keys(home, OLD)
    layout = HomeLayout(home)
    before = stored_sealed(home)
    signing_before = layout.signing_key.read_bytes()
    header_before = layout.vault_header.read_bytes()

    def fail(*_args: object, **_kwargs: object) -> None:
        raise sa_exc.OperationalError("UPDATE api_keys", {}, Exception("disk I/O error"))

    monkeypatch.setattr(ApiKeyRepository, "replace_sealed", fail)
    code, _, err = run(capsys, monkeypatch, "passwd", passphrase=OLD, new=NEW)

    assert code == 2
    assert "disk I/O error" in err
    assert "rolled back, the current passphrase still opens the vault" in err
    assert layout.vault_header.read_bytes() == header_before
    assert layout.signing_key.read_bytes() == signing_before
    assert not (home / "vault.json.prev").exists()
    assert not service.pending_signing_key_path(layout).exists()
    with Vault.open(home, OLD) as vault:
        assert unsealed(vault, stored_sealed(home)) == plain
    assert stored_sealed(home) == before


def _interrupt_after_rewrap(home: Path, *, commit: bool) -> None:
    """Do passwd's first steps by hand and stop, as a crash would, before (or after) the commit."""
    layout = HomeLayout(home)
    signing = SealedSecret.from_bytes(layout.signing_key.read_bytes())
    sealed = stored_sealed(home)
    with Vault.open(home, OLD) as vault:
        slots = list(sealed)
        new_signing, *new_rows = vault.rewrap(NEW, [signing, *sealed.values()])
    service.pending_signing_key_path(layout).write_bytes(new_signing.to_bytes())
    if not commit:
        return
    by_key: dict[str, dict[str, bytes | None]] = {}
    for (key_id, column), record in zip(slots, new_rows, strict=True):
        by_key.setdefault(key_id, dict.fromkeys(COLUMNS))[column] = record.to_bytes()
    engine = create_engine_for(f"sqlite:///{home / 'bastion.db'}")
    try:
        with session_factory(engine).begin() as session:
            for key_id, blobs in by_key.items():
                api_key, secret = blobs["sealed_api_key"], blobs["sealed_secret"]
                assert api_key is not None
                assert secret is not None
                ApiKeyRepository(session).replace_sealed(
                    key_id, sealed_api_key=api_key, sealed_secret=secret, sealed_password=blobs["sealed_password"]
                )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("committed", "opens", "note"),
    [(False, OLD, "was undone"), (True, NEW, "was completed")],
)
def test_passwd_first_finishes_a_change_a_crash_interrupted(
    home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    committed: bool,
    opens: str,
    note: str,
) -> None:
    init(capsys, monkeypatch)
    plain = add_api_keys(home, OLD)
    _interrupt_after_rewrap(home, commit=committed)
    newest = "a third passphrase, long enough"

    code, out, err = run(capsys, monkeypatch, "passwd", passphrase=opens, new=newest)

    assert code == 0, err
    assert f"an interrupted passphrase change {note}" in err
    assert "re-wrapped 6 sealed secrets" in out
    with Vault.open(home, newest) as vault:
        assert unsealed(vault, stored_sealed(home)) == plain
        signing = SealedSecret.from_bytes(HomeLayout(home).signing_key.read_bytes())
        with vault.unseal(signing, SIGNER_KEY_BINDING):
            pass


# ------------------------------------------------------------------------------- prompt


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_prompt_asks_twice_for_a_new_passphrase_and_refuses_a_mismatch(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, monkeypatch)
    before = snapshot(home)
    answers = iter([OLD, NEW, NEW + "!"])
    asked: list[str] = []

    def getpass(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(_prompt.getpass, "getpass", getpass)
    code, out, err = run(capsys, monkeypatch, "passwd")
    assert code == 2
    assert "the two entries of the new vault passphrase differ; nothing was changed" in err
    assert asked == ["Current vault passphrase: ", "New vault passphrase: ", "New vault passphrase (again): "]
    assert snapshot(home) == before
    assert NEW not in out + err


def test_prompt_prefers_the_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_PASSPHRASE", NEW)
    monkeypatch.setattr(_prompt.getpass, "getpass", lambda _prompt: pytest.fail("must not prompt"))
    assert read_passphrase(confirm=True, env="SOME_PASSPHRASE") == NEW


def test_prompt_refuses_an_empty_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BASTION_PASSPHRASE", raising=False)
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr(_prompt.getpass, "getpass", lambda _prompt: "")
    with pytest.raises(ValidationError, match="vault passphrase is empty"):
        read_passphrase()
