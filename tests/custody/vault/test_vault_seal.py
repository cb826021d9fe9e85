from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.custody.vault import (
    KdfParams,
    SealedSecret,
    SecretBinding,
    SecretBytes,
    SecretIntegrityError,
    StaleKekError,
    Vault,
)
from bastion.errors import ValidationError

PASSPHRASE = "correct horse battery staple"
BINDING = SecretBinding(account="alice", exchange="binance", key_id="key-1", version=1)

API_SECRET = "sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def test_seal_then_unseal_returns_the_secret(vault: Vault) -> None:
    sealed = vault.seal(API_SECRET, BINDING)
    with vault.unseal(SealedSecret.from_bytes(sealed.to_bytes()), BINDING) as secret:
        assert secret.reveal_str() == API_SECRET


def test_seal_accepts_bytes_bytearray_and_secret_bytes(vault: Vault) -> None:
    for given_secret in (b"raw", bytearray(b"raw"), SecretBytes(b"raw")):
        with vault.unseal(vault.seal(given_secret, BINDING), BINDING) as secret:
            assert secret.reveal() == b"raw"


def test_each_seal_uses_a_fresh_data_key_and_nonce(vault: Vault) -> None:
    a, b = vault.seal(API_SECRET, BINDING), vault.seal(API_SECRET, BINDING)
    assert a.wrapped_key != b.wrapped_key
    assert a.nonce != b.nonce
    assert a.ciphertext != b.ciphertext


def test_sealed_bytes_do_not_contain_the_secret(vault: Vault) -> None:
    blob = vault.seal(API_SECRET, BINDING).to_bytes()
    assert API_SECRET.encode() not in blob
    assert b"alice" in blob  # the binding is stored in clear, for messages


def test_empty_secret_is_refused(vault: Vault) -> None:
    with pytest.raises(ValidationError, match="empty"):
        vault.seal(b"", BINDING)


def test_ciphertext_copied_to_another_row_fails_naming_the_row(vault: Vault) -> None:
    sealed = vault.seal(API_SECRET, BINDING)
    other_row = SecretBinding(account="mallory", exchange="binance", key_id="key-1", version=1)
    with pytest.raises(SecretIntegrityError, match="mallory/binance/key-1@v1") as info:
        vault.unseal(sealed, other_row)
    assert info.value.account == "mallory"
    assert API_SECRET not in str(info.value)


@pytest.mark.parametrize(
    "field", ["account", "exchange", "key_id", "version"],
)
def test_ciphertext_with_its_binding_rewritten_to_another_row_fails(vault: Vault, field: str) -> None:
    sealed = vault.seal(API_SECRET, BINDING)
    new_value: object = 2 if field == "version" else "mallory"
    moved_binding = replace(BINDING, **{field: new_value})
    moved = replace(sealed, binding=moved_binding)  # attacker edits the clear binding too
    with pytest.raises(SecretIntegrityError, match="does not authenticate") as info:
        vault.unseal(moved, moved_binding)
    assert API_SECRET not in str(info.value)


def test_wrapped_key_from_another_row_with_this_rows_ciphertext_fails(vault: Vault) -> None:
    mine = vault.seal(API_SECRET, BINDING)
    other_binding = replace(BINDING, key_id="key-2")
    theirs = vault.seal("other secret", other_binding)
    spliced = replace(mine, wrapped_key=theirs.wrapped_key)
    with pytest.raises(SecretIntegrityError):
        vault.unseal(spliced, BINDING)


def test_secret_from_another_vault_fails_as_stale_kek(vault: Vault, tmp_path: Path) -> None:
    other = Vault.init(tmp_path / "other", PASSPHRASE, kdf=KdfParams.test(), allow_weak_kdf=True)
    sealed = other.seal(API_SECRET, BINDING)
    with pytest.raises(StaleKekError, match="alice/binance/key-1@v1"):
        vault.unseal(sealed, BINDING)
    # Even with the kek_id forged to match, the data key does not unwrap.
    with pytest.raises(SecretIntegrityError, match="does not authenticate"):
        vault.unseal(replace(sealed, kek_id=vault.kek_id), BINDING)


def test_unseal_requires_the_rows_binding(vault: Vault) -> None:
    sealed = vault.seal(API_SECRET, BINDING)
    with pytest.raises(ValidationError, match="SecretBinding"):
        vault.unseal(sealed, ("alice", "binance", "key-1", 1))  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_byte_flip_in_the_stored_form_fails_to_decrypt(shared_vault: Vault, data: st.DataObject) -> None:
    blob = _SEALED_CACHE.setdefault(id(shared_vault), shared_vault.seal(API_SECRET, BINDING).to_bytes())
    position = data.draw(st.integers(0, len(blob) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    tampered = bytearray(blob)
    tampered[position] ^= mask
    with pytest.raises(SecretIntegrityError) as info:
        shared_vault.unseal(SealedSecret.from_bytes(bytes(tampered)), BINDING)
    assert API_SECRET not in str(info.value)


_SEALED_CACHE: dict[int, bytes] = {}


@settings(max_examples=40, deadline=None)
@given(secret=st.binary(min_size=1, max_size=512))
def test_any_secret_round_trips(shared_vault: Vault, secret: bytes) -> None:
    with shared_vault.unseal(SealedSecret.from_bytes(shared_vault.seal(secret, BINDING).to_bytes()), BINDING) as out:
        assert out.reveal() == secret
