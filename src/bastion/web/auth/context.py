"""What the login code needs at run time: the database, the settings, the clock, the throttle.

One :class:`AuthContext` lives on ``app.state.auth``; the dependencies in
:mod:`bastion.web.auth.deps` find it there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from bastion.storage.repositories.users import UserRecord, UserRepository, WebSessionRecord, WebSessionRepository
from bastion.web.auth.settings import AuthSettings
from bastion.web.auth.throttle import Throttle

__all__ = ["ActiveSession", "AuthContext", "NewSession", "WebUser", "token_digest"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True, slots=True, kw_only=True)
class WebUser:
    """The logged-in user as routes and templates see it."""

    id: int
    name: str
    role: str
    phrase: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveSession:
    """A session found by its cookie and not expired, with its user."""

    record: WebSessionRecord
    user: UserRecord

    @property
    def web_user(self) -> WebUser:
        """The user as :class:`WebUser`."""
        return WebUser(id=self.user.id, name=self.user.name, role=self.user.role, phrase=self.user.phrase)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewSession:
    """A session just made: the cookie value (shown to the browser only) and its CSRF token."""

    token: str = field(repr=False)
    csrf_token: str = field(repr=False)
    stage: str


def token_digest(token: str) -> str:
    """Return the SHA-256 hex of a session id (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(kw_only=True)
class AuthContext:
    """The database, settings, clock and throttles of the web login."""

    sessions: sessionmaker[Session]
    settings: AuthSettings
    clock_ms: Callable[[], int]
    throttle: Throttle = field(init=False)
    unknown_names: Throttle = field(init=False)

    def __post_init__(self) -> None:
        self.throttle = Throttle(self.settings.attempts_per_minute)
        # Failed logins for names that do not exist are counted too, so a locked-out answer
        # does not tell which names exist.
        self.unknown_names = Throttle(self.settings.lockout_after, self.settings.lockout_for.total_seconds())

    def now(self) -> datetime:
        """The current time from the app's clock, UTC."""
        return _EPOCH + timedelta(milliseconds=self.clock_ms())

    # --- sessions ---------------------------------------------------------------------------

    def start_session(self, user_id: int, *, stage: str) -> NewSession:
        """Store a new session for the user at ``stage`` (``password`` or ``full``)."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.now()
        with self.sessions.begin() as s:
            sessions = WebSessionRepository(s, clock=self.now)
            # sessions past their lifetime go at each login (a half-done login lives 5 minutes at most)
            sessions.delete_older(now - self.settings.session_absolute, now - self.settings.session_idle)
            # stage "full" here: a user with no second factor enrolled yet; no factor is fresh
            sessions.create(token_digest(token), user_id=user_id, csrf_token=csrf, stage=stage)
        return NewSession(token=token, csrf_token=csrf, stage=stage)

    def load(self, token: str | None) -> ActiveSession | None:
        """Return the session of this cookie value if it exists and has not expired (expired ones are deleted)."""
        if not token or len(token) > 128:
            return None
        now = self.now()
        with self.sessions.begin() as s:
            repo = WebSessionRepository(s)
            record = repo.find(token_digest(token))
            if record is None:
                return None
            user = UserRepository(s).get_by_id(record.user_id)
            if user is None or self.expired(record, now):
                repo.delete(record.id)
                return None
            if now - record.last_seen_at >= _TOUCH_EVERY:
                repo.touch(record.id, now)
        return ActiveSession(record=record, user=user)

    def expired(self, record: WebSessionRecord, now: datetime) -> bool:
        """Whether a session is past its absolute or idle lifetime (a half-done login: 5 minutes)."""
        settings = self.settings
        if record.stage != "full":
            return now - record.created_at > settings.second_factor_due_within
        return now - record.created_at > settings.session_absolute or now - record.last_seen_at > settings.session_idle

    def complete_second_factor(self, active: ActiveSession) -> NewSession:
        """A second factor was given: new session id and CSRF token, stage ``full``, factor fresh now."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.sessions.begin() as s:
            WebSessionRepository(s).upgrade(
                active.record.id, token_sha256=token_digest(token), csrf_token=csrf, factor_at=self.now()
            )
            UserRepository(s).login_succeeded(active.user.id)
        return NewSession(token=token, csrf_token=csrf, stage="full")

    def step_up(self, active: ActiveSession) -> None:
        """A second factor was given on a complete session: it is fresh now (same session id and CSRF token)."""
        with self.sessions.begin() as s:
            WebSessionRepository(s).mark_factor(active.record.id, self.now())
            UserRepository(s).login_succeeded(active.user.id)

    def end(self, active: ActiveSession) -> None:
        """Delete a session (logout)."""
        with self.sessions.begin() as s:
            WebSessionRepository(s).delete(active.record.id)

    def fresh(self, record: WebSessionRecord) -> bool:
        """Whether a second factor was given within :attr:`AuthSettings.fresh_factor`."""
        return record.factor_at is not None and self.now() - record.factor_at <= self.settings.fresh_factor

    @staticmethod
    def same(a: str, b: str) -> bool:
        """Constant-time comparison of two tokens."""
        return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
