"""Markets: the precision, limits and fees of each exchange's markets."""

from __future__ import annotations

from sqlalchemy import select

from bastion.domain.market import Market
from bastion.storage.models import MarketRow
from bastion.storage.repositories._base import Repository

__all__ = ["MarketRepository"]

_FIELDS = (
    "base",
    "quote",
    "tick_size",
    "lot_step",
    "min_amount",
    "max_amount",
    "min_price",
    "max_price",
    "min_notional",
    "max_notional",
    "maker_fee",
    "taker_fee",
)


def _market(row: MarketRow) -> Market:
    return Market(symbol=row.symbol, **{name: getattr(row, name) for name in _FIELDS})


class MarketRepository(Repository):
    """Store and load :class:`bastion.domain.Market` per exchange."""

    def upsert(self, exchange: str, market: Market) -> None:
        """Insert the market, or replace what is stored for ``(exchange, market.symbol)``."""
        row = self.session.scalar(
            select(MarketRow).where(MarketRow.exchange == exchange, MarketRow.symbol == market.symbol)
        )
        if row is None:
            row = MarketRow(exchange=exchange, symbol=market.symbol)
            self.session.add(row)
        for name in _FIELDS:
            setattr(row, name, getattr(market, name))
        row.updated_at = self.clock()
        self.session.flush()

    def get(self, exchange: str, symbol: str) -> Market | None:
        """Return the stored market, or None."""
        row = self.session.scalar(select(MarketRow).where(MarketRow.exchange == exchange, MarketRow.symbol == symbol))
        return None if row is None else _market(row)

    def all(self, exchange: str) -> list[Market]:
        """Return the exchange's stored markets, ordered by symbol."""
        rows = self.session.scalars(select(MarketRow).where(MarketRow.exchange == exchange).order_by(MarketRow.symbol))
        return [_market(r) for r in rows]
