"""The vault's exceptions (all derive from :class:`bastion.errors.BastionError`).

::

    BastionError
    └── VaultError                     anything the vault refuses or cannot do
        ├── VaultExistsError           ``Vault.init`` found a vault already there
        ├── VaultNotFoundError         ``Vault.open`` found no vault header
        ├── VaultFormatError           the header is malformed, unsupported or unsafe
        ├── WrongKek                   the key-encryption key does not unlock this vault
        │   └── WrongPassphrase        ... because the passphrase is wrong
        ├── KekUnwrapError             a KekSource could not unwrap a blob (raised by sources)
        ├── SecretIntegrityError       a sealed secret does not decrypt for its row
        │   ├── SealedFormatError      the stored bytes are not a sealed secret
        │   └── StaleKekError          sealed under another key-encryption key
        └── SecretClosedError          a SecretBytes was used after close()
    ValidationError
    └── KdfProfileError (ConfigError)  weak KDF parameters without explicit consent

No message ever contains secret material: only paths, row bindings and parameter names.
"""

from __future__ import annotations

from bastion.errors import BastionError, ConfigError

__all__ = [
    "KdfProfileError",
    "KekUnwrapError",
    "SealedFormatError",
    "SecretClosedError",
    "SecretIntegrityError",
    "StaleKekError",
    "VaultError",
    "VaultExistsError",
    "VaultFormatError",
    "VaultNotFoundError",
    "WrongKek",
    "WrongPassphrase",
]


class VaultError(BastionError):
    """Something the vault refuses or cannot do."""


class VaultExistsError(VaultError):
    """A vault header already exists where a new vault was to be created."""


class VaultNotFoundError(VaultError):
    """No vault header where one was expected."""


class VaultFormatError(VaultError):
    """The vault header is malformed, of an unsupported version or unsafely stored."""


class WrongKek(VaultError):
    """The key-encryption key given does not unlock this vault."""


class WrongPassphrase(WrongKek):
    """The passphrase does not unlock this vault (or its header was modified)."""


class KekUnwrapError(VaultError):
    """A key-encryption-key source could not unwrap a blob (wrong key, wrong AAD or altered blob).

    :class:`~bastion.custody.vault.KekSource` implementations raise this from ``unwrap``;
    the vault turns it into :class:`WrongKek` or :class:`SecretIntegrityError`.
    """


class SecretIntegrityError(VaultError):
    """A sealed secret does not decrypt for the row it was read for.

    The message and the attributes name the row (account, exchange, key id, version),
    never the secret.
    """

    def __init__(
        self,
        message: str,
        *,
        account: str | None = None,
        exchange: str | None = None,
        key_id: str | None = None,
        version: int | None = None,
    ) -> None:
        super().__init__(message)
        self.account = account
        self.exchange = exchange
        self.key_id = key_id
        self.version = version


class SealedFormatError(SecretIntegrityError):
    """The stored bytes are not a well-formed sealed secret."""


class StaleKekError(SecretIntegrityError):
    """The secret was sealed under another key-encryption key than the vault's current one."""


class SecretClosedError(VaultError):
    """A :class:`~bastion.custody.vault.SecretBytes` was read after it was closed and zeroed."""


class KdfProfileError(ConfigError):
    """KDF parameters weaker than production without explicit consent, or an unknown profile."""
