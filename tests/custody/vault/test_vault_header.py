from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from bastion.custody.vault import (
    KdfParams,
    SecretBinding,
    Vault,
    VaultError,
    VaultExistsError,
    VaultFormatError,
    VaultNotFoundError,
    WrongPassphrase,
)
from bastion.custody.vault._files import write_file_atomic

PASSPHRASE = "correct horse battery staple"
BINDING = SecretBinding(account="alice", exchange="binance", key_id="key-1", version=1)


def _init(home: Path, passphrase: str = PASSPHRASE) -> Vault:
    return Vault.init(home, passphrase, kdf=KdfParams.test(), allow_weak_kdf=True)


def test_init_writes_a_0600_header_with_version_kdf_salt_and_verifier(tmp_path: Path) -> None:
    _init(tmp_path / "home").close()
    path = tmp_path / "home" / "vault.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    header = json.loads(path.read_text())
    assert header["format"] == "bastion-vault"
    assert header["version"] == 1
    assert len(header["kek_id"]) == 32
    kdf = header["kek"]["kdf"]
    assert header["kek"]["kind"] == "passphrase"
    assert kdf["name"] == "argon2id"
    assert len(base64.b64decode(kdf["salt"])) == 16
    assert base64.b64decode(header["verifier"])
    assert PASSPHRASE not in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == ["vault.json"]  # no temp file left behind


def test_init_refuses_to_overwrite_an_existing_vault(tmp_path: Path) -> None:
    _init(tmp_path).close()
    before = (tmp_path / "vault.json").read_bytes()
    with pytest.raises(VaultExistsError, match="refusing to overwrite"):
        _init(tmp_path, "another passphrase")
    assert (tmp_path / "vault.json").read_bytes() == before


def test_atomic_create_without_overwrite_loses_a_race_instead_of_replacing(tmp_path: Path) -> None:
    target = tmp_path / "vault.json"
    target.write_bytes(b"first")
    with pytest.raises(FileExistsError):
        write_file_atomic(target, b"second", overwrite=False)
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["vault.json"]


def test_open_with_the_right_passphrase_unlocks(tmp_path: Path) -> None:
    first = _init(tmp_path)
    with Vault.open(tmp_path, PASSPHRASE, allow_weak_kdf=True) as again:
        assert again.kek_id == first.kek_id


def test_wrong_passphrase_is_a_clear_error_and_changes_nothing(tmp_path: Path) -> None:
    _init(tmp_path).close()
    before = (tmp_path / "vault.json").read_bytes()
    with pytest.raises(WrongPassphrase, match="does not unlock") as info:
        Vault.open(tmp_path, "Correct horse battery staple", allow_weak_kdf=True)
    assert "horse" not in str(info.value)
    assert (tmp_path / "vault.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault.json"]


def test_open_without_a_vault_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(VaultNotFoundError, match=str(tmp_path)):
        Vault.open(tmp_path, PASSPHRASE)


@pytest.mark.parametrize("field", ["kek_id", "salt", "time_cost"])
def test_any_edit_to_the_header_fails_like_a_wrong_passphrase(tmp_path: Path, field: str) -> None:
    _init(tmp_path).close()
    path = tmp_path / "vault.json"
    header = json.loads(path.read_text())
    if field == "kek_id":
        header["kek_id"] = "0" * 32
    elif field == "salt":
        header["kek"]["kdf"]["salt"] = base64.b64encode(b"\x00" * 16).decode()
    else:
        header["kek"]["kdf"]["time_cost"] = 2
    path.write_text(json.dumps(header))
    with pytest.raises(WrongPassphrase):
        Vault.open(tmp_path, PASSPHRASE, allow_weak_kdf=True)


def test_header_writable_by_others_is_refused(tmp_path: Path) -> None:
    _init(tmp_path).close()
    os.chmod(tmp_path / "vault.json", 0o600 | stat.S_IWGRP)
    with pytest.raises(VaultFormatError, match="writable by group or others"):
        Vault.open(tmp_path, PASSPHRASE, allow_weak_kdf=True)


@pytest.mark.parametrize(
    "content", [b"not json", b"[]", b'{"format":"bastion-vault","version":2}'], ids=["garbage", "list", "version"]
)
def test_malformed_header_is_a_format_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "vault.json"
    path.write_bytes(content)
    os.chmod(path, 0o600)
    with pytest.raises(VaultFormatError):
        Vault.open(tmp_path, PASSPHRASE, allow_weak_kdf=True)


def test_closed_vault_refuses_use(vault: Vault) -> None:
    vault.close()
    assert "closed" in repr(vault)
    with pytest.raises(VaultError, match="closed"):
        vault.seal(b"x", BINDING)
