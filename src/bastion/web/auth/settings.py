"""The web login's settings: lifetimes, lockout, the WebAuthn relying party, cookies under TLS."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from bastion.services.users import PasswordParams

__all__ = ["AuthSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthSettings:
    """How the web process logs people in.

    Parameters
    ----------
    origins
        The page origins this server answers as (``https://bastion.example``); WebAuthn
        ceremonies from any other origin are refused, and so is a state change whose ``Origin``
        header names another one. The first is the one shown to users.
    rp_id
        The WebAuthn relying party id: the host name of the origins (``localhost`` on loopback;
        browsers refuse an IP address).
    tls
        Whether the server speaks HTTPS: cookies get ``Secure`` (and the ``__Host-`` name),
        responses ``Strict-Transport-Security``.
    totp_key
        32 bytes that seal TOTP secrets in the database (AES-256-GCM); kept in the web's home.
    """

    origins: tuple[str, ...] = ("http://localhost:8080", "http://127.0.0.1:8080")
    rp_id: str = "localhost"
    rp_name: str = "Bastion"
    tls: bool = False
    totp_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    password: PasswordParams = field(default_factory=PasswordParams)
    session_absolute: timedelta = timedelta(hours=12)
    session_idle: timedelta = timedelta(minutes=30)
    second_factor_due_within: timedelta = timedelta(minutes=5)
    fresh_factor: timedelta = timedelta(minutes=5)
    challenge_ttl: timedelta = timedelta(minutes=5)
    lockout_after: int = 5
    lockout_for: timedelta = timedelta(minutes=15)
    attempts_per_minute: int = 10

    def __post_init__(self) -> None:
        if not self.origins:
            raise ValueError("origins must name at least one origin such as http://localhost:8080")
        if len(self.totp_key) != 32:
            raise ValueError(f"totp_key has {len(self.totp_key)} bytes; expected 32")

    @property
    def cookie_name(self) -> str:
        """The session cookie's name (``__Host-`` under TLS: Secure, host-only, path /)."""
        return "__Host-bastion_session" if self.tls else "bastion_session"
