"""Replay pacing: how many candles each symbol moves for the wall time that passed."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["ReplayPacer"]


class ReplayPacer:
    """Turn elapsed seconds into whole candles per symbol, carrying the fractions over.

    Parameters
    ----------
    rates
        Candles per second for each symbol; a rate of 0 never moves.
    """

    def __init__(self, rates: Mapping[str, float]) -> None:
        self.rates = {symbol: rate for symbol, rate in rates.items() if rate > 0}
        self._carry = dict.fromkeys(self.rates, 0.0)

    @property
    def active(self) -> bool:
        """Return True if any symbol moves on its own."""
        return bool(self.rates)

    @property
    def tick_seconds(self) -> float:
        """Return how often to wake: one candle of the fastest symbol, within 5 ms .. 1 s."""
        if not self.rates:
            return 1.0
        return min(1.0, max(0.005, 1.0 / max(self.rates.values())))

    def due(self, elapsed: float) -> dict[str, int]:
        """Return the whole candles each symbol owes after ``elapsed`` more seconds."""
        result: dict[str, int] = {}
        for symbol, rate in self.rates.items():
            total = self._carry[symbol] + elapsed * rate
            whole = int(total)
            self._carry[symbol] = total - whole
            if whole:
                result[symbol] = whole
        return result
