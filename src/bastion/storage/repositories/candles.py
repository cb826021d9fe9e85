"""Candles: recorded OHLCV series, keyed by (exchange, symbol, timeframe, open time)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.dialects import postgresql, sqlite

from bastion.domain import Candle
from bastion.errors import ValidationError
from bastion.storage.models import CandleRow
from bastion.storage.records import UpsertCounts
from bastion.storage.repositories._base import Repository

__all__ = ["CandleRepository"]

_VALUES = ("open", "high", "low", "close", "volume")
_BATCH = 500


def _candle(row: Any) -> Candle:
    return Candle(row.ts_ms, row.open, row.high, row.low, row.close, row.volume)


class CandleRepository(Repository):
    """Bulk upsert and read candle series."""

    def upsert_many(self, exchange: str, symbol: str, timeframe: str, candles: Sequence[Candle]) -> UpsertCounts:
        """Insert new candles and overwrite stored ones whose values differ; idempotent.

        Parameters
        ----------
        exchange, symbol, timeframe
            The series, e.g. ``"simulator"``, ``"BTC/USDT"``, ``"5m"``.
        candles
            Candles with distinct ``ts_ms`` (any order).

        Returns
        -------
        UpsertCounts
            How many candles were new, changed, and already stored with the same values.
        """
        if not candles:
            return UpsertCounts(0, 0, 0)
        seen: set[int] = set()
        for candle in candles:
            if candle.ts_ms in seen:
                raise ValidationError(
                    f"{symbol} {timeframe}: candle time {candle.ts_ms} appears twice; expected distinct times"
                )
            seen.add(candle.ts_ms)
        stored = {
            candle.ts_ms: candle
            for candle in self.series(exchange, symbol, timeframe, start_ms=min(seen), end_ms=max(seen))
        }
        changed = [c for c in candles if stored.get(c.ts_ms) != c]
        new = sum(1 for c in changed if c.ts_ms not in stored)
        key = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe}
        for start in range(0, len(changed), _BATCH):
            chunk = changed[start : start + _BATCH]
            rows = [{**key, "ts_ms": c.ts_ms, **{name: getattr(c, name) for name in _VALUES}} for c in chunk]
            self.session.execute(self._upsert(), rows)
        return UpsertCounts(new=new, updated=len(changed) - new, unchanged=len(candles) - len(changed))

    def series(
        self,
        exchange: str,
        symbol: str,
        timeframe: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[Candle]:
        """Return the stored candles with ``start_ms <= ts_ms <= end_ms``, oldest first."""
        query = (
            select(CandleRow.ts_ms, *(getattr(CandleRow, n) for n in _VALUES))
            .where(*self._key(exchange, symbol, timeframe))
            .order_by(CandleRow.ts_ms)
        )
        if start_ms is not None:
            query = query.where(CandleRow.ts_ms >= start_ms)
        if end_ms is not None:
            query = query.where(CandleRow.ts_ms <= end_ms)
        return [_candle(row) for row in self.session.execute(query)]

    def count(self, exchange: str, symbol: str, timeframe: str) -> int:
        """Return how many candles the series has."""
        query = select(func.count()).select_from(CandleRow).where(*self._key(exchange, symbol, timeframe))
        return self.session.scalar(query) or 0

    @staticmethod
    def _key(exchange: str, symbol: str, timeframe: str) -> tuple[ColumnElement[bool], ...]:
        return (CandleRow.exchange == exchange, CandleRow.symbol == symbol, CandleRow.timeframe == timeframe)

    def _upsert(self) -> Any:
        dialect = self.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(CandleRow)
        return statement.on_conflict_do_update(
            index_elements=["exchange", "symbol", "timeframe", "ts_ms"],
            set_={name: statement.excluded[name] for name in _VALUES},
        )
