from __future__ import annotations

import bastion.custody.vault as vault_pkg
from bastion.custody.vault import SecretIntegrityError, VaultError, WrongPassphrase
from bastion.errors import BastionError, ConfigError


def test_vault_public_surface_is_pinned() -> None:
    assert sorted(vault_pkg.__all__) == sorted(
        [
            "HEADER_NAME", "KDF_PROFILE_ENV", "PREVIOUS_HEADER_NAME", "SIGNER_KEY_BINDING", "KdfParams",
            "KdfProfileError", "KekSource", "KekUnwrapError", "PassphraseKek", "SealedFormatError", "SealedSecret",
            "SecretBinding", "SecretBytes", "SecretClosedError", "SecretIntegrityError", "StaleKekError", "Vault",
            "VaultError", "VaultExistsError", "VaultFormatError", "VaultNotFoundError", "WrongKek", "WrongPassphrase",
            "generate_signing_key", "load_signing_key",
        ]
    )
    for name in vault_pkg.__all__:
        assert hasattr(vault_pkg, name)


def test_vault_errors_join_the_bastion_tree() -> None:
    assert issubclass(VaultError, BastionError)
    assert issubclass(WrongPassphrase, VaultError)
    assert issubclass(SecretIntegrityError, VaultError)
    assert issubclass(vault_pkg.KdfProfileError, ConfigError)
