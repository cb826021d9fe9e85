"""The DCA bot's decision builder: the shared one plus what a DCA decision also tracks."""

from __future__ import annotations

from dataclasses import dataclass, field

from bastion.bots._outcome import Outcome as _Outcome


@dataclass(slots=True)
class Outcome(_Outcome):
    """The shared builder, plus the deals closed in this decision and why the bot disables itself."""

    closed: set[int] = field(default_factory=set)
    disabled: str | None = None
