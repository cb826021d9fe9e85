"""The password step of a login: throttle, lockout, Argon2id check. No HTTP here.

Refusals: 429 (too many attempts from this address, or the name is locked out after
:attr:`AuthSettings.lockout_after` failures in a row; the answer is the same for a name that
does not exist) and 401 (wrong name or password: the same words either way, and an unknown
name costs the same Argon2id work as a known one).
"""

from __future__ import annotations

import math
import threading

from bastion.services.users import hash_password, verify_password
from bastion.storage.repositories.users import UserRepository, WebSessionRepository
from bastion.web.auth.context import AuthContext, NewSession

__all__ = ["LoginRefused", "factors_of", "password_login"]

WRONG = "wrong user name or password"
_dummy_lock = threading.Lock()
_dummy: dict[int, str] = {}


class LoginRefused(Exception):
    """A refused login step: the HTTP status, the reason, and when to retry (seconds) for 429."""

    def __init__(self, status: int, detail: str, retry_after_s: int | None = None) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail
        self.retry_after_s = retry_after_s


def _locked(seconds: float) -> LoginRefused:
    wait = max(1, math.ceil(seconds))
    return LoginRefused(429, f"too many failed logins for this name; try again in {wait} seconds", wait)


def _dummy_hash(context: AuthContext) -> str:
    key = id(context.settings.password)
    with _dummy_lock:
        if key not in _dummy:
            _dummy[key] = hash_password("not-a-password-of-anyone", context.settings.password)
        return _dummy[key]


def factors_of(context: AuthContext, user_id: int) -> list[str]:
    """Return the second factors the user has enrolled: ``passkey`` and/or ``totp``."""
    with context.sessions() as s:
        factors = ["passkey"] if WebSessionRepository(s).passkeys(user_id) else []
        if UserRepository(s).totp(user_id)[1]:
            factors.append("totp")
    return factors


def password_login(context: AuthContext, *, name: str, password: str, client: str) -> tuple[NewSession, list[str]]:
    """Check a name and password; return a new session and the second factors still due.

    The session is at stage ``password`` when the user has a passkey or TOTP (one of them must
    follow), else ``full``.

    Raises
    ------
    LoginRefused
        Throttled (429), locked out (429) or a wrong name or password (401).
    """
    now = context.now()
    now_s = now.timestamp()
    wait = context.throttle.hit(f"ip:{client}", now_s)
    if wait is not None:
        raise LoginRefused(429, f"too many login attempts from this address; try again in {math.ceil(wait)} seconds",
                           max(1, math.ceil(wait)))  # fmt: skip
    settings = context.settings
    with context.sessions() as s:
        user = UserRepository(s).get(name)
        hashed = None if user is None else UserRepository(s).password_hash(user.id)
    if user is None or hashed is None:
        verify_password(_dummy_hash(context), password, settings.password)
        locked = context.unknown_names.hit(f"name:{name[:64]}", now_s)
        if locked is not None:
            raise _locked(locked)
        raise LoginRefused(401, WRONG)
    if user.locked_until is not None and user.locked_until > now:
        raise _locked((user.locked_until - now).total_seconds())
    ok, rehashed = verify_password(hashed, password, settings.password)
    if not ok:
        with context.sessions.begin() as s:
            after = UserRepository(s).failed_login(
                user.id, limit=settings.lockout_after, lock_until=now + settings.lockout_for
            )
        if after.locked_until is not None and after.locked_until > now:
            raise _locked((after.locked_until - now).total_seconds())
        raise LoginRefused(401, WRONG)
    factors = factors_of(context, user.id)
    with context.sessions.begin() as s:
        users = UserRepository(s)
        if not factors:  # else the failures count on until the second factor is given (guessing TOTP codes)
            users.login_succeeded(user.id)
        if rehashed is not None:
            users.set_password_hash(user.id, rehashed)
    return context.start_session(user.id, stage="password" if factors else "full"), factors
