"""What one ``decide`` call collects before it becomes a frozen Decision: one builder for every bot package."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from bastion.bots.interface import Action, CancelOrder, Decision, SaveState, Watch


@dataclass(slots=True)
class Outcome:
    """Actions, watched levels, wake times and notes, in the order they were decided."""

    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _above: dict[str, Decimal] = field(default_factory=dict)
    _below: dict[str, Decimal] = field(default_factory=dict)
    _symbols: list[str] = field(default_factory=list)
    _wakes: list[int] = field(default_factory=list)

    def act(self, action: Action) -> None:
        self.actions.append(action)

    def cancel(self, deal: int, legs: list[str], reason: str) -> None:
        for leg in legs:
            self.actions.append(CancelOrder(deal=deal, leg=leg, reason=reason))

    def save(self, deal: int | str | None, values: Mapping[str, str]) -> None:
        self.actions.append(SaveState(deal=deal, values=values))

    def note(self, text: str) -> None:
        self.notes.append(text)

    def watch(self, symbol: str, *, above: Decimal | None = None, below: Decimal | None = None) -> None:
        """Keep the nearest level on each side: crossing it is enough to wake the bot."""
        if above is None and below is None:
            return
        if symbol not in self._symbols:
            self._symbols.append(symbol)
        if above is not None:
            self._above[symbol] = min(above, self._above.get(symbol, above))
        if below is not None:
            self._below[symbol] = max(below, self._below.get(symbol, below))

    def wake(self, at_ms: int) -> None:
        self._wakes.append(at_ms)

    def decision(self) -> Decision:
        watches = tuple(
            Watch(symbol=symbol, above=self._above.get(symbol), below=self._below.get(symbol))
            for symbol in self._symbols
        )
        return Decision(
            actions=tuple(self.actions),
            watch=watches,
            wake_at_ms=min(self._wakes) if self._wakes else None,
            notes=tuple(self.notes),
        )
