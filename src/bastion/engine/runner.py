"""The live engine: wake bots when their decision can change, apply decisions crash-safely.

Each step: bring every account's active orders up to date (fills are events), read public
prices, and wake a bot only when one of its orders changed, a level it watches was crossed,
the time it asked for came, a signal is pending, or it has not decided yet. A woken bot gets a
fresh :class:`~bastion.bots.interface.BotView` built from storage and returns a decision.

Applying a decision has two phases. First, in **one transaction**: new deals, every order it
places stored INITIALIZED with its deterministic client order id, saved state, closed deals
with their figures. Then the sends and cancels through the signer, each answer stored as events.
A crash between the two leaves INITIALIZED orders that :meth:`Engine.start` reconciles: adopted
from the exchange if they reached it, sent (with the same id) if they did not. A crash anywhere
therefore loses no deal and never places an order twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.bots.config import BotConfig
from bastion.bots.interface import (
    Bot,
    BotView,
    CancelOrder,
    CloseDeal,
    DealView,
    Decision,
    OpenDeal,
    OrderView,
    PlaceOrder,
    PriceView,
    SaveState,
)
from bastion.bots.registry import load_config, make_bot, pairs_of, takes_signals
from bastion.custody.signer import AsyncSignerClient
from bastion.domain import Candle, Market, Order, OrderStatus, OrderType, timeframe_ms
from bastion.engine.accounting import deal_figures
from bastion.engine.ids import client_order_id
from bastion.engine.orders import OrderManager, Placement
from bastion.errors import BastionError
from bastion.exchanges.ccxt.adapter import AsyncCcxtExchange
from bastion.services.notify import Notifier
from bastion.storage import (
    AccountRepository,
    BotRecord,
    BotRepository,
    DealRecord,
    DealRepository,
    DealStatus,
    OrderRepository,
)
from bastion.storage.models import ApiKeyRow

__all__ = ["Engine", "EngineOptions"]

log = logging.getLogger("bastion.engine")


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineOptions:
    """How often the engine looks at the exchange (seconds)."""

    poll_interval_s: float = 2.0


@dataclass(slots=True)
class _Running:
    record: BotRecord
    config: BotConfig
    bot: Bot
    account: str
    last: Decision | None = None
    marks: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)
    dirty: bool = True


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def order_view(order: Order, leg: str, *, base: str, quote: str) -> OrderView:
    """Return the bot's view of a stored order."""
    fee_quote = sum((f.fee.amount for f in order.fills if f.fee.currency == quote), Decimal(0))
    fee_base = sum((f.fee.amount for f in order.fills if f.fee.currency == base), Decimal(0))
    updated = max((f.timestamp_ms for f in order.fills), default=0)
    return OrderView(
        leg=leg,
        client_order_id=order.client_order_id,
        side=order.side,
        type=order.type,
        price=order.price,
        amount=order.amount,
        filled=order.filled,
        cost=order.cost,
        fee_quote=fee_quote,
        fee_base=fee_base,
        status=order.status,
        updated_ms=updated,
    )


