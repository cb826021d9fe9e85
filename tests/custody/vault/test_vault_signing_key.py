from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.custody.vault import (
    SIGNER_KEY_BINDING,
    SecretBytes,
    Vault,
    generate_signing_key,
    load_signing_key,
)
from bastion.errors import ValidationError


def test_signer_key_binding_is_the_documented_row() -> None:
    assert (SIGNER_KEY_BINDING.account, SIGNER_KEY_BINDING.exchange) == ("_signer", "_audit")
    assert (SIGNER_KEY_BINDING.key_id, SIGNER_KEY_BINDING.version) == ("ed25519", 1)


def test_signing_key_seals_unseals_and_signs(vault: Vault) -> None:
    with generate_signing_key() as raw:
        assert len(raw) == 32
        public = load_signing_key(raw).public_key()
        sealed = vault.seal(raw, SIGNER_KEY_BINDING)
    with vault.unseal(sealed, SIGNER_KEY_BINDING) as unsealed:
        key = load_signing_key(unsealed)
    assert isinstance(key, Ed25519PrivateKey)
    public.verify(key.sign(b"head"), b"head")


def test_generated_keys_differ() -> None:
    assert generate_signing_key() != generate_signing_key()


def test_load_signing_key_rejects_wrong_length_without_showing_bytes() -> None:
    with pytest.raises(ValidationError, match="given 31"):
        load_signing_key(SecretBytes(b"\x07" * 31))
