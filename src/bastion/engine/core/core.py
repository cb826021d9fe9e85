"""The engine core: pure, synchronous, deterministic. ``apply(event) -> effects``.

It holds every bot's slot, deal and order, and changes them only in :meth:`EngineCore.apply`.
It never reads a clock, a database or the network: time comes as :class:`TimeAdvanced`, prices
as :class:`PriceUpdated`, the exchange's answers as order events, the user's commands as
command events. It answers with effects (store, send, cancel, notify) that the shell carries out
in that order. The live engine, paper trading and the backtester drive this one class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from bastion.bots.interface import (
    BotView,
    CancelOrder,
    CloseDeal,
    DealOutcome,
    DealView,
    DisableBot,
    OpenDeal,
    OrderRole,
    PlaceOrder,
    PriceView,
    SaveState,
    Signal,
)
from bastion.domain import Candle, Order, OrderStatus, OrderType
from bastion.domain import OrderAccepted as DomainAccepted
from bastion.domain import OrderCancelled as DomainCancelled
from bastion.domain import OrderExpired as DomainExpired
from bastion.domain import OrderFilled as DomainFilled
from bastion.domain import OrderRejected as DomainRejected
from bastion.engine.core import control
from bastion.engine.core.effects import (
    Effect,
    MarkSignals,
    Notify,
    RequestCancel,
    SendOrder,
    StoreBotState,
    StoreBotStatus,
    StoreDeal,
    StoreDealState,
    StoreOrder,
)
from bastion.engine.core.events import (
    Accepted,
    AddFundsCommand,
    BotDecided,
    BotFailed,
    BotLoaded,
    CancelDealCommand,
    Cancelled,
    CloseDealCommand,
    DealLoaded,
    EditBotCommand,
    Event,
    Expired,
    Filled,
    PriceUpdated,
    Rejected,
    SignalsArrived,
    StartBotCommand,
    StopBotCommand,
    TimeAdvanced,
)
from bastion.engine.core.model import PAUSING, BotStatus, DealStatus, NotifyKind, OrderTag
from bastion.engine.core.sizing import base_amount
from bastion.engine.core.state import BotSlot, DealState, OrderEntry
from bastion.engine.core.views import deal_view
from bastion.engine.core.wake import retry_delay_ms, woken
from bastion.engine.ids import client_order_id

__all__ = ["EngineCore", "due_signals"]

_ZERO = Decimal(0)
_CENT = Decimal("1E-8")
#: Refusals of any kind within this window after which a bot pauses (a loop of refused orders).
_REJECTION_WINDOW_MS = 60_000
_MAX_REJECTIONS = 3
#: Statuses in which the bot's decisions are applied.
_DECIDING = (BotStatus.RUNNING, BotStatus.STOPPING, BotStatus.ERROR)


class EngineCore:
    """Every bot, deal and order of one engine, changed only by :meth:`apply`.

    Parameters
    ----------
    next_deal_id
        The id the next deal gets (storage's highest id + 1 in the live engine).
    now_ms
        The clock before the first :class:`TimeAdvanced`.
    records
        Whether to answer with the effects that store and notify (:class:`StoreOrder`,
        :class:`StoreDeal`, :class:`Notify`...). A backtest keeps no records and sets it False: the
        core then builds none of them (a deal snapshot per order change is most of that cost), and
        changes its state exactly as it does with records. Orders, cancels and bot status changes
        are answered either way.
    """

    def __init__(self, *, next_deal_id: int = 1, now_ms: int = 0, records: bool = True) -> None:
        self.now_ms = now_ms
        self.records = records
        self.next_deal_id = next_deal_id
        self.bots: dict[int, BotSlot] = {}
        self.deals: dict[int, DealState] = {}
        self.orders: dict[str, OrderEntry] = {}
        self.prices: dict[tuple[str, str], PriceView] = {}
        self._by_exchange_id: dict[tuple[str, str, str], str] = {}
        self._handlers: dict[type, Callable[[Any], list[Effect]]] = {
            TimeAdvanced: self._time,
            PriceUpdated: self._price,
            BotLoaded: self._bot_loaded,
            DealLoaded: self._deal_loaded,
            BotDecided: self._decided,
            BotFailed: self._failed,
            SignalsArrived: self._signals,
            Accepted: self._accepted,
            Filled: self._filled,
            Cancelled: self._ended,
            Expired: self._ended,
            Rejected: self._rejected,
            CloseDealCommand: lambda e: control.close_deal(self, e),
            CancelDealCommand: lambda e: control.cancel_deal(self, e),
            AddFundsCommand: lambda e: control.add_funds(self, e),
            StopBotCommand: lambda e: control.stop_bot(self, e),
            StartBotCommand: lambda e: control.start_bot(self, e),
            EditBotCommand: lambda e: control.edit_bot(self, e),
        }

    # ------------------------------------------------------------------ the one entry point

    def apply(self, event: Event) -> list[Effect]:
        """Apply one event; return the effects to carry out, in order."""
        handler = self._handlers.get(type(event))
        if handler is None:
            raise TypeError(f"the engine core has no rule for {type(event).__name__}")
        return handler(event)

    # ------------------------------------------------------------------ queries (read-only)

    def due(self) -> list[int]:
        """Return the ids of the bots that should decide now, in id order."""
        found = []
        slots = self.bots.values()
        for slot in slots if len(slots) < 2 else sorted(slots, key=lambda s: s.id):
            if slot.status is BotStatus.ERROR:
                if slot.retry_at_ms is not None and self.now_ms >= slot.retry_at_ms:
                    found.append(slot.id)
                continue
            if slot.status is BotStatus.STOPPING and not self.managed_deals(slot.id):
                continue
            if slot.status not in _DECIDING:
                continue
            if woken(
                slot.last,
                dirty=slot.dirty,
                now_ms=self.now_ms,
                marks=slot.marks,
                signals_pending=slot.signals_pending,
            ):
                found.append(slot.id)
        return found

    def open_deals(self, bot_id: int) -> list[DealState]:
        """The bot's open deals, oldest first."""
        return [d for d in self.deals.values() if d.bot_id == bot_id and d.open]

    def managed_deals(self, bot_id: int) -> list[DealState]:
        """The bot's open deals that it manages (not taken over by a manual command)."""
        return [d for d in self.open_deals(bot_id) if d.control is None]

    def active_orders(self, account: str | None = None) -> list[OrderEntry]:
        """Orders that can still fill (accepted or partly filled), of one account or all."""
        return [
            e
            for e in self.orders.values()
            if e.order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
            and (account is None or e.tag.account == account)
        ]

    def unsent_orders(self) -> list[OrderEntry]:
        """Orders stored but with no answer seen (INITIALIZED)."""
        return [e for e in self.orders.values() if e.order.status is OrderStatus.INITIALIZED]

    def by_exchange_id(self, account: str, symbol: str, exchange_order_id: str) -> OrderEntry | None:
        """The order with this identity: (account, symbol, exchange order id)."""
        cid = self._by_exchange_id.get((account, symbol, exchange_order_id))
        return None if cid is None else self.orders[cid]

    def symbols(self) -> list[tuple[str, str]]:
        """(exchange, symbol) of every market a bot that can act trades, sorted."""
        wanted = {
            (s.exchange, symbol)
            for s in self.bots.values()
            if s.status is not BotStatus.STOPPED or self.open_deals(s.id)
            for symbol in s.pairs
        }
        return sorted(wanted)

    def view(
        self,
        bot_id: int,
        *,
        balances: Mapping[str, Decimal] | None = None,
        candles: Mapping[str, tuple[Candle, ...]] | None = None,
        signals: tuple[Signal, ...] = (),
    ) -> BotView:
        """Build the read-only view the bot decides on (its managed deals, prices, state, clock)."""
        slot = self.bots[bot_id]
        prices = {}
        for symbol in slot.pairs:
            price = self.prices.get((slot.exchange, symbol))
            if price is None:
                continue
            high, low = slot.marks.get(symbol, (price.last, price.last))
            prices[symbol] = PriceView(
                symbol=symbol, last=price.last, high=high, low=low, bid=price.bid, ask=price.ask, time_ms=self.now_ms
            )
        deals = tuple(self._deal_view(d) for d in self.managed_deals(bot_id))
        return BotView(
            bot=slot.name,
            now_ms=self.now_ms,
            markets={s: m for s, m in slot.markets.items() if s in slot.pairs},
            prices=prices,
            deals=deals,
            closed_deals=slot.closed_deals,
            last_closed_ms=slot.last_closed_ms,
            balances=balances or {},  # BotView keeps read-only copies of its mappings
            state=slot.state,
            candles=candles or {},
            signals=due_signals(signals, self.now_ms) if slot.takes_signals else (),
        )

    def _deal_view(self, deal: DealState) -> DealView:
        return deal_view(deal, self.orders)

    # ------------------------------------------------------------------ clock, prices, loading

    def _time(self, event: TimeAdvanced) -> list[Effect]:
        self.now_ms = max(self.now_ms, event.now_ms)
        return []

    def _price(self, event: PriceUpdated) -> list[Effect]:
        self.prices[(event.exchange, event.symbol)] = PriceView(
            symbol=event.symbol,
            last=event.last,
            high=event.last,
            low=event.last,
            bid=event.bid,
            ask=event.ask,
            time_ms=self.now_ms,
        )
        last, symbol = event.last, event.symbol
        for slot in self.bots.values():
            if slot.exchange == event.exchange and symbol in slot.pairs:
                mark = slot.marks.get(symbol)
                if mark is None:
                    slot.marks[symbol] = (last, last)
                elif last > mark[0]:  # (high, low): only a new extreme changes it
                    slot.marks[symbol] = (last, mark[1])
                elif last < mark[1]:
                    slot.marks[symbol] = (mark[0], last)
        return []

    def _bot_loaded(self, event: BotLoaded) -> list[Effect]:
        slot = self.bots.get(event.bot_id)
        if slot is not None:
            slot.bot, slot.config, slot.config_toml = event.bot, event.config, event.config_toml
            slot.markets, slot.pairs, slot.takes_signals = dict(event.markets), event.pairs, event.takes_signals
            slot.dirty = True
            return []
        self.bots[event.bot_id] = BotSlot(
            id=event.bot_id,
            name=event.name,
            kind=event.kind,
            account=event.account,
            exchange=event.exchange,
            bot=event.bot,
            config=event.config,
            config_toml=event.config_toml,
            markets=dict(event.markets),
            pairs=event.pairs,
            takes_signals=event.takes_signals,
            status=event.status,
            reason=event.reason,
            state=dict(event.state),
            closed_deals=event.closed_deals,
            last_closed_ms=event.last_closed_ms,
        )
        if event.status is BotStatus.ERROR:  # failed before a restart: retried after the first backoff
            slot = self.bots[event.bot_id]
            slot.failures, slot.retry_at_ms = 1, self.now_ms + retry_delay_ms(1)
        return []

    def _deal_loaded(self, event: DealLoaded) -> list[Effect]:
        deal = DealState(
            id=event.deal_id,
            bot_id=event.bot_id,
            pair=event.pair,
            direction=event.direction,
            opened_ms=event.opened_ms,
            status=event.status,
            state=dict(event.state),
        )
        for order, tag in event.orders:
            self._track(OrderEntry(order=order, tag=tag))
            deal.orders.append(order.client_order_id)
            if tag.role is OrderRole.TAKE_PROFIT:
                deal.take_profits.append(order.client_order_id)
        self.deals[deal.id] = deal
        self.next_deal_id = max(self.next_deal_id, deal.id + 1)
        return []

    def _track(self, entry: OrderEntry) -> None:
        self.orders[entry.order.client_order_id] = entry
        if entry.order.exchange_order_id is not None:
            key = (entry.tag.account, entry.order.symbol, entry.order.exchange_order_id)
            self._by_exchange_id[key] = entry.order.client_order_id

    def _signals(self, event: SignalsArrived) -> list[Effect]:
        slot = self.bots.get(event.bot_id)
        if slot is not None:
            slot.signals_pending = True
        return []

    # ------------------------------------------------------------------ bot status

    def set_status(
        self, slot: BotSlot, status: BotStatus, reason: str, *, kind: NotifyKind | None = None
    ) -> list[Effect]:
        """Move a bot to ``status``; one stored status and one notification per change."""
        if slot.status is status and slot.reason == reason:
            return []
        slot.status, slot.reason = status, reason
        enabled = status in (BotStatus.RUNNING, BotStatus.ERROR)
        text = f"{status.value}" + (f": {reason}" if reason else "")
        return [
            StoreBotStatus(bot_id=slot.id, status=status, reason=reason, enabled=enabled),
            Notify(
                bot_id=slot.id, kind=kind or NotifyKind.BOT_STATUS, title=f"bot {slot.name} {status.value}", body=text
            ),
        ]

    def settle_stopping(self, slot: BotSlot) -> list[Effect]:
        """A stopping bot whose last deal ended is stopped."""
        if slot.status is BotStatus.STOPPING and not self.open_deals(slot.id):
            return self.set_status(slot, BotStatus.STOPPED, slot.reason)
        return []

    def _failed(self, event: BotFailed) -> list[Effect]:
        slot = self.bots.get(event.bot_id)
        if slot is None:
            return []
        slot.failures += 1
        slot.retry_at_ms = self.now_ms + retry_delay_ms(slot.failures)
        slot.dirty = True
        return self.set_status(slot, BotStatus.ERROR, event.error, kind=NotifyKind.ERROR)

    # ------------------------------------------------------------------ a decision

    def _decided(self, event: BotDecided) -> list[Effect]:
        slot = self.bots[event.bot_id]
        if slot.status not in _DECIDING:
            return []
        effects: list[Effect] = []
        if slot.status is BotStatus.ERROR:
            slot.failures, slot.retry_at_ms = 0, None
            effects += self.set_status(slot, BotStatus.RUNNING, "")
        view, decision = event.view, event.decision
        slot.last, slot.dirty, slot.signals_pending = decision, False, False
        slot.marks = {s: (p.last, p.last) for s, p in view.prices.items()}
        refs: dict[str, int] = {}
        dropped: set[str] = set()
        for action in decision.actions:
            if isinstance(action, OpenDeal):
                if slot.status is not BotStatus.RUNNING:
                    dropped.add(action.ref)  # stopping: no new deal
                    continue
                effects += self._open(slot, action, refs)
            elif isinstance(action, PlaceOrder):
                if isinstance(action.deal, str) and action.deal in dropped:
                    continue
                effects += self._place(slot, action, refs, view)
            elif isinstance(action, CancelOrder):
                cid = client_order_id(slot.id, action.deal, action.leg)
                entry = self.orders.get(cid)
                if entry is not None and entry.order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                    effects.append(RequestCancel(order=entry.order, tag=entry.tag))
            elif isinstance(action, SaveState):
                effects += self._save(slot, action, refs, dropped)
            elif isinstance(action, CloseDeal):
                deal = self.deals.get(action.deal)
                if deal is not None and deal.open and deal.bot_id == slot.id:
                    effects += self.close(deal, action.outcome, action.reason)
            elif isinstance(action, DisableBot):
                effects += self.set_status(slot, BotStatus.STOPPING, action.reason)
        for deal in self.managed_deals(slot.id):
            if any(isinstance(e, SendOrder) and e.tag.deal_id == deal.id for e in effects):
                self._store_deal(deal, effects)  # its resting take-profit may be new
        if view.signals:
            effects.append(MarkSignals(bot_id=slot.id, signal_ids=tuple(s.id for s in view.signals)))
        effects += self.settle_stopping(slot)
        return effects

    def _open(self, slot: BotSlot, action: OpenDeal, refs: dict[str, int]) -> list[Effect]:
        deal = DealState(
            id=self.next_deal_id, bot_id=slot.id, pair=action.pair, direction=action.direction, opened_ms=self.now_ms
        )
        self.next_deal_id += 1
        self.deals[deal.id] = deal
        refs[action.ref] = deal.id
        if not self.records:
            return []
        return [
            StoreDeal(deal=deal.snapshot(self.orders)),
            Notify(
                bot_id=slot.id,
                kind=NotifyKind.DEAL_OPENED,
                title=f"{slot.name}: deal {deal.id} opened",
                body=f"{action.direction} {action.pair}",
            ),
        ]

    def _place(self, slot: BotSlot, action: PlaceOrder, refs: dict[str, int], view: BotView) -> list[Effect]:
        deal_id = refs.get(action.deal) if isinstance(action.deal, str) else action.deal
        deal = None if deal_id is None else self.deals.get(deal_id)
        if deal is None or not deal.open or deal.bot_id != slot.id or deal.control is not None:
            return []
        market = slot.markets.get(action.symbol)
        amount = action.amount
        if amount is None and action.quote_amount is not None:
            price = view.prices.get(action.symbol)
            if market is None or price is None:
                return []
            amount = base_amount(market, action.side, action.quote_amount, price)
        if amount is None or amount <= 0:
            return []
        return self.place(deal, leg=action.leg, role=action.role, side=action.side, kind=action.type,
                          amount=amount, price=action.price)  # fmt: skip

    def place(
        self,
        deal: DealState,
        *,
        leg: str,
        role: OrderRole | None,
        side: Any,
        kind: OrderType,
        amount: Decimal,
        price: Decimal | None,
    ) -> list[Effect]:
        """Store and send one order for the deal (never twice: the client id is deterministic)."""
        slot = self.bots[deal.bot_id]
        cid = client_order_id(slot.id, deal.id, leg)
        if cid in self.orders:
            return []
        order = Order(
            client_order_id=cid,
            symbol=deal.pair,
            side=side,
            type=kind,
            amount=amount,
            price=price if kind is OrderType.LIMIT else None,
        )
        tag = OrderTag(account=slot.account, bot_id=slot.id, deal_id=deal.id, leg=leg, role=role)
        self._track(OrderEntry(order=order, tag=tag))
        deal.orders.append(cid)
        if role is OrderRole.TAKE_PROFIT:
            deal.take_profits.append(cid)
        if not self.records:
            return [SendOrder(order=order, tag=tag)]
        return [StoreOrder(order=order, tag=tag), SendOrder(order=order, tag=tag)]

    def _save(self, slot: BotSlot, action: SaveState, refs: dict[str, int], dropped: set[str]) -> list[Effect]:
        if action.deal is None:
            slot.state.update(action.values)
            return [StoreBotState(bot_id=slot.id, values=dict(action.values))] if self.records else []
        if isinstance(action.deal, str) and action.deal in dropped:
            return []
        deal_id = refs.get(action.deal) if isinstance(action.deal, str) else action.deal
        deal = None if deal_id is None else self.deals.get(deal_id)
        if deal is None:
            return []
        deal.state.update(action.values)
        return [StoreDealState(deal_id=deal.id, values=dict(action.values))] if self.records else []

    def close(self, deal: DealState, outcome: DealOutcome, reason: str) -> list[Effect]:
        """End the deal with its figures: closed, or cancelled when nothing ever filled."""
        slot = self.bots[deal.bot_id]
        figures = deal.figures(self.orders)
        close_price = figures.average_exit
        deal.status = DealStatus.CLOSED if figures.entry_base > 0 else DealStatus.CANCELLED
        deal.outcome, deal.closed_ms = outcome, self.now_ms
        deal.close_price = close_price
        deal.profit_quote = figures.profit_quote(close_price or _ZERO).quantize(_CENT)
        deal.control = None
        slot.closed_deals += 1
        slot.last_closed_ms = self.now_ms
        if not self.records:
            deal.note_take_profit(self.orders)
            return []
        quote = deal.pair.split("/")[1]
        kind = NotifyKind.STOP_LOSS if outcome is DealOutcome.STOP_LOSS else NotifyKind.DEAL_CLOSED
        effects: list[Effect] = [
            StoreDeal(deal=deal.snapshot(self.orders)),
            Notify(
                bot_id=slot.id,
                kind=kind,
                title=f"deal {deal.id} closed: {reason}",
                body=f"{deal.pair} {deal.status.value} ({outcome.value}) at {close_price}, "
                f"profit {deal.profit_quote} {quote}",
            ),
        ]
        return effects

    # ------------------------------------------------------------------ what the exchange says

    def _store_deal(self, deal: DealState, effects: list[Effect]) -> None:
        """Add the deal's snapshot to ``effects`` (without records: only keep its take-profit price)."""
        if self.records:
            effects.append(StoreDeal(deal=deal.snapshot(self.orders)))
        else:
            deal.note_take_profit(self.orders)

    def _entry(self, cid: str) -> OrderEntry | None:
        return self.orders.get(cid)

    def _touch(self, entry: OrderEntry) -> None:
        deal = self.deals.get(entry.tag.deal_id)
        if deal is not None:
            deal.touch(entry.order.client_order_id)

    def _changed(self, entry: OrderEntry) -> list[Effect]:
        effects: list[Effect] = [StoreOrder(order=entry.order, tag=entry.tag)] if self.records else []
        deal = self.deals.get(entry.tag.deal_id)
        slot = self.bots.get(entry.tag.bot_id)
        if slot is not None:
            slot.dirty = True
        if deal is not None and deal.open:
            self._store_deal(deal, effects)
            if deal.control is not None:
                effects += control.progress(self, deal)
            if slot is not None:
                effects += self.settle_stopping(slot)
        return effects

    def _accepted(self, event: Accepted) -> list[Effect]:
        entry = self._entry(event.client_order_id)
        if entry is None or entry.order.status is not OrderStatus.INITIALIZED:
            return []
        entry.order.apply(DomainAccepted(exchange_order_id=event.exchange_order_id, timestamp_ms=self.now_ms))
        self._touch(entry)
        self._track(entry)
        return [StoreOrder(order=entry.order, tag=entry.tag)] if self.records else []

    def _filled(self, event: Filled) -> list[Effect]:
        entry = self._entry(event.client_order_id)
        if entry is None or entry.order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            return []
        if any(f.trade_id == event.fill.trade_id for f in entry.order.fills):
            return []
        entry.order.apply(DomainFilled(event.fill))
        self._touch(entry)
        effects = self._changed(entry)
        if self.records and entry.tag.role is OrderRole.SAFETY and entry.order.remaining == 0:
            order = entry.order
            effects.append(
                Notify(
                    bot_id=entry.tag.bot_id,
                    kind=NotifyKind.SAFETY_ORDER_FILLED,
                    title=f"deal {entry.tag.deal_id}: safety order {entry.tag.leg} filled",
                    body=f"{order.side} {order.filled} {order.symbol} at {order.average_price}",
                )
            )
        return effects

    def _ended(self, event: Cancelled | Expired) -> list[Effect]:
        entry = self._entry(event.client_order_id)
        if entry is None or entry.order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            return []
        change = DomainCancelled(self.now_ms) if isinstance(event, Cancelled) else DomainExpired(self.now_ms)
        entry.order.apply(change)
        self._touch(entry)
        return self._changed(entry)

    def _rejected(self, event: Rejected) -> list[Effect]:
        entry = self._entry(event.client_order_id)
        if entry is None or entry.order.status is not OrderStatus.INITIALIZED:
            return []
        entry.order.apply(DomainRejected(reason=f"{event.kind.value}: {event.reason}", timestamp_ms=self.now_ms))
        self._touch(entry)
        effects = self._changed(entry)
        slot = self.bots.get(entry.tag.bot_id)
        if slot is None:
            return effects
        slot.rejections = [t for t in slot.rejections if self.now_ms - t < _REJECTION_WINDOW_MS] + [self.now_ms]
        why = f"order {entry.tag.leg} refused ({event.kind.value}): {event.reason}"
        if event.kind in PAUSING or len(slot.rejections) >= _MAX_REJECTIONS:
            if slot.status in _DECIDING:
                effects += self.set_status(slot, BotStatus.PAUSED, why, kind=NotifyKind.POLICY_DENIAL)
        else:
            effects.append(
                Notify(bot_id=slot.id, kind=NotifyKind.ERROR, title=f"{slot.name}: {why}", body=event.reason)
            )
        return effects


def effects_of(core: EngineCore, events: Iterable[Event]) -> list[Effect]:
    """Apply several events in order; return all their effects."""
    out: list[Effect] = []
    for event in events:
        out += core.apply(event)
    return out


def due_signals(signals: tuple[Signal, ...], now_ms: int) -> tuple[Signal, ...]:
    """The signals a bot may see at ``now_ms``: a delayed one (``due_ms``) only from its due time on,
    and then as if it arrived at that time (a DCA bot acts once per newer signal on a pair)."""
    return tuple(
        s if s.due_ms is None else dataclasses.replace(s, received_ms=max(s.received_ms, s.due_ms))
        for s in signals
        if s.due_ms is None or s.due_ms <= now_ms
    )
