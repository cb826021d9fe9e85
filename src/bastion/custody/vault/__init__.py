"""The vault: row-bound AEAD sealing of exchange API secrets under a key-encryption key.

Two layers. Each secret is encrypted with AES-256-GCM under its own fresh 32-byte data
key; the data key is wrapped by the key-encryption key (KEK). Both layers use the row's
:class:`SecretBinding` (account, exchange, key id, version; length-prefixed) as associated
data, so a ciphertext copied to another row, or changed in any byte, does not decrypt.

The KEK comes from a :class:`KekSource`: :class:`PassphraseKek` (Argon2id over the
passphrase; parameters and salt in ``$BASTION_HOME/vault.json``) or any external KMS that
wraps/unwraps without exporting its key. A passphrase change (:meth:`Vault.rewrap`)
re-wraps the data keys only; the ciphertexts stay byte-identical.

KDF strength
------------
New vaults default to RFC 9106's second recommendation: Argon2id, 64 MiB, t=3, p=4,
16-byte salt, 32-byte key (about a quarter second). Cheaper parameters are *weak* and are
refused, both when creating and when opening a vault, unless the caller consents:

- pass ``kdf=KdfParams.test(), allow_weak_kdf=True`` (what Bastion's tests do), or
- set ``BASTION_KDF_PROFILE=test`` in the environment (for end-to-end tests that run the
  CLI in a subprocess). ``production`` is the default; any other value is an error.

A production signer (variable unset) therefore refuses a vault created with test
parameters, so the test profile cannot leak into production unnoticed.

Example
-------
::

    vault = Vault.init(home, passphrase)                 # or Vault.open(home, passphrase)
    binding = SecretBinding(account="alice", exchange="binance", key_id="k1", version=1)
    blob = vault.seal(api_secret, binding).to_bytes()    # store in the row
    with vault.unseal(SealedSecret.from_bytes(blob), binding) as secret:
        use(secret.reveal_str())
"""

from __future__ import annotations

from bastion.custody.vault._binding import SecretBinding
from bastion.custody.vault._errors import (
    KdfProfileError,
    KekUnwrapError,
    SealedFormatError,
    SecretClosedError,
    SecretIntegrityError,
    StaleKekError,
    VaultError,
    VaultExistsError,
    VaultFormatError,
    VaultNotFoundError,
    WrongKek,
    WrongPassphrase,
)
from bastion.custody.vault._kdf import KDF_PROFILE_ENV, KdfParams
from bastion.custody.vault._kek import KekSource, PassphraseKek
from bastion.custody.vault._sealed import SealedSecret
from bastion.custody.vault._secret import SecretBytes
from bastion.custody.vault._signing import SIGNER_KEY_BINDING, generate_signing_key, load_signing_key
from bastion.custody.vault._vault import HEADER_NAME, PREVIOUS_HEADER_NAME, Vault

__all__ = [
    "HEADER_NAME",
    "KDF_PROFILE_ENV",
    "PREVIOUS_HEADER_NAME",
    "SIGNER_KEY_BINDING",
    "KdfParams",
    "KdfProfileError",
    "KekSource",
    "KekUnwrapError",
    "PassphraseKek",
    "SealedFormatError",
    "SealedSecret",
    "SecretBinding",
    "SecretBytes",
    "SecretClosedError",
    "SecretIntegrityError",
    "StaleKekError",
    "Vault",
    "VaultError",
    "VaultExistsError",
    "VaultFormatError",
    "VaultNotFoundError",
    "WrongKek",
    "WrongPassphrase",
    "generate_signing_key",
    "load_signing_key",
]