class Engine:
    """Run the enabled bots of this install against their accounts through the signer.

    Parameters
    ----------
    sessions
        Database session factory.
    signer
        The signer client; the engine holds no API secret.
    clock
        Epoch milliseconds.
    options
        Polling interval.
    notifier
        Where deal, fill, stop-loss, denial and error notifications go (apprise URLs).
    feed
        Also gets every notified event as (kind, title, body): ``bastion engine``'s live feed.
    """

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        signer: AsyncSignerClient,
        clock: Callable[[], int],
        options: EngineOptions | None = None,
        notifier: Notifier | None = None,
        feed: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.notifier = notifier or Notifier()
        self.feed = feed
        self.signer = signer
        self.clock = clock
        self.options = options or EngineOptions()
        self.orders = OrderManager(signer, sessions, clock)
        self._bots: dict[str, _Running] = {}
        self._public: dict[str, AsyncCcxtExchange] = {}
        self._markets: dict[str, dict[str, Market]] = {}
        self._notes: list[tuple[str, str, str]] = []
        self._candles_cache: dict[str, dict[str, tuple[Candle, ...]]] = {}

    # ------------------------------------------------------------------ set-up

    def _placements(
        self, rows: list[tuple[Order, int, int | None, int | None, str | None]]
    ) -> list[tuple[Order, Placement]]:
        with self.sessions() as session:
            names = {a.id: a.name for a in AccountRepository(session).all()}
        return [
            (order, Placement(account=names[acc], account_id=acc, bot_id=bot, deal_id=deal, leg=leg))
            for order, acc, bot, deal, leg in rows
        ]

    async def start(self) -> None:
        """Reconcile orders stored but not known to be sent (a crash or a lost answer)."""
        with self.sessions() as session:
            unsent = OrderRepository(session).unsent()
        if unsent:
            log.info("reconciling %d order(s) stored before a send whose answer was not seen", len(unsent))
            await self.orders.reconcile(self._placements(unsent))

    async def _public_client(self, account: str) -> AsyncCcxtExchange:
        if account not in self._public:
            with self.sessions() as session:
                record = AccountRepository(session).get(account)
                if record is None:
                    raise BastionError(f"bot account {account!r} does not exist; add its key with `bastion keys add`")
                url = session.scalar(select(ApiKeyRow.url).where(ApiKeyRow.account_id == record.id))
            client = AsyncCcxtExchange(record.exchange, url=url)  # public market data: no key
            self._markets[account] = await client.load_markets()
            self._public[account] = client
        return self._public[account]

    def _refresh_bots(self) -> None:
        with self.sessions() as session:
            records = BotRepository(session).all(enabled=True)
            accounts = {a.id: a.name for a in AccountRepository(session).all()}
        enabled = {r.name for r in records}
        for name in list(self._bots):
            if name not in enabled:
                del self._bots[name]
        for record in records:
            running = self._bots.get(record.name)
            if running is not None and running.record.config_toml == record.config_toml:
                continue
            config = load_config(record.config_toml)
            self._bots[record.name] = _Running(record, config, make_bot(config), accounts[record.account_id])

    async def close(self) -> None:
        """Close the public market-data clients."""
        for client in self._public.values():
            with contextlib.suppress(Exception):
                await client.close()
        self._public.clear()

    # ------------------------------------------------------------------ one step

    async def step(self) -> int:
        """Run one step; return how many bots decided."""
        self._refresh_bots()
        changed_bots = await self._sync_fills()
        for running in self._bots.values():
            if running.record.id in changed_bots:
                running.dirty = True
        decided = 0
        for running in list(self._bots.values()):
            try:
                prices = await self._prices(running)
                if self._woken(running, prices):
                    await self._decide(running, prices)
                    decided += 1
            except BastionError as exc:
                log.error("bot %s: %s", running.record.name, exc)
                self._notes.append(("error", f"bot {running.record.name}: error", str(exc)))
                self._flush_notes()
        return decided

    async def _sync_fills(self) -> set[int]:
        with self.sessions() as session:
            active = OrderRepository(session).active()
        by_account: dict[int, list[tuple[Order, int, int | None, int | None, str | None]]] = {}
        for row in active:
            by_account.setdefault(row[1], []).append(row)
        changed: set[int] = set()
        for rows in by_account.values():
            for order, where in await self.orders.sync_account(self._placements(rows)):
                if where.bot_id is not None:
                    changed.add(where.bot_id)
                    self._update_deal(where.deal_id)
                if (where.leg or "").startswith("so") and order.status is OrderStatus.FILLED:
                    self._notes.append(
                        (
                            "safety_order_filled",
                            f"deal {where.deal_id}: safety order {where.leg} filled",
                            f"{order.side} {order.filled} {order.symbol} at {order.average_price}",
                        )
                    )
        self._flush_notes()
        return changed

    async def _prices(self, running: _Running) -> dict[str, PriceView]:
        client = await self._public_client(running.account)
        now = self.clock()
        prices = {}
        for symbol in pairs_of(running.config):
            ticker = await client.fetch_ticker(symbol)
            last = ticker.last if ticker.last is not None else (ticker.bid or ticker.ask or Decimal(0))
            high, low = running.marks.get(symbol, (last, last))
            high, low = max(high, last), min(low, last)
            running.marks[symbol] = (high, low)
            prices[symbol] = PriceView(
                symbol=symbol, last=last, high=high, low=low, bid=ticker.bid, ask=ticker.ask, time_ms=now
            )
        return prices

    def _woken(self, running: _Running, prices: dict[str, PriceView]) -> bool:
        last = running.last
        if running.dirty or last is None:
            return True
        if last.wake_at_ms is not None and self.clock() >= last.wake_at_ms:
            return True
        for watch in last.watch:
            price = prices.get(watch.symbol)
            if price is None:
                continue
            if watch.above is not None and price.high >= watch.above:
                return True
            if watch.below is not None and price.low <= watch.below:
                return True
        return self._has_signals(running)

    def _has_signals(self, running: _Running) -> bool:
        if not takes_signals(running.config):
            return False
        from bastion.storage.repositories.signals import SignalRepository

        with self.sessions() as session:
            return bool(SignalRepository(session).pending(running.record.id))

    # ------------------------------------------------------------------ the view

    def _view(self, running: _Running, prices: dict[str, PriceView], balances: dict[str, Decimal]) -> BotView:
        record = running.record
        markets = self._markets[running.account]
        with self.sessions() as session:
            deals_repo, orders_repo = DealRepository(session), OrderRepository(session)
            views = []
            for deal in deals_repo.for_bot(record.id, status=DealStatus.OPEN):
                assert deal.id is not None
                base, quote = deal.pair.split("/")
                legs = orders_repo.legs(deal.id)
                orders = tuple(
                    order_view(o, legs.get(o.client_order_id) or o.client_order_id, base=base, quote=quote)
                    for o in orders_repo.for_deal(deal.id)
                )
                views.append(
                    DealView(
                        id=deal.id,
                        pair=deal.pair,
                        direction=deal.direction,
                        opened_ms=_ms(deal.opened_at) or 0,
                        orders=orders,
                        state=deals_repo.state(deal.id),
                    )
                )
            closed_count, last_closed = deals_repo.closed_summary(record.id)
            state = BotRepository(session).state(record.name)
            signals = self._signals(session, running)
        return BotView(
            bot=record.name,
            now_ms=self.clock(),
            markets={s: markets[s] for s in pairs_of(running.config) if s in markets},
            prices=prices,
            deals=tuple(views),
            closed_deals=closed_count,
            last_closed_ms=_ms(last_closed),
            balances=balances,
            state=state,
            candles=self._candles_cache.get(record.name, {}),
            signals=signals,
        )

    def _signals(self, session: Session, running: _Running) -> tuple[Any, ...]:
        if not takes_signals(running.config):
            return ()
        from bastion.bots.interface import Signal
        from bastion.storage.repositories.signals import SignalRepository

        return tuple(
            Signal(
                id=str(s.id),
                action=s.action,
                pair=s.pair,
                amount=s.amount,
                currency_type=s.currency_type,
                trigger_price=s.trigger_price,
                received_ms=s.received_ms,
            )
            for s in SignalRepository(session).pending(running.record.id)
        )

    async def _fetch_candles(self, running: _Running) -> None:
        """Fetch the completed candles a bot's config asks for (``timeframe`` and ``candles_wanted``)."""
        timeframe = running.config.timeframe
        wanted = running.config.candles_wanted
        if timeframe is None or wanted <= 0:
            return
        client = await self._public_client(running.account)
        now = self.clock()
        span = timeframe_ms(timeframe)
        series = {}
        for symbol in pairs_of(running.config):
            candles = await client.fetch_ohlcv(symbol, timeframe, limit=min(wanted + 1, 1000))
            # Only completed candles: on a replaying simulator market time is not wall time,
            # so the last candle (still forming) is dropped whatever its timestamp says.
            done = [c for c in candles[:-1] if c.ts_ms + span <= max(now, candles[-1].ts_ms)]
            series[symbol] = tuple(done)
        self._candles_cache[running.record.name] = series

    # ------------------------------------------------------------------ deciding and applying

    async def _decide(self, running: _Running, prices: dict[str, PriceView]) -> None:
        await self._fetch_candles(running)
        free = await self.signer.call("balances", account=running.account)
        balances = {c: Decimal(b["free"]) for c, b in free.items()}
        view = self._view(running, prices, balances)
        decision = running.bot.decide(view)
        running.last = decision
        running.dirty = False
        running.marks = {s: (p.last, p.last) for s, p in prices.items()}
        for note in decision.notes:
            log.info("bot %s: %s", running.record.name, note)
        sends, cancels = self._record(running, decision, prices, view)
        for order, where in cancels:
            if order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                await self.orders.cancel(order, where)
                running.dirty = True
        for order, where in sends:
            await self.orders.submit(order, where)
            running.dirty = True
        for order, where in sends:
            if order.status is OrderStatus.REJECTED:
                kind = "policy_denial" if "denied" in (order.reason or "") else "error"
                self._notes.append((kind, f"{running.record.name}: order {where.leg} refused", order.reason or ""))
        self._mark_signals(running, view)
        for deal in view.deals:
            self._update_deal(deal.id)
        self._flush_notes()

    def _flush_notes(self) -> None:
        notes, self._notes = self._notes, []
        for kind, title, body in notes:
            self.notifier.notify(kind, title, body)
            if self.feed is not None:
                self.feed(kind, title, body)

    def _mark_signals(self, running: _Running, view: BotView) -> None:
        if not view.signals:
            return
        from bastion.storage.repositories.signals import SignalRepository

        with self.sessions.begin() as session:
            repo = SignalRepository(session)
            for signal in view.signals:
                repo.mark(int(signal.id), "handled", None)

    def _record(
        self, running: _Running, decision: Decision, prices: dict[str, PriceView], view: BotView
    ) -> tuple[list[tuple[Order, Placement]], list[tuple[Order, Placement]]]:
        """Phase one: store the whole decision in one transaction; return what to send and cancel."""
        record = running.record
        now = self.clock()
        refs: dict[str, int] = {}
        sends: list[tuple[Order, Placement]] = []
        cancels: list[tuple[Order, Placement]] = []
        with self.sessions.begin() as session:
            deals, orders, bots = DealRepository(session), OrderRepository(session), BotRepository(session)
            for action in decision.actions:
                if isinstance(action, OpenDeal):
                    saved = deals.save(
                        DealRecord(bot_id=record.id, pair=action.pair, direction=action.direction, opened_at=_utc(now))
                    )
                    assert saved.id is not None
                    refs[action.ref] = saved.id
                    log.info("bot %s: deal %s opened on %s", record.name, saved.id, action.pair)
                    self._notes.append(
                        ("deal_opened", f"{record.name}: deal {saved.id} opened", f"{action.direction} {action.pair}")
                    )
                elif isinstance(action, PlaceOrder):
                    deal_id = refs[action.deal] if isinstance(action.deal, str) else action.deal
                    order = self._order(running, action, deal_id, prices)
                    if order is None or orders.get(order.client_order_id) is not None:
                        continue  # already stored by an earlier decision: never twice
                    where = Placement(
                        account=running.account,
                        account_id=record.account_id,
                        bot_id=record.id,
                        deal_id=deal_id,
                        leg=action.leg,
                    )
                    self.orders.store(session, order, where)
                    sends.append((order, where))
                elif isinstance(action, CancelOrder):
                    cid = client_order_id(record.id, action.deal, action.leg)
                    order = orders.get(cid)
                    if order is not None:
                        cancels.append(
                            (
                                order,
                                Placement(
                                    account=running.account,
                                    account_id=record.account_id,
                                    bot_id=record.id,
                                    deal_id=action.deal,
                                    leg=action.leg,
                                ),
                            )
                        )
                elif isinstance(action, SaveState):
                    if action.deal is None:
                        bots.save_state(record.name, action.values)
                    else:
                        deal_id = refs[action.deal] if isinstance(action.deal, str) else action.deal
                        deals.save_state(deal_id, action.values)
                elif isinstance(action, CloseDeal):
                    self._close(session, action, now)
        return sends, cancels

    def _order(self, running: _Running, action: PlaceOrder, deal_id: int, prices: dict[str, PriceView]) -> Order | None:
        market = self._markets[running.account][action.symbol]
        amount = action.amount
        if amount is None and action.quote_amount is not None:
            # A market order sized in quote goes out sized in base at the current touch price,
            # so the stored order has an exact amount before it is sent.
            price = prices[action.symbol]
            touch = (price.ask if action.side == "buy" else price.bid) or price.last
            amount = market.floor_amount(action.quote_amount / touch)
        if amount is None or amount <= 0:
            log.warning("bot %s: order %s has no amount; skipped", running.record.name, action.leg)
            return None
        return Order(
            client_order_id=client_order_id(running.record.id, deal_id, action.leg),
            symbol=action.symbol,
            side=action.side,
            type=action.type,
            amount=amount,
            price=action.price if action.type is OrderType.LIMIT else None,
        )

    def _close(self, session: Session, action: CloseDeal, now: int) -> None:
        deals = DealRepository(session)
        deal = deals.get(action.deal)
        if deal is None or deal.status is not DealStatus.OPEN:
            return
        figures = self._figures(session, deal)
        close_price = figures.average_exit  # the closing side: sells of a long, buy-backs of a short
        if close_price is None:  # closed without an exit fill (cancelled before entry)
            close_price = Decimal(0)
        profit = figures.profit_quote(close_price).quantize(Decimal("1E-8"))
        deals.save(
            replace(
                self._with_figures(session, deal, figures),
                status=DealStatus.CLOSED,
                close_price=close_price or None,
                profit_quote=profit,
                closed_at=_utc(now),
            )
        )
        quote = deal.pair.split("/")[1]
        log.info("deal %s closed (%s): profit %s %s", deal.id, action.reason, profit, quote)
        kind = "stop_loss" if "stop" in action.reason.lower() else "deal_closed"
        self._notes.append(
            (
                kind,
                f"deal {deal.id} closed: {action.reason}",
                f"{deal.pair} closed at {close_price}, profit {profit} {quote}",
            )
        )

    def _figures(self, session: Session, deal: DealRecord) -> Any:
        assert deal.id is not None
        base, quote = deal.pair.split("/")
        return deal_figures(
            OrderRepository(session).for_deal(deal.id), direction=deal.direction, base=base, quote=quote
        )

    def _with_figures(self, session: Session, deal: DealRecord, figures: Any) -> DealRecord:
        assert deal.id is not None
        orders = OrderRepository(session)
        legs = orders.legs(deal.id)
        by_leg = {legs.get(o.client_order_id) or "": o for o in orders.for_deal(deal.id)}
        base_order = by_leg.get("base")
        safety = sum(1 for leg, o in by_leg.items() if leg.startswith("so") and o.status is OrderStatus.FILLED)
        take_profit = next(
            (
                o.price
                for leg, o in sorted(by_leg.items())
                if leg.startswith("tp") and o.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
            ),
            deal.take_profit_price,
        )
        return replace(
            deal,
            base_order_price=None if base_order is None else base_order.average_price,
            safety_orders_filled=safety,
            avg_price=figures.average_entry,
            take_profit_price=take_profit,
            amount=figures.base_held,
            cost_quote=figures.quote_spent,
        )

    def _update_deal(self, deal_id: int | None) -> None:
        if deal_id is None:
            return
        with self.sessions.begin() as session:
            deals = DealRepository(session)
            deal = deals.get(deal_id)
            if deal is None or deal.status is not DealStatus.OPEN:
                return
            deals.save(self._with_figures(session, deal, self._figures(session, deal)))

    # ------------------------------------------------------------------ loop

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile, then step every ``poll_interval_s`` until ``stop`` is set."""
        await self.start()
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except BastionError as exc:
                    log.error("engine step failed: %s", exc)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.options.poll_interval_s)
        finally:
            await self.close()


