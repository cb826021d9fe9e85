"""Notifications: deal events and safety alerts, to any service apprise knows.

Where they go
-------------
``$BASTION_HOME/notifications.toml``::

    urls = ["tgram://BOT_TOKEN/CHAT_ID", "ntfy://ntfy.example.org/bastion"]
    kinds = ["deal_closed", "stop_loss", "error", "policy_denial", "leak_alert", "audit_witness"]  # optional
    anti_phishing_phrase = "blue heron at dawn"                                     # optional

or ``BASTION_NOTIFY_URLS`` (comma-separated apprise URLs), which replaces the file's ``urls``
when it is set (the file's ``kinds`` still apply). With no URL at all, :meth:`Notifier.notify`
does nothing. The URLs carry the services' tokens: they are never logged or shown.

The anti-phishing phrase, chosen by the user and never sent anywhere else, ends every
message's body: a message that claims to come from Bastion without it (a phishing mail asking
to "re-connect your exchange key") is not from Bastion.

Sending never raises: a service that is down or refuses costs a warning in the log and a
``False`` from :meth:`Notifier.notify`, never a trading decision. Titles and bodies pass through
:func:`bastion.errors.scrub` first.
"""

from __future__ import annotations

import logging
import os
import threading
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from bastion.errors import ConfigError, scrub

__all__ = ["CONFIG_FILE", "KINDS", "NOTIFY_URLS_ENV", "NotificationKind", "Notifier"]

NotificationKind = Literal[
    "deal_opened",
    "deal_closed",
    "safety_order_filled",
    "stop_loss",
    "error",
    "policy_denial",
    "leak_alert",
    "audit_witness",
    "bot_status",
]
#: Every kind of notification, in the order the filter lists them.
KINDS: tuple[NotificationKind, ...] = (
    "deal_opened",
    "deal_closed",
    "safety_order_filled",
    "stop_loss",
    "error",
    "policy_denial",
    "leak_alert",
    "audit_witness",
    "bot_status",
)
#: Environment variable with comma-separated apprise URLs.
NOTIFY_URLS_ENV = "BASTION_NOTIFY_URLS"
#: The settings file, in Bastion's home.
CONFIG_FILE = "notifications.toml"

_TYPES = {
    "deal_opened": "info",
    "deal_closed": "success",
    "safety_order_filled": "info",
    "stop_loss": "warning",
    "error": "failure",
    "policy_denial": "warning",
    "leak_alert": "failure",
    "audit_witness": "info",
    "bot_status": "info",
}
_TITLE_PREFIX = "[Bastion] "
_PHRASE_LENGTH = (4, 64)
_FILE_KEYS = ("urls", "kinds", "anti_phishing_phrase")
_log = logging.getLogger(__name__)


def _kinds(value: object, where: str) -> frozenset[str]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"{where} must be a list of notification kinds such as ['deal_closed'], got {value!r}")
    chosen = list(value)
    unknown = [kind for kind in chosen if kind not in KINDS]
    if unknown:
        raise ConfigError(f"{where}: unknown notification kind {unknown[0]!r}; expected some of {', '.join(KINDS)}")
    return frozenset(chosen)


