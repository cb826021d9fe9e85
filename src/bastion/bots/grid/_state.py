"""The grid's memory between decisions, kept as string values in its deal's state.

Keys (all values strings):

``phase``
    ``running``; after a stop ``stopping`` (cancels sent), ``selling`` (``on_stop = "sell_base"``,
    market sell sent) or ``halted`` (``on_stop = "cancel_only"``, orders cancelled, deal left open).
``stop``
    Why the grid stopped: ``stop_loss`` or ``take_profit``.
``lo``
    Index of the lowest level of the current window (0 until a trailing shift moves it).
``shift``
    ``up`` or ``down`` while the far order of a trailing shift is being cancelled.
``k.<interval>``
    What interval ``<interval>`` holds: the leg of its current order, ``start`` (waiting for
    the start market buy) or ``idle`` (no order).
``cost.<interval>``
    Quote paid for the base its sell is selling (buy cost plus quote fees); empty for base
    bought by the start market buy, which is not a grid round trip.
``nb.<level>``, ``ns.<level>``
    How many buys (sells) were placed at that level: the next one's cycle number.
``profit``, ``trips``
    Profit of completed buy -> sell round trips (sell cost - buy cost - quote fees) and their count.

The whole state is saved whenever it changes, so it survives either reading of
:class:`~bastion.bots.interface.SaveState` (merge or replace); keys of intervals outside the
window are ignored when loading.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

START = "start"
IDLE = "idle"


@dataclass(slots=True, kw_only=True)
class GridState:
    """A working copy of the grid's deal state for one decision."""

    count: int
    phase: str = "running"
    stop: str = ""
    lo: int = 0
    shift: str = ""
    profit: Decimal = Decimal(0)
    trips: int = 0
    slots: dict[int, str] = field(default_factory=dict)
    basis: dict[int, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, values: Mapping[str, str], count: int) -> GridState:
        """Read the state saved by :meth:`values` for a grid of ``count`` intervals."""
        lo = int(values.get("lo", "0"))
        window = range(lo, lo + count)
        state = cls(
            count=count,
            phase=values.get("phase", "running"),
            stop=values.get("stop", ""),
            lo=lo,
            shift=values.get("shift", ""),
            profit=Decimal(values.get("profit", "0")),
            trips=int(values.get("trips", "0")),
        )
        counters, slots, basis = state.counters, state.slots, state.basis
        known = _PARSED
        for key, value in values.items():
            parsed = known.get(key)
            if parsed is None:
                parsed = _parse(key)
                if len(known) < _MAX_PARSED:
                    known[key] = parsed
            kind, number = parsed
            if kind == _COUNTER:
                counters[key] = int(value)
            elif kind == _SLOT and lo <= number < lo + count:
                slots[number] = value
            elif kind == _BASIS and lo <= number < lo + count:
                basis[number] = value
        for interval in window:
            slots.setdefault(interval, IDLE)
        return state

    def reloaded(self) -> GridState:
        """Return what ``GridState.load(self.values(), self.count)`` returns, without the text round trip."""
        window = self.window
        return GridState(
            count=self.count,
            phase=self.phase,
            stop=self.stop,
            lo=self.lo,
            shift=self.shift,
            profit=Decimal(plain(self.profit)),
            trips=self.trips,
            slots={i: self.slots.get(i, IDLE) for i in window},
            basis={i: self.basis.get(i, "") for i in window},
            counters=dict(self.counters),
        )

    def copy(self) -> GridState:
        """Return a working copy (its dicts are its own)."""
        return GridState(
            count=self.count,
            phase=self.phase,
            stop=self.stop,
            lo=self.lo,
            shift=self.shift,
            profit=self.profit,
            trips=self.trips,
            slots=dict(self.slots),
            basis=dict(self.basis),
            counters=dict(self.counters),
        )

    @property
    def window(self) -> range:
        """Intervals of the current window, lowest first."""
        return range(self.lo, self.lo + self.count)

    def next_leg(self, level: int, side: str) -> str:
        """Return a new leg name at ``level`` (``L<level>.b.<cycle>`` or ``.s.``) and count it."""
        letter = "b" if side == "buy" else "s"
        key = f"n{letter}.{level}"
        cycle = self.counters.get(key, 0)
        self.counters[key] = cycle + 1
        return f"L{level}.{letter}.{cycle}"

    def values(self) -> dict[str, str]:
        """Return the state as string values, keys sorted."""
        return dict(sorted(self.unsorted_values().items()))

    def unsorted_values(self) -> dict[str, str]:
        """Return the values of :meth:`values` in no particular order (enough to compare two states)."""
        out = {
            "phase": self.phase,
            "stop": self.stop,
            "lo": str(self.lo),
            "shift": self.shift,
            "profit": plain(self.profit),
            "trips": str(self.trips),
        }
        slots, basis = self.slots, self.basis
        for interval in self.window:
            names = _NAMES.get(interval)
            if names is None:
                names = (f"k.{interval}", f"cost.{interval}")
                if len(_NAMES) < _MAX_PARSED:
                    _NAMES[interval] = names
            out[names[0]] = slots.get(interval, IDLE)
            out[names[1]] = basis.get(interval, "")
        out.update(zip(self.counters, map(str, self.counters.values()), strict=True))
        return out


_OTHER, _COUNTER, _SLOT, _BASIS = range(4)
#: Keys read before, and the key names of an interval: the state is read and written at every decision.
_PARSED: dict[str, tuple[int, int]] = {}
_NAMES: dict[int, tuple[str, str]] = {}
_MAX_PARSED = 100_000


def _parse(key: str) -> tuple[int, int]:
    kind, _, number = key.partition(".")
    if not number:
        return _OTHER, 0
    if kind in ("nb", "ns"):
        return _COUNTER, 0
    if kind == "k":
        return _SLOT, int(number)
    if kind == "cost":
        return _BASIS, int(number)
    return _OTHER, 0


def plain(value: Decimal) -> str:
    """Return ``value`` without trailing zeros or an exponent (``99.879``, ``100``, ``-5.319``)."""
    return format(value.normalize(), "f")
