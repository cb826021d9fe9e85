"""TOTP (RFC 6238, 30 s, 6 digits, pyotp) as the fallback second factor; a code is accepted once.

The secret is sealed with AES-256-GCM under the web process's own key (``web-auth.key`` in
the home), bound to the user's id, so a copy of the database alone does not give it away. A
code matches the current time step or one either side (clock drift); the accepted step is
stored, and a code of that step or an earlier one is refused as a replay.
"""

from __future__ import annotations

import hmac
import secrets

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.storage.repositories.users import UserRepository
from bastion.web.auth.context import AuthContext
from bastion.web.auth.login import LoginRefused

__all__ = ["STEP_S", "check_code", "confirm", "enrol", "seal", "unseal"]

STEP_S = 30
_NONCE = 12
_WRONG = "wrong TOTP code; expected the 6-digit code your authenticator app shows now"
_REPLAY = "this TOTP code was already used; wait for the next code"


def _aad(user_id: int) -> bytes:
    return f"bastion-totp:{user_id}".encode()


def seal(key: bytes, user_id: int, secret: str) -> bytes:
    """Seal a TOTP secret for one user (nonce + AES-GCM ciphertext)."""
    nonce = secrets.token_bytes(_NONCE)
    return nonce + AESGCM(key).encrypt(nonce, secret.encode("ascii"), _aad(user_id))


def unseal(key: bytes, user_id: int, sealed: bytes) -> str:
    """Open a sealed TOTP secret (raises ``cryptography.exceptions.InvalidTag`` for another key or user)."""
    return AESGCM(key).decrypt(sealed[:_NONCE], sealed[_NONCE:], _aad(user_id)).decode("ascii")


def enrol(context: AuthContext, user_id: int, user_name: str) -> tuple[str, str]:
    """Give the user a new, unconfirmed TOTP secret; return it and its ``otpauth://`` URI (shown once)."""
    secret = pyotp.random_base32()
    with context.sessions.begin() as s:
        UserRepository(s).set_totp(user_id, seal(context.settings.totp_key, user_id, secret), confirmed=False)
    uri = pyotp.TOTP(secret).provisioning_uri(name=user_name, issuer_name=context.settings.rp_name)
    return secret, uri


def _matching_step(secret: str, code: str, now_s: float) -> int | None:
    totp = pyotp.TOTP(secret)
    current = int(now_s) // STEP_S
    found = None
    for step in (current - 1, current, current + 1):  # every candidate compared: no early exit
        if hmac.compare_digest(totp.at(step * STEP_S), code):
            found = step
    return found


def check_code(context: AuthContext, user_id: int, code: str, *, confirming: bool = False) -> None:
    """Accept a TOTP code once, or raise :class:`LoginRefused`.

    A wrong code counts as a failed login (lockout after
    :attr:`~bastion.web.auth.settings.AuthSettings.lockout_after` in a row).

    Raises
    ------
    LoginRefused
        409 no TOTP is enrolled (or confirmed); 429 locked out; 401 a wrong or replayed code.
    """
    now = context.now()
    settings = context.settings
    with context.sessions() as s:
        users = UserRepository(s)
        user = users.get_by_id(user_id)
        sealed, confirmed, _last = users.totp(user_id)
    if user is None or sealed is None or confirmed == confirming:
        state = "no TOTP secret is waiting for confirmation" if confirming else "no TOTP is enrolled for this user"
        raise LoginRefused(409, f"{state}; enrol one with POST /api/v1/auth/totp/enrol")
    if user.locked_until is not None and user.locked_until > now:
        wait = max(1, int((user.locked_until - now).total_seconds()) + 1)
        raise LoginRefused(429, f"too many failed logins for this name; try again in {wait} seconds", wait)
    step = _matching_step(unseal(settings.totp_key, user_id, sealed), code, now.timestamp())
    with context.sessions.begin() as s:  # committed before a refusal is raised
        users = UserRepository(s)
        if step is None:
            users.failed_login(user_id, limit=settings.lockout_after, lock_until=now + settings.lockout_for)
            fresh = False
        else:
            fresh = users.use_totp_step(user_id, step, confirm=confirming)
    if step is None:
        raise LoginRefused(401, _WRONG)
    if not fresh:
        raise LoginRefused(401, _REPLAY)


def confirm(context: AuthContext, user_id: int, code: str) -> None:
    """Confirm a newly enrolled TOTP secret with a first code (which is then used up)."""
    check_code(context, user_id, code, confirming=True)
