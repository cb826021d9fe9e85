"""Rate limit and deduplicate notifications per (bot, kind), on a clock passed in.

Within a window of ``window_ms`` a (bot, kind) sends at most ``limit`` notifications and never
the same (title, body) twice; what is held back is counted, and the next notification that goes
out says how many were suppressed. A stray error repeating every step therefore reaches the
user once, not 24 times in 10 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["NotifyGate"]


@dataclass(slots=True)
class _Window:
    start_ms: int
    sent: int = 0
    seen: set[tuple[str, str]] = field(default_factory=set)
    suppressed: int = 0


@dataclass(slots=True)
class NotifyGate:
    """Decide which notifications go out.

    Parameters
    ----------
    window_ms
        Length of a window per (bot, kind).
    limit
        Notifications per window per (bot, kind).
    """

    window_ms: int = 60_000
    limit: int = 3
    _windows: dict[tuple[int | None, str], _Window] = field(default_factory=dict)

    def admit(self, bot_id: int | None, kind: str, title: str, body: str, now_ms: int) -> tuple[str, str] | None:
        """Return the (title, body) to send, or None to hold it back."""
        key = (bot_id, kind)
        window = self._windows.get(key)
        carried = 0
        if window is None or now_ms - window.start_ms >= self.window_ms:
            carried = 0 if window is None else window.suppressed
            window = _Window(start_ms=now_ms)
            self._windows[key] = window
        if (title, body) in window.seen or window.sent >= self.limit:
            window.suppressed += 1
            return None
        window.seen.add((title, body))
        window.sent += 1
        if carried:
            body = f"{body}\n({carried} similar notification(s) suppressed in the previous minute)"
        return title, body
