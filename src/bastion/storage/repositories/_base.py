"""What every repository shares: the session it works in and the clock it stamps rows with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current time, time zone-aware in UTC (the default repository clock)."""
    return datetime.now(UTC)


class Repository:
    """Base of the repositories: they work inside the caller's session and never commit.

    Open the transaction around them (``with factory.begin() as session:``) so that several
    repositories write atomically.
    """

    def __init__(self, session: Session, *, clock: Clock = utc_now) -> None:
        self.session = session
        self.clock = clock
