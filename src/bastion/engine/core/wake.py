"""When a bot decides again: the wake rules, as data.

A bot decides when it has not decided yet, one of its orders changed, a level it watches was
crossed (by the high or low seen since its last decision), the time it asked for came, or a
webhook signal is waiting. A failed bot is retried with exponential backoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bastion.bots.interface import Decision

__all__ = ["RETRY_BASE_MS", "RETRY_CAP_MS", "crossed", "retry_delay_ms", "woken"]

#: First retry of a failed bot after this long; doubled per failure up to :data:`RETRY_CAP_MS`.
RETRY_BASE_MS = 5_000
RETRY_CAP_MS = 300_000


def crossed(decision: Decision, marks: Mapping[str, tuple[Decimal, Decimal]]) -> bool:
    """Whether a watched level was reached by the (high, low) seen per symbol."""
    for watch in decision.watch:
        mark = marks.get(watch.symbol)
        if mark is None:
            continue
        high, low = mark
        if watch.above is not None and high >= watch.above:
            return True
        if watch.below is not None and low <= watch.below:
            return True
    return False


def woken(
    last: Decision | None,
    *,
    dirty: bool,
    now_ms: int,
    marks: Mapping[str, tuple[Decimal, Decimal]],
    signals_pending: bool,
) -> bool:
    """Whether a bot should decide now (see the module docstring)."""
    if dirty or last is None or signals_pending:
        return True
    if last.wake_at_ms is not None and now_ms >= last.wake_at_ms:
        return True
    return crossed(last, marks)


def retry_delay_ms(failures: int) -> int:
    """Backoff after ``failures`` consecutive failures (1 -> 5 s, 2 -> 10 s, ... capped at 5 min)."""
    return int(min(RETRY_BASE_MS * 2 ** max(failures - 1, 0), RETRY_CAP_MS))
