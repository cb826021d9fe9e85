"""The engine's live feed: one line per event on the terminal (deal opened, safety order filled,
deal closed with its profit, bot paused or in error and why), besides its log file.

The engine hands every event it notifies about to :meth:`EventFeed.event`; the feed only
formats and writes. A broken terminal (closed pipe) silences the feed, never the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["LABELS", "EventFeed"]

#: Short labels for the kinds the engine notifies; other kinds print as they are.
LABELS: dict[str, str] = {
    "deal_opened": "OPEN",
    "safety_order_filled": "FILL",
    "deal_closed": "CLOSE",
    "stop_loss": "STOP",
    "bot_paused": "PAUSE",
    "paused": "PAUSE",
    "denied": "DENIED",
    "order_refused": "REFUSED",
    "error": "ERROR",
}


class EventFeed:
    """Write one line per engine event.

    Parameters
    ----------
    write
        Where a line goes (e.g. ``sys.stdout.write`` + flush); it gets the line with its newline.
    clock
        Epoch milliseconds (the engine's clock), for the time stamp.
    """

    def __init__(self, write: Callable[[str], None], clock: Callable[[], int]) -> None:
        self._write: Callable[[str], None] | None = write
        self._clock = clock

    def line(self, kind: str, title: str, body: str) -> str:
        """Return the line for one event: ``HH:MM:SS LABEL title: body``."""
        stamp = datetime.fromtimestamp(self._clock() / 1000, UTC).strftime("%H:%M:%S")
        label = LABELS.get(kind, kind.upper())
        text = f"{title}: {body}" if body else title
        return f"{stamp} {label:<7} {' '.join(text.split())}\n"

    def event(self, kind: str, title: str, body: str) -> None:
        """Write one event (nothing once the terminal is gone)."""
        if self._write is None:
            return
        try:
            self._write(self.line(kind, title, body))
        except (OSError, ValueError):  # closed pipe or file: stop writing, keep trading
            self._write = None
