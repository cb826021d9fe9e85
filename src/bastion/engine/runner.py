"""The live engine: a thin shell around the engine core.

Each step: feed the core the clock, the bots as storage has them (new bots, the user's on/off
switch), the manual commands waiting in the queue, what the exchange says about active orders,
public prices (one request per (exchange, symbol)) and pending webhook signals; then let every
bot the core says is due decide on the view the core builds, and hand the decision back.

The core answers every event with effects. The shell stores the storable ones in **one
transaction first**, then sends orders and cancels through the signer (feeding the answers
back as events), then notifies (rate-limited per bot and kind). A crash between storing and
sending leaves INITIALIZED orders that :meth:`Engine.start` reconciles: adopted from the exchange
if they reached it, sent (with the same client id) if they did not.

Any exception while viewing, deciding or applying for one bot puts that bot in ``error`` (its
traceback in the log, retried with backoff); the other bots go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bastion.bots.config import BotConfig
from bastion.bots.interface import Signal
from bastion.bots.registry import load_config, make_bot, pairs_of, takes_signals
from bastion.custody.signer import AsyncSignerClient
from bastion.domain import Candle, Market
from bastion.engine.core import BotStatus, EngineCore, NotifyGate, NotifyKind, StopMode
from bastion.engine.core.effects import STORED, Effect, Notify, RequestCancel, SendOrder
from bastion.engine.core.events import (
    AddFundsCommand,
    BotDecided,
    BotFailed,
    BotLoaded,
    CancelDealCommand,
    CloseDealCommand,
    EditBotCommand,
    Event,
    PriceUpdated,
    SignalsArrived,
    StartBotCommand,
    StopBotCommand,
    TimeAdvanced,
)
from bastion.engine.gateway import SignerGateway
from bastion.engine.market_hub import MarketHub, RestFeed
from bastion.engine.paper import PaperGateway
from bastion.engine.store import load_deals, store_effects
from bastion.errors import BastionError
from bastion.exchanges.ccxt.adapter import AsyncCcxtExchange
from bastion.services.notify import Notifier
from bastion.storage import (
    AccountRepository,
    BotRecord,
    BotRepository,
    CommandRecord,
    CommandRepository,
    DealRepository,
    SignalRepository,
)

__all__ = ["Engine", "EngineOptions"]

log = logging.getLogger("bastion.engine")


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineOptions:
    """How often the engine looks at the exchange (seconds)."""

    poll_interval_s: float = 2.0


@dataclass(frozen=True, slots=True)
class _Account:
    id: int
    name: str
    exchange: str
    url: str | None
    paper: bool = False

    @property
    def venue(self) -> str:
        """The market-data key: exchange, and the URL when it is not the exchange's own."""
        return self.exchange if self.url is None else f"{self.exchange}@{self.url}"


