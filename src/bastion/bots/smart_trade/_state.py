"""The SmartTrade's memory between decisions, kept as string values in its deal's state.

Keys (all strings; empty means unset):

``phase``
    ``trigger`` (waiting for the price to cross ``entry_at``), ``trail`` (trailing the entry),
    ``entry`` (entry order placed), ``open`` (position open: targets and stop at work) or
    ``exit`` (leaving at market; waiting for cancels, then for the ``exit`` order).
``cross``, ``entry_at``
    Which way (``up``/``down``) the price must cross ``entry_at`` to trigger the entry.
``extreme``
    While trailing the entry: the best entry price seen (the lowest for a long).
``stop``
    The stop price now in force (moved by trailing and by breakeven).
``peak``
    Best price since entry, for the trailing stop.
``since``
    When the price went beyond the stop (ms), for ``timeout_s``.
``step``, ``tp``
    Index of the next take-profit step, and the leg of the one working now.
``tp_peak``
    Best price since the last (trailing) target was reached.
``breakeven``
    ``1`` once the stop was moved to the entry price.
``reason``
    Why the trade is exiting: ``stop_loss`` or ``take_profit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from decimal import Decimal


@dataclass(slots=True, kw_only=True)
class TradeState:
    """A working copy of the SmartTrade's deal state for one decision."""

    phase: str = ""
    cross: str = ""
    entry_at: str = ""
    extreme: str = ""
    stop: str = ""
    peak: str = ""
    since: str = ""
    step: str = "0"
    tp: str = ""
    tp_peak: str = ""
    breakeven: str = ""
    reason: str = ""

    @classmethod
    def load(cls, values: Mapping[str, str]) -> TradeState:
        """Read the state saved by :meth:`values`."""
        return cls(**{f.name: values[f.name] for f in fields(cls) if f.name in values})

    def values(self) -> dict[str, str]:
        """Return every key as a string."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @staticmethod
    def number(value: str) -> Decimal | None:
        """Return a saved decimal, or None when unset."""
        return None if value == "" else Decimal(value)


def plain(value: Decimal) -> str:
    """Return ``value`` without trailing zeros or an exponent."""
    return format(value.normalize(), "f")
