"""Exchange API credentials: a type that never shows its secret."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = ["ApiCredentials"]


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    """An API key, its secret and (for some exchanges) a passphrase.

    ``repr`` and ``str`` show only the last four characters of the key, never the secret.
    """

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"ApiCredentials(****{self.api_key[-4:]})"

    __str__ = __repr__

    @property
    def key_fingerprint(self) -> str:
        """A short SHA-256 fingerprint of the API key (not the secret) for display."""
        return hashlib.sha256(self.api_key.encode()).hexdigest()[:16]