class Engine:
    """Run the bots of this install against their accounts through the signer.

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
        Where deal, fill, stop-loss, denial, status and error notifications go (apprise URLs).
    feed
        Also gets every event as (kind, title, body), before rate limiting: ``bastion engine``'s live feed.
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
        self.gateway = SignerGateway(signer)
        self.clock = clock
        self.paper = PaperGateway(
            sessions=sessions,
            public=self._paper_client,
            account_ids=lambda name: self._accounts[name].id,
            clock=clock,
        )
        self.options = options or EngineOptions()
        self.gate = NotifyGate()
        self.core = EngineCore(now_ms=clock())
        self._accounts: dict[str, _Account] = {}
        self._public: dict[str, AsyncCcxtExchange] = {}
        self.hub = MarketHub(clock=clock)
        self._markets: dict[str, dict[str, Market]] = {}
        self._broken: dict[int, str] = {}
        self._stale = False
        self._deals_loaded = False

    # ------------------------------------------------------------------ set-up

    def _load_accounts(self, session: Session) -> None:
        for record in AccountRepository(session).all():
            self._accounts[record.name] = _Account(record.id, record.name, record.exchange, record.url, record.paper)

    def _gateway(self, account: str) -> SignerGateway | PaperGateway:
        """Paper accounts' orders go to the in-process paper venue; every other account's to the signer."""
        known = self._accounts.get(account)
        return self.paper if known is not None and known.paper else self.gateway

    async def _paper_client(self, account: str) -> AsyncCcxtExchange:
        return await self._public_client(self._accounts[account])

    async def start(self) -> None:
        """Load bots, open deals and their orders into the core; settle orders whose answer was not seen."""
        with self.sessions() as session:
            self._load_accounts(session)
            next_id = DealRepository(session).max_id() + 1
            names = {a.id: a.name for a in self._accounts.values()}
            deals = load_deals(session, names)
        self.core = EngineCore(next_deal_id=next_id, now_ms=self.clock())
        self._deals_loaded = False
        await self._refresh_bots()
        for event in deals:
            self.core.apply(event)
        self._deals_loaded = True
        for slot in list(self.core.bots.values()):  # stopped while no engine ran, and no deal left
            await self._execute(self.core.settle_stopping(slot))
        unsent = self.core.unsent_orders()
        if unsent:
            log.info("reconciling %d order(s) stored before a send whose answer was not seen", len(unsent))
        for entry in unsent:
            events = await self._gateway(entry.tag.account).find(entry.order, entry.tag)
            if events is None:
                log.info("order %s never reached the exchange: sending it now", entry.order.client_order_id)
                await self._execute([SendOrder(order=entry.order, tag=entry.tag)])
            else:
                log.info("order %s was on the exchange: adopting it", entry.order.client_order_id)
                await self._feed(events)

    async def _public_client(self, account: _Account) -> AsyncCcxtExchange:
        if account.venue not in self._public:
            client = AsyncCcxtExchange(account.exchange, url=account.url)  # public market data: no key
            self._markets[account.venue] = await client.load_markets()
            self._public[account.venue] = client
            if not self.hub.has_feed(account.venue):
                self.hub.add_feed(account.venue, RestFeed(client))
        return self._public[account.venue]

    async def close(self) -> None:
        """Close the market-data hub and the public market-data clients."""
        with contextlib.suppress(Exception):
            await self.hub.close()
        for client in self._public.values():
            with contextlib.suppress(Exception):
                await client.close()
        self._public.clear()

    # ------------------------------------------------------------------ bots from storage

    async def _refresh_bots(self) -> None:
        with self.sessions() as session:
            records = BotRepository(session).all()
            if any(self._account_of(r) is None for r in records):
                self._load_accounts(session)
            closed = {r.id: DealRepository(session).closed_summary(r.id) for r in records if r.id not in self.core.bots}
            states = {r.id: BotRepository(session).state(r.name) for r in records if r.id not in self.core.bots}
        for record in records:
            slot = self.core.bots.get(record.id)
            try:
                if slot is None:
                    await self._load_bot(record, closed[record.id], states[record.id])
                    if self._deals_loaded:  # a bot stopped while no engine ran, without deals: stopped
                        await self._execute(self.core.settle_stopping(self.core.bots[record.id]))
                    continue
                if record.config_toml != slot.config_toml:
                    await self._load_bot(record, None, None)
                if record.enabled and slot.status in (BotStatus.STOPPED, BotStatus.STOPPING, BotStatus.PAUSED):
                    await self._execute(self.core.apply(StartBotCommand(command_id=None, bot_id=record.id)))
                elif not record.enabled and slot.status in (BotStatus.RUNNING, BotStatus.ERROR):
                    await self._execute(self.core.apply(StopBotCommand(command_id=None, bot_id=record.id)))
            except Exception as exc:  # a config that no longer loads, an account gone: this bot only
                self._bot_broken(record, exc)

    def _account_of(self, record: BotRecord) -> _Account | None:
        return next((a for a in self._accounts.values() if a.id == record.account_id), None)

    async def _load_bot(self, record: BotRecord, closed: Any, state: dict[str, str] | None) -> None:
        account = self._account_of(record)
        if account is None:
            raise BastionError(f"bot {record.name}: its account (id {record.account_id}) has no key in this install")
        config = load_config(record.config_toml)
        await self._public_client(account)
        status = BotStatus(record.status)
        if record.enabled and status in (BotStatus.STOPPED, BotStatus.STOPPING, BotStatus.PAUSED):
            status = BotStatus.RUNNING  # started while no engine ran
        elif not record.enabled and status in (BotStatus.RUNNING, BotStatus.ERROR):
            status = BotStatus.STOPPING  # stopped while no engine ran; settles to stopped without deals
        if status.value != record.status:  # what the user's switch asked for while no engine ran
            reason = "" if status is BotStatus.RUNNING else (record.status_reason or "")
            enabled = status in (BotStatus.RUNNING, BotStatus.ERROR)
            with self.sessions.begin() as session:
                BotRepository(session).set_status(record.id, status.value, reason, enabled=enabled)
            record = replace(record, status=status.value, status_reason=reason or None)
        count, last = closed if closed is not None else (0, None)
        self.core.apply(
            BotLoaded(
                bot_id=record.id,
                name=record.name,
                kind=record.type,
                account=account.name,
                exchange=account.venue,
                bot=make_bot(config),
                config=config,
                config_toml=record.config_toml,
                markets=self._markets[account.venue],
                pairs=pairs_of(config),
                takes_signals=takes_signals(config),
                status=status,
                reason=record.status_reason or "",
                state=state or {},
                closed_deals=count,
                last_closed_ms=None if last is None else int(last.timestamp() * 1000),
            )
        )
        self._broken.pop(record.id, None)

    def _bot_broken(self, record: BotRecord, exc: Exception) -> None:
        why = f"{type(exc).__name__}: {exc}"
        if self._broken.get(record.id) == why:
            return
        self._broken[record.id] = why
        log.error("bot %s cannot be loaded: %s", record.name, why, exc_info=exc)
        with self.sessions.begin() as session:
            BotRepository(session).set_status(record.id, BotStatus.ERROR.value, why, enabled=record.enabled)
        self._notify(Notify(bot_id=record.id, kind=NotifyKind.ERROR, title=f"bot {record.name} error", body=why))

    # ------------------------------------------------------------------ commands

    async def _commands(self) -> None:
        with self.sessions() as session:
            pending = CommandRepository(session).pending()
        for command in pending:
            try:
                event = self._command_event(command)
            except BastionError as exc:
                with self.sessions.begin() as session:
                    CommandRepository(session).finish(command.id, ok=False, result=str(exc))
                continue
            await self._execute(self.core.apply(event))

    def _command_event(self, command: CommandRecord) -> Event:
        p = command.payload
        if command.kind == "close_deal" and command.deal_id is not None:
            limit = p.get("limit_price")
            return CloseDealCommand(
                command_id=command.id, deal_id=command.deal_id, limit_price=None if limit is None else Decimal(limit)
            )
        if command.kind == "cancel_deal" and command.deal_id is not None:
            return CancelDealCommand(command_id=command.id, deal_id=command.deal_id)
        if command.kind == "add_funds" and command.deal_id is not None:
            price = p.get("price")
            return AddFundsCommand(
                command_id=command.id,
                deal_id=command.deal_id,
                amount=Decimal(p["amount"]),
                price=None if price is None else Decimal(price),
            )
        if command.kind == "stop_bot" and command.bot_id is not None:
            return StopBotCommand(command_id=command.id, bot_id=command.bot_id, deals=StopMode(p.get("deals", "keep")))
        if command.kind == "start_bot" and command.bot_id is not None:
            return StartBotCommand(command_id=command.id, bot_id=command.bot_id)
        if command.kind == "edit_bot" and command.bot_id is not None:
            config = load_config(str(p["config_toml"]))
            return EditBotCommand(
                command_id=command.id,
                bot_id=command.bot_id,
                bot=make_bot(config),
                config=config,
                config_toml=str(p["config_toml"]),
            )
        raise BastionError(f"command {command.id}: unknown kind {command.kind!r} or missing bot/deal")

    # ------------------------------------------------------------------ one step

    async def step(self) -> int:
        """Run one step; return how many bots decided."""
        if self._stale:
            log.warning("reloading the engine core from storage after a storage error")
            self._stale = False
            await self.start()
        self.core.apply(TimeAdvanced(now_ms=self.clock()))
        await self._refresh_bots()
        await self._commands()
        await self._sync()
        await self._prices()
        self._pending_signals()
        decided = 0
        balances: dict[str, dict[str, Decimal]] = {}
        for bot_id in self.core.due():
            slot = self.core.bots[bot_id]
            try:
                if slot.account not in balances:
                    balances[slot.account] = await self._gateway(slot.account).balances(slot.account)
                candles = await self._candles(bot_id)
                view = self.core.view(
                    bot_id, balances=balances[slot.account], candles=candles, signals=self._signals(bot_id)
                )
                decision = slot.bot.decide(view)
                for note in decision.notes:
                    log.info("bot %s: %s", slot.name, note)
                await self._execute(self.core.apply(BotDecided(bot_id=bot_id, view=view, decision=decision)))
                decided += 1
            except Exception as exc:  # this bot only: the others go on
                if self._stale:
                    log.error("bot %s: storage refused its decision; nothing was sent", slot.name, exc_info=exc)
                    why = f"{type(exc).__name__}: {exc}"
                    with self.sessions.begin() as session:
                        BotRepository(session).set_status(bot_id, BotStatus.ERROR.value, why, enabled=True)
                    self._notify(Notify(bot_id=bot_id, kind=NotifyKind.ERROR, title=f"bot {slot.name} error", body=why))
                    return decided
                log.error("bot %s failed; retried with backoff", slot.name, exc_info=exc)
                await self._execute(self.core.apply(BotFailed(bot_id=bot_id, error=f"{type(exc).__name__}: {exc}")))
        return decided

    async def _sync(self) -> None:
        by_account: dict[str, list[Any]] = {}
        for entry in self.core.active_orders():
            by_account.setdefault(entry.tag.account, []).append((entry.order, entry.tag))
        for account, orders in by_account.items():
            try:
                await self._feed(await self._gateway(account).sync(account, orders))
            except Exception as exc:  # one account's trouble (signer gone, exchange down) stops nothing else
                log.error("account %s: order sync failed: %s", account, exc, exc_info=exc)
                paper = "[PAPER] " if self._gateway(account) is self.paper else ""
                title = f"{paper}account {account}: sync failed"
                self._notify(Notify(bot_id=None, kind=NotifyKind.ERROR, title=title, body=str(exc)))

    async def _prices(self) -> None:
        """One request per (exchange, symbol) a bot that can act trades, whatever the number of bots."""
        for slot in self.core.bots.values():
            if slot.status is BotStatus.STOPPED and not self.core.open_deals(slot.id):
                self.hub.unsubscribe(str(slot.id))
            elif self.hub.has_feed(slot.exchange):
                self.hub.subscribe(str(slot.id), slot.exchange, slot.pairs)
        for (venue, symbol), error in (await self.hub.refresh()).items():
            log.warning("%s %s: no price this step: %s", venue, symbol, error)
        for venue, symbol in sorted(self.hub.markets()):
            price = self.hub.price(venue, symbol)
            if price is not None:
                self.core.apply(
                    PriceUpdated(exchange=venue, symbol=symbol, last=price.last, bid=price.bid, ask=price.ask)
                )

    def _pending_signals(self) -> None:
        wanting = [s.id for s in self.core.bots.values() if s.takes_signals and s.status is BotStatus.RUNNING]
        if not wanting:
            return
        with self.sessions() as session:
            repo = SignalRepository(session)
            for bot_id in wanting:
                if repo.pending(bot_id, due_by_ms=self.core.now_ms):  # a delayed signal waits for its time
                    self.core.apply(SignalsArrived(bot_id=bot_id))

    def _signals(self, bot_id: int) -> tuple[Signal, ...]:
        if not self.core.bots[bot_id].takes_signals:
            return ()
        with self.sessions() as session:
            return tuple(
                Signal(
                    id=str(s.id),
                    action=s.action,
                    pair=s.pair,
                    amount=s.amount,
                    currency_type=s.currency_type,
                    trigger_price=s.trigger_price,
                    received_ms=s.received_ms,
                    due_ms=s.not_before_ms,
                )
                for s in SignalRepository(session).pending(bot_id, due_by_ms=self.core.now_ms)
            )

    async def _candles(self, bot_id: int) -> dict[str, tuple[Candle, ...]]:
        """The completed candles a bot's config asks for (``timeframe`` and ``candles_wanted``)."""
        config: BotConfig = self.core.bots[bot_id].config
        slot = self.core.bots[bot_id]
        timeframe, wanted = config.timeframe, config.candles_wanted
        if timeframe is None or wanted <= 0:
            return {}
        series = {}
        for symbol in slot.pairs:
            series[symbol] = await self.hub.candles(slot.exchange, symbol, timeframe, wanted)  # completed, shared
        return series

    # ------------------------------------------------------------------ carrying out effects

    async def _feed(self, events: list[Event]) -> None:
        for event in events:
            await self._execute(self.core.apply(event))

    async def _execute(self, effects: list[Effect]) -> None:
        """Store, then send and cancel (feeding the answers back), then notify."""
        if not effects:
            return
        stored = [e for e in effects if isinstance(e, STORED)]
        if stored:
            ids = {name: a.id for name, a in self._accounts.items()}
            try:
                with self.sessions.begin() as session:
                    store_effects(session, stored, ids)
            except Exception:
                # Storage refused what the core already applied: nothing was sent; rebuild the core
                # from storage at the next step so the two never disagree.
                self._stale = True
                raise
        for effect in effects:
            if isinstance(effect, SendOrder):
                await self._feed(await self._gateway(effect.tag.account).place(effect.order, effect.tag))
            elif isinstance(effect, RequestCancel):
                await self._feed(await self._gateway(effect.tag.account).cancel(effect.order, effect.tag))
        for effect in effects:
            if isinstance(effect, Notify):
                self._notify(effect)

    def _notify(self, note: Notify) -> None:
        slot = None if note.bot_id is None else self.core.bots.get(note.bot_id)
        account = None if slot is None else self._accounts.get(slot.account)
        if account is not None and account.paper:  # every message about a paper account says so
            note = replace(note, title=f"[PAPER] {note.title}")
        log.info("%s: %s (%s)", note.kind.value, note.title, note.body.replace("\n", " "))
        if self.feed is not None:
            self.feed(note.kind.value, note.title, note.body)
        admitted = self.gate.admit(note.bot_id, note.kind.value, note.title, note.body, self.clock())
        if admitted is not None:
            self.notifier.notify(note.kind.value, *admitted)

    # ------------------------------------------------------------------ loop

    async def run(self, stop: asyncio.Event) -> None:
        """Reconcile, then step every ``poll_interval_s`` until ``stop`` is set."""
        await self.start()
        try:
            while not stop.is_set():
                try:
                    await self.step()
                except Exception as exc:  # the engine stays up; the next step tries again
                    log.error("engine step failed: %s", exc, exc_info=exc)
                    self._notify(Notify(bot_id=None, kind=NotifyKind.ERROR, title="engine step failed", body=str(exc)))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.options.poll_interval_s)
        finally:
            await self.close()
