"""The backtest loop: the engine core and the bot, unchanged, on a simulated clock; fills by the
simulator's matching engine in process. No HTTP, no database, no signer.

Fill rules (the simulator's, :mod:`bastion.exchanges.simulator.matching`):

* A bot decides at a candle's open (the previous candle's close time), knowing only completed
  candles; its ``last`` price is the previous close.
* A market order walks the simulator's book of the previous candle (mid = its close, one tick of
  spread each side, depth from its volume): a buy pays at least one tick above the close.
* Inside a candle the price moves open -> nearer extreme -> farther extreme -> close. A resting
  limit order fills where that path first reaches it: at its own price, or at the open when the
  candle opens through it. After each fill the engine core and the bot react at that point (a
  market order then meets a book whose mid is that point); orders they place may fill later on
  the same path. A watched level wakes the bot where the path reaches it; a level already passed
  wakes it where the move turns. Times inside candle ``t`` are ``t``, ``t + 1/4``, ``t + 1/2`` and
  ``t + 3/4`` of the timeframe for the open and the three moves; a time the bot asked for
  (``wake_at_ms``) is seen at the first candle close at or after it.
* Fees (``fee``, default 0.1 %) are paid in the asset received; tick, lot and minimum notional
  are checked as live.

Event skipping: between events nothing can happen, so the loop looks for the next candle whose
high or low reaches a resting order's price or a watched level, or whose close reaches the time a
bot asked for, with vectorised searches over the float columns (:mod:`bastion.backtest.scan`),
and builds Decimal values only there. An RSI start condition is computed once, vectorised, and a
bot waiting for it (with no deal open) sleeps until the RSI can hold.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from bastion.backtest.data import ArrayCandles, MarketData, market_of, same_timeline, to_decimal
from bastion.backtest.scan import Levels, RsiCandidates, first_reach, rsi_candidates
from bastion.bots.config import BotConfig
from bastion.bots.interface import OrderRole, Signal
from bastion.bots.registry import load_config, make_bot, pairs_of, takes_signals
from bastion.domain import Candle, Fill, Money, OrderType, timeframe_ms
from bastion.engine.core import BotStatus, EngineCore, RejectKind
from bastion.engine.core.effects import Effect, RequestCancel, SendOrder
from bastion.engine.core.events import (
    Accepted,
    BotDecided,
    BotFailed,
    BotLoaded,
    Cancelled,
    Event,
    Expired,
    Filled,
    PriceUpdated,
    Rejected,
    TimeAdvanced,
)
from bastion.engine.core.model import DealSnapshot
from bastion.engine.core.state import DealState, OrderEntry
from bastion.errors import ConfigError
from bastion.exchanges.simulator.accounts import Ledger
from bastion.exchanges.simulator.apierrors import MSG_INSUFFICIENT_BALANCE, ApiError
from bastion.exchanges.simulator.book import best_prices
from bastion.exchanges.simulator.matching import FeeSchedule, SymbolEngine, candle_path
from bastion.exchanges.simulator.orders import CANCELED, EXPIRED, Order

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["ACCOUNT", "EXCHANGE", "Archived", "Backtest", "FillRecord", "Run", "deal_fees"]

ACCOUNT = "backtest"
EXCHANGE = "backtest"
BOT_ID = 1
#: Quote given to each quote asset when no ``--balance`` names it.
DEFAULT_QUOTE_BALANCE = Decimal(1_000_000_000)
_MAX_ROUNDS = 64
_DECIDING = (BotStatus.RUNNING, BotStatus.STOPPING, BotStatus.ERROR)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class FillRecord:
    """One fill, with where it happened (for the report's markers)."""

    index: int
    time_ms: int
    symbol: str
    deal_id: int
    leg: str
    role: str
    side: str
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Archived:
    """An ended deal as it closed, and its fees per currency."""

    deal: DealSnapshot
    fees: dict[str, Decimal]


def _fees(entries: Iterable[OrderEntry]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for entry in entries:
        for fill in entry.order.fills:
            out[fill.fee.currency] = out.get(fill.fee.currency, _ZERO) + fill.fee.amount
    return out


def deal_fees(core: EngineCore, deal: DealState) -> dict[str, Decimal]:
    """Fees per currency of an open deal's fills."""
    return _fees(core.orders[cid] for cid in deal.orders)


@dataclass(slots=True)
class _Feed:
    """One market: its columns, lazy Decimal candles and its matching engine."""

    data: MarketData
    candles: ArrayCandles
    engine: SymbolEngine
    reported: dict[int, int] = field(default_factory=dict)
    cids: dict[int, str] = field(default_factory=dict)


@dataclass(slots=True)
class Run:
    """What a backtest produced (the report reads it)."""

    core: EngineCore
    archived: dict[int, Archived]
    markets: tuple[MarketData, ...]
    fills: list[FillRecord]
    balances_start: dict[str, Decimal]
    balances_end: dict[str, Decimal]
    fee_rate: Decimal
    capital_used: Decimal
    quote: str
    events: int
    decisions: int
    elapsed_s: float
    cpu_s: float
    equity_index: list[int]
    equity_quote: list[Decimal]
    equity_base: list[dict[str, Decimal]]


class Backtest:
    """One bot over recorded candles.

    Parameters
    ----------
    config_toml
        The bot's TOML (the text ``bastion bot add`` takes).
    markets
        The ``--data`` markets (same timeframe, same times); every pair the bot trades needs one.
    fee
        Maker and taker rate (0.001 = 0.1 %).
    balances
        Starting free balances; a quote asset not named gets :data:`DEFAULT_QUOTE_BALANCE`.
    skip_rsi
        Sleep through the candles where an RSI start cannot hold (False: wake the bot at every
        candle it asks for, as the live engine does; the deals are the same, slower).
    react_in_candle
        Let the engine and the bot react at each fill and watched level inside a candle (the
        fill rules above). False: fills inside a candle are reported, and the bot decides only
        at the candle's close, as the live engine does against the simulator today (it sees a
        candle's fills after the replay moved past the candle).
    """

    def __init__(
        self,
        config_toml: str,
        markets: Sequence[MarketData],
        *,
        fee: Decimal = Decimal("0.001"),
        balances: Mapping[str, Decimal] | None = None,
        skip_rsi: bool = True,
        react_in_candle: bool = True,
    ) -> None:
        if not markets:
            raise ConfigError("a backtest needs at least one --data PAIR=PATH")
        same_timeline(markets)
        self.config = load_config(config_toml)
        self.bot = make_bot(self.config)
        pairs = pairs_of(self.config)
        by_symbol = {m.symbol: m for m in markets}
        missing = [p for p in pairs if p not in by_symbol]
        if missing:
            raise ConfigError(
                f"the bot trades {', '.join(missing)} but no --data names it; expected --data "
                f"{missing[0]}=PATH (have {', '.join(by_symbol)})"
            )
        self.markets = tuple(by_symbol[p] for p in pairs)
        self.fee = fee
        self._react = react_in_candle
        self.quote = self.markets[0].rules.quote
        first = self.markets[0]
        self.ts = first.arrays.ts
        self.tf = first.timeframe_ms
        self.n = len(first.arrays)
        self.core = EngineCore(now_ms=int(self.ts[0]), records=False)
        self.ledger = Ledger()
        start = {m.rules.quote: DEFAULT_QUOTE_BALANCE for m in self.markets}
        start.update(balances or {})
        self.balances_start = dict(start)
        self._quote_start = start[self.quote]
        assets = sorted({a for m in self.markets for a in (m.rules.base, m.rules.quote)})
        self.ledger.open_account(ACCOUNT, start, assets)
        schedule = FeeSchedule(maker=fee, taker=fee)
        self.feeds: dict[str, _Feed] = {}
        for m in self.markets:
            candles = ArrayCandles(m.arrays, m.timeframe_ms)
            engine = SymbolEngine(m.rules, candles, self.ledger, clock=self._clock, fees=schedule)
            self.feeds[m.symbol] = _Feed(data=m, candles=candles, engine=engine)
        self.core.apply(
            BotLoaded(
                bot_id=BOT_ID,
                name=self.config.name,
                kind=self.config.type,
                account=ACCOUNT,
                exchange=EXCHANGE,
                bot=self.bot,
                config=self.config,
                config_toml=config_toml,
                markets={m.symbol: market_of(m.rules, fee) for m in self.markets},
                pairs=pairs,
                takes_signals=takes_signals(self.config),
            )
        )
        self.fills: list[FillRecord] = []
        self.events = 0
        self.decisions = 0
        self.capital_used = _ZERO
        self._index = 0
        self._seen: dict[str, tuple[float, float]] = {}
        self._rsi: RsiCandidates | bool | None = False if skip_rsi else None
        self._tf_cache: dict[str, Any] = {}
        self._closes: npt.NDArray[Any] | None = None
        self._rows: dict[str, dict[int, Candle]] = {}
        self.archived: dict[int, Archived] = {}
        self._archived_count = 0
        self._equity_index: list[int] = []
        self._equity_quote: list[Decimal] = []
        self._equity_base: list[dict[str, Decimal]] = []

    def _clock(self) -> int:
        return self.core.now_ms

    # ------------------------------------------------------------------ the loop

    def run(self) -> Run:
        """Replay every candle (skipping the quiet ones) and return what happened."""
        started = time.perf_counter()
        cpu = time.process_time()
        self._record(0)
        k = 0
        self._boundary(k)
        while True:
            j = self._next_event(k)
            if j is None:
                break
            self.events += 1
            self._seen_between(k + 1, j)
            for feed in self.feeds.values():
                self._walk(feed, j)
            self._boundary(j)
            k = j
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        self._record(self.n - 1)
        end = {a: f + locked for a, (f, locked) in self.ledger.balances(ACCOUNT).items()}
        return Run(
            core=self.core,
            archived=self.archived,
            markets=self.markets,
            fills=self.fills,
            balances_start=self.balances_start,
            balances_end=end,
            fee_rate=self.fee,
            capital_used=self.capital_used,
            quote=self.quote,
            events=self.events,
            decisions=self.decisions,
            elapsed_s=elapsed,
            cpu_s=cpu,
            equity_index=self._equity_index,
            equity_quote=self._equity_quote,
            equity_base=self._equity_base,
        )

    def _boundary(self, k: int) -> None:
        """The close of candle ``k``: the clock, the last price and the book of candle ``k``; decide."""
        self._index = k
        self._set_time(int(self.ts[k]) + self.tf)
        for feed in self.feeds.values():
            feed.engine.move_to(k)
            self._price(feed, feed.candles[k].close, book=True)
        self._decide()
        self._record(k)

    def _walk(self, feed: _Feed, j: int) -> None:
        """Candle ``j`` of one market: the open, then the three moves, filling and reacting."""
        self._index = j
        candle = feed.candles[j]
        path = candle_path(candle)
        t0 = int(self.ts[j])
        feed.engine.move_to(j, self._point(candle, path[0]))
        self._set_time(t0)
        self._at(feed, candle, path[0], path[0], t0)
        for s, (a, b) in enumerate(pairwise(path), start=1):
            self._at(feed, candle, a, b, t0 + self.tf * s // 4)

    def _at(self, feed: _Feed, candle: Candle, start: Decimal, end: Decimal, now_ms: int) -> None:
        """One move ``start`` -> ``end``: fill what it reaches, stop at watched levels, decide at the end."""
        self._set_time(now_ms)
        engine = feed.engine
        symbol = feed.data.symbol
        while True:
            hit = engine.next_reached(start, end)
            level = self._next_level(symbol, start, end) if self._react else None
            if hit is not None and (level is None or abs(hit[1] - start) <= abs(level - start)):
                order, point = hit
                engine.move_to(engine.index, self._point(candle, point))
                self._price(feed, point)
                engine.fill_at(order, point)
                self._report(feed, order)
                if self._react:
                    self._decide()
                start = point
                continue
            if level is not None:
                engine.move_to(engine.index, self._point(candle, level))
                self._price(feed, level)
                self._decide()
                start = level
                continue
            break
        engine.move_to(engine.index, self._point(candle, end))
        self._price(feed, end)
        if self._react:
            self._decide()

    def _next_level(self, symbol: str, start: Decimal, end: Decimal) -> Decimal | None:
        """The first watched level strictly ahead on the move, or None."""
        best: Decimal | None = None
        for slot in self.core.bots.values():
            last = slot.last
            if last is None or slot.status not in _DECIDING:
                continue
            for watch in last.watch:
                if watch.symbol != symbol:
                    continue
                rising = end > start and watch.above is not None and start < watch.above <= end
                if rising and watch.above is not None and (best is None or watch.above < best):
                    best = watch.above
                falling = end < start and watch.below is not None and end <= watch.below < start
                if falling and watch.below is not None and (best is None or watch.below > best):
                    best = watch.below
        return best

    @staticmethod
    def _point(candle: Candle, price: Decimal) -> Candle:
        return Candle(candle.ts_ms, price, price, price, price, candle.volume)

    def _set_time(self, now_ms: int) -> None:
        if now_ms > self.core.now_ms:
            self.core.apply(TimeAdvanced(now_ms=now_ms))

    def _price(self, feed: _Feed, last: Decimal, *, book: bool = False) -> None:
        bid = ask = None
        if book:
            bid, ask = best_prices(last, feed.data.rules)
            if bid <= 0:
                bid = None
        self.core.apply(PriceUpdated(exchange=EXCHANGE, symbol=feed.data.symbol, last=last, bid=bid, ask=ask))

    def _seen_between(self, first: int, stop: int) -> None:
        """Feed the extremes of the skipped candles ``[first, stop)`` (a bot's high/low since it decided)."""
        if stop <= first:
            return
        for feed in self.feeds.values():
            arrays = feed.data.arrays
            high = float(arrays.high[first:stop].max())
            low = float(arrays.low[first:stop].min())
            self.core.apply(PriceUpdated(exchange=EXCHANGE, symbol=feed.data.symbol, last=to_decimal(high)))
            self.core.apply(PriceUpdated(exchange=EXCHANGE, symbol=feed.data.symbol, last=to_decimal(low)))

    # ------------------------------------------------------------------ deciding and carrying out

    def _decide(self) -> None:
        """Let every due bot decide; again while its orders changed (market fills), as the live engine would."""
        ids = self.core.due()
        if not ids:
            return  # no decision: no deal closed since the last archive
        rounds = 0
        while ids:
            rounds += 1
            if rounds > _MAX_ROUNDS:
                raise ConfigError(f"the bot decided {_MAX_ROUNDS} times at one point without settling; stopped")
            for bot_id in ids:
                self._decide_one(bot_id)
            ids = [b for b in self.core.due() if self.core.bots[b].dirty]
        self._archive()

    def _archive(self) -> None:
        """Take ended deals (and their orders, none active) out of the core: its queries stay O(open deals)."""
        closed = sum(slot.closed_deals for slot in self.core.bots.values())
        if closed == self._archived_count:
            return
        for deal_id in [i for i, d in self.core.deals.items() if not d.open]:
            deal = self.core.deals[deal_id]
            entries = {cid: self.core.orders[cid] for cid in deal.orders}
            if any(e.active for e in entries.values()):
                continue
            self.archived[deal_id] = Archived(deal=deal.snapshot(entries), fees=_fees(entries.values()))
            del self.core.deals[deal_id]
            for cid in deal.orders:
                del self.core.orders[cid]
        self._archived_count = closed

    def _decide_one(self, bot_id: int) -> None:
        slot = self.core.bots[bot_id]
        try:
            view = self.core.view(
                bot_id,
                balances=self.ledger.free_balances(ACCOUNT),
                candles=self._candles(slot.config, slot.pairs),
                signals=self._signals(slot.takes_signals),
            )
            decision = slot.bot.decide(view)
            self.decisions += 1
            effects = self.core.apply(BotDecided(bot_id=bot_id, view=view, decision=decision))
        except ConfigError:
            raise
        except Exception as exc:  # as the live engine: the bot fails and is retried with backoff
            effects = self.core.apply(BotFailed(bot_id=bot_id, error=f"{type(exc).__name__}: {exc}"))
        self._carry(effects)

    @staticmethod
    def _signals(wanted: bool) -> tuple[Signal, ...]:
        return ()

    def _carry(self, effects: list[Effect]) -> None:
        # Only orders sent or cancelled touch the ledger here (fills: :meth:`_report`); the rest
        # (store, notify) has no part in a backtest.
        for effect in effects:
            if type(effect) is SendOrder:
                for event in self._send(effect):
                    self._carry(self.core.apply(event))
                self._capital()
            elif type(effect) is RequestCancel:
                for event in self._cancel(effect):
                    self._carry(self.core.apply(event))
                self._capital()

    def _send(self, effect: SendOrder) -> list[Event]:
        order = effect.order
        cid = order.client_order_id
        feed = self.feeds.get(order.symbol)
        if feed is None:
            return [Rejected(client_order_id=cid, kind=RejectKind.EXCHANGE_REFUSED, reason=f"no market {order.symbol}")]
        market = order.type is OrderType.MARKET
        try:
            placed = feed.engine.place(
                ACCOUNT,
                side=order.side.upper(),
                order_type="MARKET" if market else "LIMIT",
                quantity=order.amount,
                price=None if market else order.price,
                client_order_id=cid,
            )
        except ApiError as exc:
            kind = RejectKind.INSUFFICIENT_FUNDS if exc.msg == MSG_INSUFFICIENT_BALANCE else RejectKind.EXCHANGE_REFUSED
            return [Rejected(client_order_id=cid, kind=kind, reason=f"{exc.code}: {exc.msg}")]
        feed.cids[placed.order_id] = cid
        events: list[Event] = [Accepted(client_order_id=cid, exchange_order_id=str(placed.order_id))]
        events += self._new_fills(feed, placed)
        if placed.status == EXPIRED:
            events.append(Expired(client_order_id=cid))
        elif placed.status == CANCELED:
            events.append(Cancelled(client_order_id=cid))
        return events

    def _cancel(self, effect: RequestCancel) -> list[Event]:
        feed = self.feeds.get(effect.order.symbol)
        if feed is None:
            return []
        try:
            feed.engine.cancel(ACCOUNT, client_order_id=effect.order.client_order_id)
        except ApiError:
            return []  # filled or gone already: its fills were reported
        return [Cancelled(client_order_id=effect.order.client_order_id)]

    def _report(self, feed: _Feed, order: Order) -> None:
        self._capital()  # the fill moved the ledger
        self._carry_events(self._new_fills(feed, order))

    def _carry_events(self, events: list[Event]) -> None:
        for event in events:
            self._carry(self.core.apply(event))

    def _new_fills(self, feed: _Feed, order: Order) -> list[Event]:
        done = feed.reported.get(order.order_id, 0)
        if len(order.trades) == done:
            return []
        cid = feed.cids.get(order.order_id, order.client_order_id)
        events: list[Event] = []
        entry = self.core.orders.get(cid)
        for trade in order.trades[done:]:
            fill = Fill(
                trade_id=str(trade.trade_id),
                price=trade.price,
                amount=trade.qty,
                fee=Money(trade.commission, trade.commission_asset),
                is_maker=trade.is_maker,
                timestamp_ms=trade.time,
            )
            events.append(Filled(client_order_id=cid, fill=fill))
            if entry is not None:
                role = entry.tag.role
                self.fills.append(
                    FillRecord(
                        index=self._index,
                        time_ms=trade.time,
                        symbol=feed.data.symbol,
                        deal_id=entry.tag.deal_id,
                        leg=entry.tag.leg,
                        role=role.value if isinstance(role, OrderRole) else "",
                        side=order.side.lower(),
                        price=trade.price,
                        amount=trade.qty,
                        fee=trade.commission,
                        fee_asset=trade.commission_asset,
                    )
                )
        feed.reported[order.order_id] = len(order.trades)
        return events

    # ------------------------------------------------------------------ bookkeeping for the report

    def _capital(self) -> None:
        used = self._quote_start - self.ledger.free(ACCOUNT, self.quote)
        if used > self.capital_used:
            self.capital_used = used

    def _record(self, index: int) -> None:
        totals = {a: f + locked for a, (f, locked) in self.ledger.balances(ACCOUNT).items()}
        if self._equity_index and self._equity_index[-1] == index:
            self._equity_index.pop()
            self._equity_quote.pop()
            self._equity_base.pop()
        self._equity_index.append(index)
        self._equity_quote.append(totals.get(self.quote, _ZERO))
        self._equity_base.append({m.symbol: totals.get(m.rules.base, _ZERO) for m in self.markets})

    # ------------------------------------------------------------------ what can happen next

    def _next_event(self, k: int) -> int | None:
        """The next candle after ``k`` in which something can happen, or None."""
        import numpy as np

        if k >= self.n - 1:
            return None
        wake = self._wake_ms()
        stop = self.n
        if wake is not None:
            if self._closes is None:
                self._closes = self.ts + self.tf
            stop = min(self.n, max(k + 1, int(np.searchsorted(self._closes, wake, "left"))) + 1)
        columns = [(feed.data.arrays.high, feed.data.arrays.low, self._levels(feed)) for feed in self.feeds.values()]
        found = first_reach(columns, k + 1, stop)
        if found is not None:
            return found
        if wake is not None and stop - 1 < self.n and stop - 1 > k:
            return stop - 1
        return None

    def _levels(self, feed: _Feed) -> Levels:
        highest_buy, lowest_sell = feed.engine.resting_bounds()  # the backtest's account is the only one
        above = math.inf if lowest_sell is None else float(lowest_sell)
        below = -math.inf if highest_buy is None else float(highest_buy)
        symbol = feed.data.symbol
        for slot in self.core.bots.values():
            if slot.last is None or slot.status not in _DECIDING:
                continue
            for watch in slot.last.watch:
                if watch.symbol != symbol:
                    continue
                if watch.above is not None:
                    above = min(above, float(watch.above))
                if watch.below is not None:
                    below = max(below, float(watch.below))
        return Levels(above, below)

    def _wake_ms(self) -> int | None:
        """The earliest time a bot asked to decide again (an RSI wait moved to when RSI can hold)."""
        times: list[int] = []
        for slot in self.core.bots.values():
            if slot.status is BotStatus.ERROR and slot.retry_at_ms is not None:
                times.append(slot.retry_at_ms)
                continue
            if slot.status not in _DECIDING or slot.last is None or slot.last.wake_at_ms is None:
                continue
            wake: int | None = slot.last.wake_at_ms
            if wake is not None and not self.core.managed_deals(slot.id):
                candidates = self._rsi_candidates()
                if candidates is not None:
                    wake = candidates.next_time(wake)
            if wake is not None:
                times.append(wake)
        return min(times) if times else None

    # ------------------------------------------------------------------ candles for an RSI start

    def _rsi_candidates(self) -> RsiCandidates | None:
        if self._rsi is not False:
            return self._rsi if isinstance(self._rsi, RsiCandidates) else None
        import numpy as np

        from bastion.bots.dca import DcaConfig
        from bastion.bots.dca.start import RsiStart

        self._rsi = None
        if not isinstance(self.config, DcaConfig) or not isinstance(self.config.start_condition, RsiStart):
            return None
        condition = self.config.start_condition
        since: list[Any] = []
        until: list[Any] = []
        for m in self.markets:
            buckets = self._buckets(m.symbol, condition.timeframe_ms)
            c = rsi_candidates(
                buckets["ts"],
                buckets["close"],
                timeframe_ms=condition.timeframe_ms,
                period=condition.period,
                window=self.config.candles_wanted,
                threshold=float(condition.threshold),
                long=self.config.direction == "long",
            )
            since.append(c.since)
            until.append(c.until)
        s = np.concatenate(since)
        u = np.concatenate(until)
        order = np.argsort(s, kind="stable")
        s, u = s[order], u[order]
        u = np.maximum.accumulate(u)  # merged intervals stay searchable by their ends
        self._rsi = RsiCandidates(since=s, until=u)
        return self._rsi

    def _buckets(self, symbol: str, timeframe_ms: int) -> dict[str, npt.NDArray[Any]]:
        import numpy as np

        from bastion.exchanges.simulator.candles import bucket_start

        key = f"{symbol}:{timeframe_ms}"
        cached = self._tf_cache.get(key)
        if cached is not None:
            return dict(cached)
        arrays = self.feeds[symbol].data.arrays
        if timeframe_ms == INTERVAL_1W:
            starts = np.array([bucket_start(int(t), timeframe_ms) for t in arrays.ts], dtype=np.int64)
        else:
            starts = arrays.ts // timeframe_ms * timeframe_ms
        first = np.flatnonzero(np.r_[True, starts[1:] != starts[:-1]])
        last = np.r_[first[1:] - 1, starts.shape[0] - 1]
        buckets = {
            "ts": starts[first],
            "first": first,
            "last": last,
            "open": arrays.open[first],
            "high": np.maximum.reduceat(arrays.high, first),
            "low": np.minimum.reduceat(arrays.low, first),
            "close": arrays.close[last],
            "done": starts[first] + timeframe_ms,  # when each bucket's candle is complete
        }
        self._tf_cache[key] = buckets
        return dict(buckets)

    def _candles(self, config: BotConfig, pairs: tuple[str, ...]) -> dict[str, tuple[Candle, ...]]:
        """The completed candles the bot's config asks for (``timeframe``, ``candles_wanted``)."""
        import numpy as np

        timeframe, wanted = config.timeframe, config.candles_wanted
        if timeframe is None or wanted <= 0:
            return {}
        span = timeframe_ms(timeframe)
        out = {}
        for symbol in pairs:
            feed = self.feeds[symbol]
            b = self._buckets(symbol, span)
            done = int(np.searchsorted(b["done"], self.core.now_ms, "right"))
            rows = []
            arrays = feed.data.arrays
            made = self._rows.setdefault(f"{symbol}:{span}", {})
            for e in range(max(0, done - wanted), done):
                row = made.get(e)
                if row is None:
                    lo_i, hi_i = int(b["first"][e]), int(b["last"][e])
                    volumes = [v for v in arrays.volume[lo_i : hi_i + 1].tolist() if v == v]
                    row = Candle(
                        int(b["ts"][e]),
                        to_decimal(b["open"][e]),
                        to_decimal(b["high"][e]),
                        to_decimal(b["low"][e]),
                        to_decimal(b["close"][e]),
                        sum((to_decimal(v) for v in volumes), _ZERO),
                    )
                    made[e] = row
                rows.append(row)
            if len(made) > 4 * wanted:
                for e in [e for e in made if e < done - wanted]:
                    del made[e]
            out[symbol] = tuple(rows)
        return out


INTERVAL_1W = 7 * 24 * 3_600_000
