"""The engine's gateway for paper accounts: orders matched in process, never sent.

Same answers as :class:`~bastion.engine.gateway.SignerGateway` (core events), but the orders go
to a :class:`~bastion.exchanges.paper.PaperVenue`: the simulator's matching core over the
exchange's public candles, fetched with ccxt (no key). Before placing an order or syncing, the
venue gets the candles that closed since it last looked (resting orders fill along their path);
after every change the venue's document (balances, orders) is stored in the account's
``paper_accounts`` row, so a restart goes on where it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bastion.domain import Fill, Money, Order, OrderStatus
from bastion.engine.core import OrderReport, OrderTag, RejectKind, report_events
from bastion.engine.core.events import Event, Rejected
from bastion.errors import BastionError
from bastion.exchanges.paper import PaperVenue
from bastion.exchanges.simulator.apierrors import MSG_INSUFFICIENT_BALANCE, ApiError
from bastion.exchanges.simulator.orders import Order as VenueOrder

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from bastion.exchanges.ccxt.adapter import AsyncCcxtExchange

__all__ = ["TIMEFRAMES", "PaperGateway", "order_report"]

log = logging.getLogger("bastion.engine")

#: Candle intervals tried in turn: the finest the exchange serves feeds the matcher.
TIMEFRAMES = (("1m", 60_000), ("5m", 300_000), ("15m", 900_000), ("1h", 3_600_000))
_WINDOW = 500

_STATUS = {
    "NEW": OrderStatus.ACCEPTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}


def order_report(order: VenueOrder) -> OrderReport:
    """The venue's order as the core reads an exchange's answer."""
    return OrderReport(
        exchange_order_id=str(order.order_id),
        status=_STATUS[order.status],
        filled=order.executed_qty,
        fills=tuple(
            Fill(
                trade_id=str(t.trade_id),
                price=t.price,
                amount=t.qty,
                fee=Money(t.commission, t.commission_asset),
                is_maker=t.is_maker,
                timestamp_ms=t.time,
            )
            for t in order.trades
        ),
    )


class PaperGateway:
    """Place, cancel and sync the orders of paper accounts on their in-process venues.

    Parameters
    ----------
    sessions
        The database holding each paper account's document.
    public
        Returns the public (keyless) market-data client of an account name.
    account_ids
        Returns the database id of an account name.
    clock
        Epoch milliseconds.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        public: Callable[[str], Any],
        account_ids: Callable[[str], int],
        clock: Callable[[], int],
    ) -> None:
        self.sessions = sessions
        self._public = public
        self._ids = account_ids
        self.clock = clock
        self.venues: dict[str, PaperVenue] = {}
        self._timeframe: dict[str, tuple[str, int]] = {}

    # ------------------------------------------------------------------ venue and candles

    def _venue(self, account: str) -> PaperVenue:
        venue = self.venues.get(account)
        if venue is None:
            from bastion.storage import AccountRepository

            with self.sessions() as session:
                document = AccountRepository(session).paper_document(self._ids(account))
            if document is None:
                raise BastionError(f"account {account!r} is not a paper account")
            venue = self.venues[account] = PaperVenue.from_document(account, document, clock=self.clock)
        return venue

    def _save(self, account: str) -> None:
        from bastion.storage import AccountRepository

        with self.sessions.begin() as session:
            AccountRepository(session).save_paper_document(self._ids(account), self.venues[account].document())

    async def _candles(self, account: str, client: AsyncCcxtExchange, symbol: str, since_ms: int | None) -> Any:
        key = f"{account}:{symbol}"
        chosen = self._timeframe.get(key)
        choices = [chosen] if chosen is not None else list(TIMEFRAMES)
        error: BastionError | None = None
        for name, span in choices:
            try:
                rows = await client.fetch_ohlcv(symbol, name, since_ms=since_ms, limit=_WINDOW)
            except BastionError as exc:  # an interval this exchange does not serve: the next one
                error = exc
                continue
            self._timeframe[key] = (name, span)
            now = self.clock()
            return span, [c for c in rows if c.ts_ms + span <= now]  # completed candles only
        raise BastionError(f"paper account {account}: no candles for {symbol}: {error}")

    async def refresh(self, account: str, symbols: Iterable[str]) -> None:
        """Feed the account's venue the candles that closed since it last looked (fills resting orders)."""
        venue = self._venue(account)
        client: AsyncCcxtExchange = await self._public(account)
        changed = False
        for symbol in sorted(set(symbols)):
            if not venue.has_market(symbol):
                markets = await client.load_markets()
                if symbol not in markets:
                    raise BastionError(f"paper account {account}: the exchange has no market {symbol}")
                span, candles = await self._candles(account, client, symbol, None)
                if not candles:
                    raise BastionError(f"paper account {account}: no completed candle of {symbol} yet")
                venue.add_market(markets[symbol], span, candles)
                changed = True
                continue
            engine = venue.engines[symbol]
            last = engine.candles[len(engine.candles) - 1].ts_ms
            _, candles = await self._candles(account, client, symbol, last)
            if venue.on_candles(symbol, candles):
                changed = True
        if changed:
            self._save(account)

    # ------------------------------------------------------------------ the gateway's answers

    async def place(self, order: Order, tag: OrderTag) -> list[Event]:
        """Match a stored INITIALIZED order on the paper venue; return what happened as events."""
        cid = order.client_order_id
        try:
            await self.refresh(tag.account, [order.symbol])
        except BastionError as exc:  # no market data: the venue never saw the order
            reason = f"paper account {tag.account}: no market data for {order.symbol}: {exc}"
            return [Rejected(client_order_id=cid, kind=RejectKind.EXCHANGE_REFUSED, reason=reason)]
        try:
            placed = self._venue(tag.account).place(
                order.symbol,
                side=str(order.side),
                order_type=str(order.type),
                amount=order.amount,
                price=order.price,
                client_order_id=cid,
            )
        except ApiError as exc:
            kind = RejectKind.INSUFFICIENT_FUNDS if exc.msg == MSG_INSUFFICIENT_BALANCE else RejectKind.EXCHANGE_REFUSED
            return [Rejected(client_order_id=cid, kind=kind, reason=f"{exc.code}: {exc.msg} (paper)")]
        self._save(tag.account)
        return report_events(order, order_report(placed))

    async def cancel(self, order: Order, tag: OrderTag) -> list[Event]:
        """Cancel an order on the paper venue; return the cancel, or the fills that beat it."""
        await self.refresh(tag.account, [order.symbol])
        venue = self._venue(tag.account)
        try:
            done = venue.cancel(order.symbol, order.client_order_id)
        except ApiError:
            found = venue.find(order.symbol, client_order_id=order.client_order_id)
            if found is None:
                return []
            done = found
        self._save(tag.account)
        return report_events(order, order_report(done))

    async def find(self, order: Order, tag: OrderTag) -> list[Event] | None:
        """Look an unanswered order up by client id: its events, or None when the venue never got it."""
        await self.refresh(tag.account, [order.symbol])
        found = self._venue(tag.account).find(order.symbol, client_order_id=order.client_order_id)
        return None if found is None else report_events(order, order_report(found))

    async def sync(self, account: str, orders: list[tuple[Order, OrderTag]]) -> list[Event]:
        """Bring the account's active orders up to date with the candles that closed since."""
        if not orders:
            return []
        await self.refresh(account, [o.symbol for o, _ in orders])
        venue = self._venue(account)
        events: list[Event] = []
        for order, _ in orders:
            found = None
            if order.exchange_order_id is not None:
                found = venue.find(order.symbol, order_id=int(order.exchange_order_id))
            if found is None:
                found = venue.find(order.symbol, client_order_id=order.client_order_id)
            if found is not None:
                events += report_events(order, order_report(found))
        return events

    async def balances(self, account: str) -> dict[str, Decimal]:
        """Free balance per currency."""
        return {asset: free for asset, (free, _) in self._venue(account).balances().items()}
