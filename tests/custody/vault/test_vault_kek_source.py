from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.custody.vault import (
    KdfParams,
    KekSource,
    KekUnwrapError,
    PassphraseKek,
    SecretBinding,
    Vault,
    VaultFormatError,
    WrongKek,
)

BINDING = SecretBinding(account="alice", exchange="binance", key_id="key-1", version=1)


class FakeTransit:
    """An external-KMS-shaped KEK source: the key stays inside, only wrap/unwrap are exposed."""

    def __init__(self, key_name: str = "bastion") -> None:
        self._aead = AESGCM(AESGCM.generate_key(bit_length=256))
        self.key_name = key_name
        self.calls: list[str] = []

    def wrap(self, data_key: bytes | bytearray, aad: bytes) -> bytes:
        self.calls.append("wrap")
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, bytes(data_key), aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        self.calls.append("unwrap")
        try:
            return self._aead.decrypt(blob[:12], blob[12:], aad)
        except InvalidTag:
            raise KekUnwrapError("transit refused to decrypt") from None

    def describe(self) -> dict[str, Any]:
        return {"kind": "fake-transit", "key_name": self.key_name}


def test_passphrase_kek_and_a_kms_shaped_class_satisfy_the_protocol() -> None:
    assert isinstance(FakeTransit(), KekSource)
    assert isinstance(PassphraseKek.create("pw", KdfParams.test(), allow_weak_kdf=True), KekSource)


def test_vault_works_with_an_external_kek_source(tmp_path: Path) -> None:
    kms = FakeTransit()
    Vault.init(tmp_path, kms).close()
    with Vault.open(tmp_path, kms) as vault:
        sealed = vault.seal("s3cret", BINDING)
        with vault.unseal(sealed, BINDING) as secret:
            assert secret.reveal_str() == "s3cret"
    assert "wrap" in kms.calls
    assert "unwrap" in kms.calls


def test_another_kms_key_does_not_unlock_the_vault(tmp_path: Path) -> None:
    Vault.init(tmp_path, FakeTransit()).close()
    with pytest.raises(WrongKek):
        Vault.open(tmp_path, FakeTransit())


def test_a_passphrase_does_not_open_a_kms_vault_and_says_why(tmp_path: Path) -> None:
    Vault.init(tmp_path, FakeTransit()).close()
    with pytest.raises(VaultFormatError, match="'fake-transit'"):
        Vault.open(tmp_path, "pw")


def test_rewrap_migrates_from_a_passphrase_to_a_kms(tmp_path: Path) -> None:
    vault = Vault.init(tmp_path, "pw", kdf=KdfParams.test(), allow_weak_kdf=True)
    sealed = [vault.seal("s3cret", BINDING)]
    kms = FakeTransit()
    moved = vault.rewrap(kms, sealed)
    vault.close()
    with Vault.open(tmp_path, kms) as reopened, reopened.unseal(moved[0], BINDING) as secret:
        assert secret.reveal_str() == "s3cret"


def test_passphrase_kek_wrap_is_bound_to_its_aad() -> None:
    kek = PassphraseKek.create("pw", KdfParams.test(), allow_weak_kdf=True)
    blob = kek.wrap(b"k" * 32, b"row-a")
    assert bytes(kek.unwrap(blob, b"row-a")) == b"k" * 32
    with pytest.raises(KekUnwrapError):
        kek.unwrap(blob, b"row-b")


def test_passphrase_kek_repr_hides_the_key_and_close_zeroes_it() -> None:
    kek = PassphraseKek.create("pw", KdfParams.test(), allow_weak_kdf=True)
    assert "key=****" in repr(kek)
    key = kek._key
    kek.close()
    assert key == bytearray(32)


def test_str_passphrases_are_nfc_normalised(tmp_path: Path) -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    Vault.init(tmp_path, composed, kdf=KdfParams.test(), allow_weak_kdf=True).close()
    Vault.open(tmp_path, decomposed, allow_weak_kdf=True).close()