def _urls(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(
            f"{where} must be a list of apprise URLs such as ['tgram://TOKEN/CHAT'], got a {type(value).__name__}"
        )
    urls = list(value)
    for index, url in enumerate(urls, start=1):
        if not isinstance(url, str) or "://" not in url:
            raise ConfigError(
                f"{where}: entry {index} is not an apprise URL (scheme://...); expected such as 'tgram://TOKEN/CHAT'"
            )
    return tuple(url.strip() for url in urls)


def _phrase(value: object, where: str) -> str:
    low, high = _PHRASE_LENGTH
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string such as 'blue heron at dawn', got a {type(value).__name__}")
    phrase = value.strip()
    if not low <= len(phrase) <= high or not phrase.isprintable():
        raise ConfigError(
            f"{where} must be {low} to {high} printable characters on one line, got {len(phrase)} characters"
        )
    return phrase


def _scheme(url: str) -> str:
    return url.split("://", 1)[0][:16]


class _Redact(logging.Filter):
    """Mask notification URLs (they hold the services' tokens) in apprise's own log records."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def remember(self, urls: Iterable[str]) -> None:
        for url in urls:
            self.secrets.add(url)
            rest = url.split("://", 1)[1]
            if len(rest) >= 8:
                self.secrets.add(rest)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = scrub(message, *sorted(self.secrets, key=len, reverse=True))
        if masked != message:
            record.msg, record.args = masked, None
        return True


_REDACT = _Redact()


class Notifier:
    """Send notifications of the chosen kinds to apprise URLs; never raises while sending.

    Parameters
    ----------
    urls
        apprise URLs (``tgram://``, ``slack://``, ``mailto://``, ``json://``...); none: a no-op.
    kinds
        Only these kinds are sent; None sends every kind in :data:`KINDS`.
    anti_phishing_phrase
        When given, the last line of every message's body (4 to 64 printable characters).

    Raises
    ------
    ConfigError
        ``kinds`` names a kind that does not exist, a URL has no ``scheme://``, or the phrase
        is empty, too long or spans lines.
    """

    def __init__(
        self,
        urls: Sequence[str] = (),
        *,
        kinds: Iterable[str] | None = None,
        anti_phishing_phrase: str | None = None,
    ) -> None:
        self._urls = _urls(urls, "notification urls")
        self._kinds = frozenset(KINDS) if kinds is None else _kinds(kinds, "notification kinds")
        self._phrase = None if anti_phishing_phrase is None else _phrase(anti_phishing_phrase, "anti_phishing_phrase")
        self._apprise: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None, *, home: Path | None = None) -> Notifier:
        """Build a notifier from ``notifications.toml`` in Bastion's home and ``BASTION_NOTIFY_URLS``.

        Parameters
        ----------
        env
            Environment to read; ``os.environ`` when None.
        home
            Bastion's home; :func:`bastion.storage.bastion_home` of ``env`` when None.

        Raises
        ------
        ConfigError
            The file is not valid TOML, has an unknown key, or a value of the wrong kind.
        """
        env = os.environ if env is None else env
        if home is None:
            from bastion.storage.db import bastion_home

            home = bastion_home(env)
        path = home / CONFIG_FILE
        urls: tuple[str, ...] = ()
        kinds: frozenset[str] | None = None
        phrase: str | None = None
        if path.is_file():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{path} is not valid TOML: {exc}") from None
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
            unknown = sorted(str(key) for key in data if key not in _FILE_KEYS)
            if unknown:
                raise ConfigError(f"{path}: unknown key {unknown[0]!r}; valid keys: {', '.join(_FILE_KEYS)}")
            urls = _urls(data.get("urls", []), f"{path}: urls")
            if "kinds" in data:
                kinds = _kinds(data["kinds"], f"{path}: kinds")
            if "anti_phishing_phrase" in data:
                phrase = _phrase(data["anti_phishing_phrase"], f"{path}: anti_phishing_phrase")
        from_env = [part.strip() for part in env.get(NOTIFY_URLS_ENV, "").split(",") if part.strip()]
        if from_env:
            urls = _urls(from_env, NOTIFY_URLS_ENV)
        return cls(urls, kinds=kinds, anti_phishing_phrase=phrase)

    @property
    def enabled(self) -> bool:
        """Whether there is at least one URL to send to."""
        return bool(self._urls)

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds that are sent."""
        return self._kinds

    def __repr__(self) -> str:
        schemes = ", ".join(_scheme(url) for url in self._urls) or "none"
        kinds = ", ".join(k for k in KINDS if k in self._kinds)
        phrase = "set" if self._phrase else "none"
        return f"Notifier({len(self._urls)} urls: {schemes}; kinds: {kinds}; anti-phishing phrase: {phrase})"

    def notify(self, kind: str, title: str, body: str) -> bool:
        """Send one notification to every URL; return True only when every service accepted it.

        Returns False without sending for an unknown kind, a kind outside the filter, or no URL;
        and False (with a warning in the log) when a service is down or refused. Never raises.

        Parameters
        ----------
        kind
            One of :data:`KINDS`.
        title, body
            What to say; scrubbed of key-like values first.
        """
        try:
            if kind not in KINDS:
                _log.warning("notification kind %r does not exist; expected one of %s", kind, ", ".join(KINDS))
                return False
            if not self._urls or kind not in self._kinds:
                return False
            services = self._services()
            if services is None:
                return False
            from apprise import NotifyType

            text = scrub(body, *self._urls) or "-"
            if self._phrase:
                text = f"{text}\n\nAnti-phishing phrase: {self._phrase}"
            sent = services.notify(
                title=scrub(_TITLE_PREFIX + title, *self._urls),
                body=text,
                notify_type=NotifyType(_TYPES[kind]),
            )
            if not sent:
                _log.warning("notification %s was not delivered to every service (see apprise's log)", kind)
            return bool(sent)
        except Exception as exc:  # a notification must never break what sent it
            _log.warning("notification %s failed: %s", kind, scrub(f"{type(exc).__name__}: {exc}", *self._urls))
            return False

    def _services(self) -> Any:
        with self._lock:
            if self._apprise is None:
                import apprise

                apprise_log = logging.getLogger("apprise")
                if _REDACT not in apprise_log.filters:
                    apprise_log.addFilter(_REDACT)
                _REDACT.remember(self._urls)
                services = apprise.Apprise()
                for index, url in enumerate(self._urls, start=1):
                    if not services.add(url):
                        _log.warning(
                            "notification URL %d (%s://...) is not understood by apprise; it is skipped",
                            index,
                            _scheme(url),
                        )
                self._apprise = services if len(services) else False
            return self._apprise or None
