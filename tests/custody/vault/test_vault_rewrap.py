from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bastion.custody.vault import (
    KdfParams,
    SealedSecret,
    SecretBinding,
    SecretIntegrityError,
    StaleKekError,
    Vault,
    VaultError,
    WrongPassphrase,
)

OLD, NEW = "old passphrase", "new passphrase"
ROWS = [
    SecretBinding(account="alice", exchange=ex, key_id=f"k{i}", version=1) for i, ex in enumerate(["binance", "okx"])
]


def _vault(home: Path) -> tuple[Vault, list[SealedSecret]]:
    vault = Vault.init(home, OLD, kdf=KdfParams.test(), allow_weak_kdf=True)
    return vault, [vault.seal(f"secret-{b.key_id}", b) for b in ROWS]


def test_rewrap_changes_only_the_wrapped_keys_and_keeps_ciphertexts_byte_identical(tmp_path: Path) -> None:
    vault, sealed = _vault(tmp_path)
    rewrapped = vault.rewrap(NEW, sealed, kdf=KdfParams.test(), allow_weak_kdf=True)
    for before, after in zip(sealed, rewrapped, strict=True):
        assert after.ciphertext == before.ciphertext
        assert after.nonce == before.nonce
        assert after.binding == before.binding
        assert after.wrapped_key != before.wrapped_key
        assert after.kek_id == vault.kek_id != before.kek_id


def test_after_rewrap_the_new_passphrase_opens_and_decrypts_and_the_old_does_not(tmp_path: Path) -> None:
    vault, sealed = _vault(tmp_path)
    result = vault.rewrap(NEW, sealed, kdf=KdfParams.test(), allow_weak_kdf=True)
    rewrapped = [SealedSecret.from_bytes(s.to_bytes()) for s in result]
    vault.close()
    with pytest.raises(WrongPassphrase):
        Vault.open(tmp_path, OLD, allow_weak_kdf=True)
    with Vault.open(tmp_path, NEW, allow_weak_kdf=True) as reopened:
        for binding, record in zip(ROWS, rewrapped, strict=True):
            with reopened.unseal(record, binding) as secret:
                assert secret.reveal_str() == f"secret-{binding.key_id}"
        with pytest.raises(StaleKekError, match="alice/binance/k0@v1"):
            reopened.unseal(sealed[0], ROWS[0])


def test_rewrap_uses_a_new_salt(tmp_path: Path) -> None:
    vault, sealed = _vault(tmp_path)
    salt_before = json.loads((tmp_path / "vault.json").read_text())["kek"]["kdf"]["salt"]
    vault.rewrap(OLD, sealed, kdf=KdfParams.test(), allow_weak_kdf=True)  # same passphrase, new KEK anyway
    assert json.loads((tmp_path / "vault.json").read_text())["kek"]["kdf"]["salt"] != salt_before


def test_rewrap_keeps_the_previous_header_until_discarded(tmp_path: Path) -> None:
    vault, sealed = _vault(tmp_path)
    before = (tmp_path / "vault.json").read_bytes()
    vault.rewrap(NEW, sealed, kdf=KdfParams.test(), allow_weak_kdf=True)
    assert (tmp_path / "vault.json.prev").read_bytes() == before
    assert vault.discard_previous_header()
    assert not (tmp_path / "vault.json.prev").exists()
    assert not vault.discard_previous_header()


def test_a_record_that_fails_to_unwrap_aborts_rewrap_and_changes_nothing(tmp_path: Path) -> None:
    vault, sealed = _vault(tmp_path)
    header_before = (tmp_path / "vault.json").read_bytes()
    kek_before = vault.kek_id
    broken = replace(sealed[1], binding=replace(sealed[1].binding, account="mallory"))
    with pytest.raises(SecretIntegrityError, match="mallory/okx/k1@v1"):
        vault.rewrap(NEW, [sealed[0], broken], kdf=KdfParams.test(), allow_weak_kdf=True)
    assert (tmp_path / "vault.json").read_bytes() == header_before
    assert not (tmp_path / "vault.json.prev").exists()
    assert vault.kek_id == kek_before
    with vault.unseal(sealed[0], ROWS[0]) as secret:  # still on the old KEK
        assert secret.reveal_str() == "secret-k0"


def test_rewrap_refuses_when_the_header_changed_on_disk(tmp_path: Path) -> None:
    vault, sealed = _vault(tmp_path)
    other = Vault.open(tmp_path, OLD, allow_weak_kdf=True)
    other.rewrap(NEW, sealed, kdf=KdfParams.test(), allow_weak_kdf=True)
    header_now = (tmp_path / "vault.json").read_bytes()
    with pytest.raises(VaultError, match="changed since this vault was opened"):
        vault.rewrap("third", sealed, kdf=KdfParams.test(), allow_weak_kdf=True)
    assert (tmp_path / "vault.json").read_bytes() == header_now


def test_rewrap_of_no_records_still_changes_the_passphrase(tmp_path: Path) -> None:
    vault, _ = _vault(tmp_path)
    assert vault.rewrap(NEW, [], kdf=KdfParams.test(), allow_weak_kdf=True) == []
    Vault.open(tmp_path, NEW, allow_weak_kdf=True).close()
