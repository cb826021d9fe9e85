"""Drive one bot through the REAL engine core in memory, with a tiny venue answering its orders.

No bot or engine logic here: views come from :meth:`EngineCore.view`, decisions go back as
:class:`BotDecided`, and the core's effects are answered the way an exchange would: every sent
order is accepted (ids numbered per symbol, as Binance does); a market order fills at once at
the last price (or is refused when its leg starts with one of :attr:`CoreHarness.refuse`); a
cancel is confirmed; :meth:`CoreHarness.move` fills the resting limit orders a price move
crossed, at their limit. Fees are charged at ``fee_rate``: a buy pays in base when
``buy_fee_in_base`` (Binance without BNB), otherwise in quote; a sell pays in quote.

Everything runs in microseconds: no database, no process, no asyncio.
"""

from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from decimal import Decimal
from importlib.resources import files

from bastion.bots.dca import DcaBot, DcaConfig
from bastion.bots.interface import Bot, BotView, CloseDeal, DealView, Decision, OrderView, Signal
from bastion.bots.registry import takes_signals
from bastion.domain import Candle, Fill, Market, Money, OrderStatus, OrderType
from bastion.engine.core import EngineCore, RejectKind
from bastion.engine.core.effects import Effect, RequestCancel, SendOrder
from bastion.engine.core.events import (
    Accepted,
    BotDecided,
    BotLoaded,
    Cancelled,
    Event,
    Expired,
    Filled,
    PriceUpdated,
    Rejected,
    TimeAdvanced,
)
from bastion.engine.core.model import DealStatus
from bastion.engine.core.views import order_view

VENUE = "sim"

BTC_USDT = Market(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.1"),
    lot_step=Decimal("0.00001"),
    min_amount=Decimal("0.00001"),
    min_notional=Decimal(5),
)
ETH_USDT = Market(
    symbol="ETH/USDT",
    base="ETH",
    quote="USDT",
    tick_size=Decimal("0.01"),
    lot_step=Decimal("0.0001"),
    min_amount=Decimal("0.0001"),
    min_notional=Decimal(5),
)


def dca_bot(**overrides: object) -> DcaBot:
    """A BTC/USDT DCA bot: 20 USDT market base order, 1% take-profit, no safety orders unless overridden.

    An override of None removes the field.
    """
    table: dict[str, object] = {
        "name": "btc-dca",
        "account": "paper",
        "pairs": ["BTC/USDT"],
        "base_order_size": "20",
        "take_profit_pct": "1",
    }
    table.update(overrides)
    return DcaBot(DcaConfig.from_mapping({k: v for k, v in table.items() if v is not None}))


def load_candles(name: str = "BTC_USDT-5m.csv") -> list[Candle]:
    """Read one of the bundled candle files as Decimal candles, oldest first."""
    candles: list[Candle] = []
    with (files("bastion._data") / name).open(newline="") as handle:
        for row in csv.DictReader(handle):
            prices = (Decimal(row[key]) for key in ("open", "high", "low", "close", "volume"))
            candles.append(Candle(int(row["timestamp_ms"]), *prices))
    return candles


@dataclass(frozen=True)
class ClosedDeal:
    id: int
    pair: str
    direction: str
    orders: tuple[OrderView, ...]
    reason: str
    closed_ms: int
    status: DealStatus

    @property
    def quote_profit(self) -> Decimal:
        """Quote received minus quote paid over all fills, after quote fees."""
        total = Decimal(0)
        for o in self.orders:
            total += (o.cost - o.fee_quote) if o.side == "sell" else -(o.cost + o.fee_quote)
        return total

    @property
    def base_left(self) -> Decimal:
        """Base the deal left in (positive) or took from (negative) the account, after base fees."""
        total = Decimal(0)
        for o in self.orders:
            total += (o.filled - o.fee_base) if o.side == "buy" else -(o.filled + o.fee_base)
        return total


class CoreHarness:
    """One bot on the engine core, a clock, prices and a venue that fills what prices cross."""

    BOT_ID = 1

    def __init__(
        self,
        bot: Bot,
        markets: dict[str, Market],
        prices: dict[str, Decimal | str],
        *,
        now_ms: int = 1_672_677_900_000,
        fee_rate: Decimal | str = "0",
        buy_fee_in_base: bool = False,
        kind: str = "dca",
        balances: dict[str, Decimal] | None = None,
    ) -> None:
        self.bot = bot
        self.markets = dict(markets)
        self.fee_rate = Decimal(fee_rate)
        self.buy_fee_in_base = buy_fee_in_base
        self.balances = dict(balances or {})
        self.core = EngineCore(now_ms=now_ms)
        self.candles: dict[str, tuple[Candle, ...]] = {}
        self.signals: list[Signal] = []
        self.decisions: list[Decision] = []
        self.effects: list[Effect] = []
        self.reasons: dict[int, str] = {}
        #: Orders whose leg starts with one of these are refused by the venue when sent.
        self.refuse: tuple[str, ...] = ()
        #: How the venue (or the signer's policy) refuses them.
        self.refuse_kind = RejectKind.EXCHANGE_REFUSED
        self._ids: dict[str, itertools.count[int]] = {}
        self._trades = itertools.count(1)
        self._last: dict[str, Decimal] = {}
        config = getattr(bot, "config", None)
        self.core.apply(
            BotLoaded(
                bot_id=self.BOT_ID,
                name=bot.name,
                kind=kind,
                account="paper",
                exchange=VENUE,
                bot=bot,
                config=config,
                config_toml="",
                markets=self.markets,
                pairs=tuple(markets),
                takes_signals=config is not None and takes_signals(config),
            )
        )
        for symbol, price in prices.items():
            self.quote(symbol, price)

    # --- time, prices, views ----------------------------------------------------------------------

    @property
    def now_ms(self) -> int:
        return self.core.now_ms

    @now_ms.setter
    def now_ms(self, value: int) -> None:
        self._apply(TimeAdvanced(now_ms=value))

    def advance(self, ms: int) -> None:
        self._apply(TimeAdvanced(now_ms=self.core.now_ms + ms))

    def quote(self, symbol: str, last: Decimal | str) -> None:
        """Set the price without matching: the exchange has not reported fills yet."""
        self._last[symbol] = Decimal(last)
        self._apply(PriceUpdated(exchange=VENUE, symbol=symbol, last=Decimal(last)))

    def move(
        self, symbol: str, last: Decimal | str, *, high: Decimal | str | None = None, low: Decimal | str | None = None
    ) -> None:
        """Trade ``symbol`` through ``high``/``low`` to ``last``; fill resting limit orders crossed."""
        last_d = Decimal(last)
        high_d = max(Decimal(high) if high is not None else last_d, last_d)
        low_d = min(Decimal(low) if low is not None else last_d, last_d)
        for price in (high_d, low_d, last_d):
            self._apply(PriceUpdated(exchange=VENUE, symbol=symbol, last=price))
        self._last[symbol] = last_d
        for entry in list(self.core.active_orders()):
            order = entry.order
            if order.symbol != symbol or order.type is not OrderType.LIMIT or order.price is None:
                continue
            if (low_d <= order.price) if order.side == "buy" else (high_d >= order.price):
                self.fill(entry.tag.deal_id, entry.tag.leg, price=order.price)

    def view(self) -> BotView:
        return self.core.view(self.BOT_ID, balances=self.balances, candles=self.candles, signals=tuple(self.signals))

    def decide(self) -> Decision:
        """Ask the bot once and hand its decision to the core."""
        view = self.view()
        decision = self.bot.decide(view)
        self.decisions.append(decision)
        for action in decision.actions:
            if isinstance(action, CloseDeal):
                self.reasons[action.deal] = action.reason
        self._apply(BotDecided(bot_id=self.BOT_ID, view=view, decision=decision))
        if view.signals:
            handled = {s.id for s in view.signals}
            self.signals = [s for s in self.signals if s.id not in handled]
        return decision

    def settle(self, rounds: int = 20) -> Decision:
        """Decide until a decision has no actions (the bot waits on prices or time); return that one."""
        for _ in range(rounds):
            decision = self.decide()
            if not decision.actions:
                return decision
        raise AssertionError(f"the bot kept acting for {rounds} rounds: {self.decisions[-3:]}")

    def step(self, symbol: str, last: Decimal | str, **extremes: Decimal | str | None) -> Decision:
        """:meth:`move`, then :meth:`settle`."""
        self.move(symbol, last, **extremes)
        return self.settle()

    def run(self, rounds: int = 20) -> None:
        """Decide while the core's wake rules say the bot is due (as the live engine does)."""
        for _ in range(rounds):
            if not self.due():
                return
            self.decide()
        raise AssertionError(f"the bot stayed due for {rounds} rounds")

    def due(self) -> bool:
        """Whether the core's wake rules would let the bot decide now."""
        return self.BOT_ID in self.core.due()

    # --- the venue --------------------------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        queue = [event]
        while queue:
            effects = self.core.apply(queue.pop(0))
            self.effects += effects
            for effect in effects:
                if isinstance(effect, SendOrder):
                    queue += self._send(effect)
                elif isinstance(effect, RequestCancel):
                    queue.append(Cancelled(client_order_id=effect.order.client_order_id))

    def _send(self, effect: SendOrder) -> list[Event]:
        order, cid = effect.order, effect.order.client_order_id
        if self.refuse and effect.tag.leg.startswith(self.refuse):
            return [Rejected(client_order_id=cid, kind=self.refuse_kind, reason="refused by the test")]
        counter = self._ids.setdefault(order.symbol, itertools.count(1))
        events: list[Event] = [Accepted(client_order_id=cid, exchange_order_id=str(next(counter)))]
        if order.type is OrderType.MARKET:
            events.append(
                Filled(
                    client_order_id=cid,
                    fill=self._fill(order.side, order.amount, self._last[order.symbol], order.symbol),
                )
            )
        return events

    def _fill(self, side: str, qty: Decimal, price: Decimal, symbol: str) -> Fill:
        market = self.markets[symbol]
        cost = qty * price
        if side == "buy" and self.buy_fee_in_base:
            fee = Money((qty * self.fee_rate).quantize(Decimal("1e-8")), market.base)
        else:
            fee = Money((cost * self.fee_rate).quantize(Decimal("1e-8")), market.quote)
        return Fill(
            trade_id=str(next(self._trades)),
            price=price,
            amount=qty,
            fee=fee,
            is_maker=False,
            timestamp_ms=self.core.now_ms,
        )

    def fill(
        self, deal_id: int, leg: str, *, price: Decimal | str | None = None, amount: Decimal | str | None = None
    ) -> OrderView:
        """Fill (part of) an active order at ``price`` (its limit, else the last price)."""
        entry = self._entry(deal_id, leg)
        order = entry.order
        assert order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED), f"{leg} is {order.status}"
        at = Decimal(price) if price is not None else (order.price or self._last[order.symbol])
        qty = Decimal(amount) if amount is not None else order.remaining
        self._apply(Filled(client_order_id=order.client_order_id, fill=self._fill(order.side, qty, at, order.symbol)))
        deal = self.core.deals[deal_id]
        base, quote = deal.pair.split("/")
        return order_view(entry, base=base, quote=quote)

    def set_status(self, deal_id: int, leg: str, status: OrderStatus) -> None:
        """End an order from outside the bot (cancelled by hand, expired)."""
        cid = self._entry(deal_id, leg).order.client_order_id
        event = Cancelled(client_order_id=cid) if status is OrderStatus.CANCELLED else Expired(client_order_id=cid)
        assert status in (OrderStatus.CANCELLED, OrderStatus.EXPIRED), f"cannot set {status} from outside"
        self._apply(event)

    def _entry(self, deal_id: int, leg: str):
        deal = self.core.deals[deal_id]
        for cid in deal.orders:
            entry = self.core.orders[cid]
            if entry.tag.leg == leg:
                return entry
        raise KeyError(f"deal {deal_id} has no order {leg!r}")

    # --- lookups ----------------------------------------------------------------------------------

    @property
    def deals(self) -> dict[int, DealView]:
        """Open deals the bot manages, as it sees them."""
        return {d.id: d for d in self.view().deals}

    @property
    def closed(self) -> list[ClosedDeal]:
        found = []
        for deal in self.core.deals.values():
            if deal.open:
                continue
            view = self.core._deal_view(deal)
            found.append(
                ClosedDeal(
                    deal.id,
                    deal.pair,
                    deal.direction,
                    view.orders,
                    self.reasons.get(deal.id, deal.outcome.value if deal.outcome else ""),
                    deal.closed_ms or 0,
                    deal.status,
                )
            )
        return sorted(found, key=lambda d: d.id)

    @property
    def state(self) -> dict[str, str]:
        return self.core.bots[self.BOT_ID].state

    def only_deal(self) -> DealView:
        deals = self.deals
        assert len(deals) == 1, f"expected one open deal, have {list(deals)}"
        return next(iter(deals.values()))

    def order(self, leg: str, deal_id: int | None = None) -> OrderView:
        deal = self.deals[deal_id] if deal_id is not None else self.only_deal()
        found = deal.order(leg)
        if found is None:
            raise KeyError(f"deal {deal.id} has no order {leg!r}; legs: {[o.leg for o in deal.orders]}")
        return found

    def active_legs(self, deal_id: int | None = None) -> list[str]:
        deal = self.deals[deal_id] if deal_id is not None else self.only_deal()
        return [o.leg for o in deal.orders if o.active]


Harness = CoreHarness


class _DealHandle:
    """A deal as step-style tests read it: ``.view()``, ``.orders``, ``.state``, ``.id``."""

    def __init__(self, view: DealView) -> None:
        self._view = view
        self.id = view.id
        self.orders = list(view.orders)
        self.state = dict(view.state)

    def view(self) -> DealView:
        return self._view


class StepHarness(CoreHarness):
    """One bot on one market, decided step by step on the core (the grid and SmartTrade tests' shape).

    Market orders stay resting until a test fills them (:meth:`fill`, :meth:`fill_market_orders`);
    cancels are confirmed at once unless ``cancel_at_once`` is False, then by :meth:`confirm_cancels`.
    Every view is decided twice to check the bot is deterministic.
    """

    def __init__(
        self,
        bot: Bot,
        market: Market,
        *,
        last: str | Decimal,
        now_ms: int,
        fee_rate: str | Decimal = "0",
        balances: dict[str, Decimal] | None = None,
        kind: str = "grid",
    ) -> None:
        self.market = market
        self.cancel_at_once = True
        self.pending_cancels: list[tuple[int, str]] = []
        self.last = self.high = self.low = Decimal(last)
        super().__init__(bot, {market.symbol: market}, {market.symbol: last}, now_ms=now_ms, fee_rate=fee_rate,
                         kind=kind, balances=balances)  # fmt: skip

    # --- prices and decisions ---------------------------------------------------------------------

    def _price(self) -> None:
        symbol = self.market.symbol
        for price in (self.high, self.low, self.last):
            self._apply(PriceUpdated(exchange=VENUE, symbol=symbol, last=price))
        self._last[symbol] = self.last

    def decide(  # type: ignore[override]
        self,
        *,
        last: str | Decimal | None = None,
        high: str | Decimal | None = None,
        low: str | Decimal | None = None,
        at_ms: int | None = None,
    ) -> Decision:
        """Set the price (high/low default to the extremes of the previous and new last), decide, apply."""
        if last is not None:
            self.last = Decimal(last)
            self.high = max(self.high, self.last)
            self.low = min(self.low, self.last)
        if high is not None:
            self.high = Decimal(high)
        if low is not None:
            self.low = Decimal(low)
        if at_ms is not None:
            self.now_ms = at_ms
        self._price()
        view = self.view()
        decision = self.bot.decide(view)
        assert repr(self.bot.decide(view)) == repr(decision), "the same view gave two different decisions"
        self.decisions.append(decision)
        for action in decision.actions:
            if isinstance(action, CloseDeal):
                self.reasons[action.deal] = action.reason
        self._apply(BotDecided(bot_id=self.BOT_ID, view=view, decision=decision))
        self.high = self.low = self.last
        return decision

    # --- the venue ----------------------------------------------------------------------------------

    def _send(self, effect: SendOrder) -> list[Event]:
        order, cid = effect.order, effect.order.client_order_id
        counter = self._ids.setdefault(order.symbol, itertools.count(1))
        return [Accepted(client_order_id=cid, exchange_order_id=str(next(counter)))]

    def _apply(self, event: Event) -> None:
        queue = [event]
        while queue:
            effects = self.core.apply(queue.pop(0))
            self.effects += effects
            for effect in effects:
                if isinstance(effect, SendOrder):
                    queue += self._send(effect)
                elif isinstance(effect, RequestCancel):
                    self.pending_cancels.append((effect.tag.deal_id, effect.tag.leg))
            if self.cancel_at_once and self.pending_cancels:
                pending, self.pending_cancels = self.pending_cancels, []
                queue += self._cancels(pending)

    def _cancels(self, pending: list[tuple[int, str]]) -> list[Event]:
        events: list[Event] = []
        for deal_id, leg in pending:
            entry = self._entry(deal_id, leg)
            if entry.order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
                events.append(Cancelled(client_order_id=entry.order.client_order_id))
        return events

    def confirm_cancels(self) -> None:
        """Cancel the orders the bot asked to cancel that can still be cancelled."""
        pending, self.pending_cancels = self.pending_cancels, []
        for event in self._cancels(pending):
            self._apply(event)

    def fill(  # type: ignore[override]
        self,
        leg: str,
        *,
        price: str | Decimal | None = None,
        amount: str | Decimal | None = None,
        fee_quote: str | Decimal | None = None,
        fee_base: str | Decimal = "0",
    ) -> OrderView:
        """Fill ``leg`` (all that remains unless ``amount``) at its limit, or ``price``/last for a market."""
        entry = self._entry(self.deal.id, leg)
        order = entry.order
        assert order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED), f"{leg} is {order.status}"
        at = Decimal(price) if price is not None else order.price if order.price is not None else self.last
        qty = Decimal(amount) if amount is not None else order.remaining
        cost = at * qty
        if Decimal(fee_base):
            fee = Money(Decimal(fee_base), self.market.base)
        else:
            fee = Money(Decimal(fee_quote) if fee_quote is not None else cost * self.fee_rate, self.market.quote)
        fill = Fill(trade_id=str(next(self._trades)), price=at, amount=qty, fee=fee, is_maker=False,
                    timestamp_ms=self.core.now_ms)  # fmt: skip
        self._apply(Filled(client_order_id=order.client_order_id, fill=fill))
        return order_view(entry, base=self.market.base, quote=self.market.quote)

    def end(self, leg: str, status: OrderStatus) -> None:
        """End ``leg`` from outside the bot (cancelled by hand, expired, rejected before it was accepted)."""
        entry = self._entry(self.deal.id, leg)
        cid = entry.order.client_order_id
        if status is OrderStatus.CANCELLED:
            self._apply(Cancelled(client_order_id=cid))
        elif status is OrderStatus.EXPIRED:
            self._apply(Expired(client_order_id=cid))
        else:
            raise AssertionError(f"cannot end an accepted order as {status}")

    def move(self, to: str | Decimal) -> list[str]:  # type: ignore[override]
        """Move the price to ``to``, filling every limit order on the way at its price; return their legs."""
        target = Decimal(to)
        going_up = target > self.last
        filled = []
        for deal in list(self.core.managed_deals(self.BOT_ID)):
            crossed = [
                self.core.orders[cid]
                for cid in deal.orders
                if self.core.orders[cid].order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
            ]
            crossed = [
                e
                for e in crossed
                if e.order.type is OrderType.LIMIT
                and e.order.price is not None
                and (
                    (going_up and e.order.side == "sell" and self.last <= e.order.price <= target)
                    or (not going_up and e.order.side == "buy" and target <= e.order.price <= self.last)
                )
            ]
            crossed.sort(key=lambda e: e.order.price or 0, reverse=not going_up)
            for entry in crossed:
                self.fill(entry.tag.leg)
                filled.append(entry.tag.leg)
        self.last = target
        self.high = max(self.high, target)
        self.low = min(self.low, target)
        return filled

    def fill_market_orders(self) -> list[str]:
        """Fill every active market order at the last price; return their legs."""
        legs = [
            e.tag.leg
            for e in self.core.active_orders()
            if e.order.type is OrderType.MARKET and e.tag.deal_id in {d.id for d in self.core.managed_deals(1)}
        ]
        for leg in legs:
            self.fill(leg)
        return legs

    def replay(self, candle: tuple[Decimal, Decimal, Decimal, Decimal], *, step_ms: int = 300_000) -> Decision:
        """Walk one candle (open, then the nearer extreme, the other, close), filling what it crosses; decide."""
        open_, high, low, close = candle
        path = (low, high) if close >= open_ else (high, low)
        self.move(open_)
        for price in (*path, close):
            self.move(price)
        self.advance(step_ms)
        decision = self.decide()
        self.fill_market_orders()
        return decision

    # --- lookups ----------------------------------------------------------------------------------

    @property
    def deal(self) -> _DealHandle:  # type: ignore[override]
        """The only open deal."""
        deals = self.view().deals
        assert len(deals) == 1, f"expected one open deal, got {len(deals)}"
        return _DealHandle(deals[0])

    def order(self, leg: str) -> OrderView:  # type: ignore[override]
        """Return the open deal's order with this leg."""
        order = self.deal.view().order(leg)
        assert order is not None, f"no order {leg}; legs: {[o.leg for o in self.deal.orders]}"
        return order

    def active(self) -> list[OrderView]:
        """Active orders of the open deal, in placing order."""
        return [o for o in self.deal.orders if o.active]

    @property
    def closed(self) -> list[tuple[int, str]]:  # type: ignore[override]
        return [(d.id, d.reason) for d in CoreHarness.closed.fget(self)]  # type: ignore[attr-defined]


class _SignalDeal:
    """A deal as the signal-bot tests read it; ``orders.clear()`` forgets its orders in the core (a lost order)."""

    def __init__(self, harness: SignalHarness, view: DealView) -> None:
        self._harness = harness
        self.id = view.id
        self.pair = view.pair
        self.state = dict(view.state)
        self.orders = _Orders(harness, view)

    def order(self, leg: str) -> OrderView:
        for order in self.orders:
            if order.leg == leg:
                return order
        raise KeyError(f"deal {self.id} has no order {leg!r}; legs: {self.legs}")

    @property
    def legs(self) -> list[str]:
        return [o.leg for o in self.orders]

    @property
    def active_legs(self) -> list[str]:
        return [o.leg for o in self.orders if o.active]


class _Orders(list[OrderView]):
    def __init__(self, harness: SignalHarness, view: DealView) -> None:
        super().__init__(view.orders)
        self._harness, self._deal_id = harness, view.id

    def clear(self) -> None:
        """The engine lost these orders before they reached the exchange (they vanish from the core)."""
        deal = self._harness.core.deals[self._deal_id]
        for cid in deal.orders:
            del self._harness.core.orders[cid]
        deal.orders.clear()
        super().clear()


class SignalHarness(CoreHarness):
    """A signal bot on the core: :meth:`send` queues a webhook signal, :meth:`decide` hands it over once."""

    T0_MS = 1_700_000_000_000

    def __init__(
        self,
        bot: Bot,
        prices: dict[str, str] | None = None,
        *,
        fee_rate: str = "0",
        buy_fee_in_base: bool = False,
        fill_market: bool = True,
    ) -> None:
        self.fill_market = fill_market
        self._next_signal = 1
        super().__init__(bot, {"BTC/USDT": BTC_USDT, "ETH/USDT": ETH_USDT},
                         dict(prices or {"BTC/USDT": "20000", "ETH/USDT": "1500"}), now_ms=self.T0_MS,
                         fee_rate=fee_rate, buy_fee_in_base=buy_fee_in_base, kind="signal")  # fmt: skip

    @property
    def pending(self) -> list[Signal]:
        return self.signals

    @property
    def notes(self) -> list[str]:
        return [note for d in self.decisions for note in d.notes]

    def send(
        self, action: str, pair: str = "BTC/USDT", *, amount: str | None = None, currency_type: str = "quote",
        received_ms: int | None = None, due_ms: int | None = None,
    ) -> Signal:  # fmt: skip
        signal = Signal(
            id=str(self._next_signal),
            action=action,  # type: ignore[arg-type]
            pair=pair,
            amount=None if amount is None else Decimal(amount),
            currency_type=currency_type,  # type: ignore[arg-type]
            received_ms=self.now_ms if received_ms is None else received_ms,
            due_ms=due_ms,
        )
        self._next_signal += 1
        self.signals.append(signal)
        return signal

    def decide(self) -> Decision:
        view = self.view()
        assert self.bot.decide(view) == self.bot.decide(view), "the same view gave another decision"
        return super().decide()

    def _send(self, effect: SendOrder) -> list[Event]:
        if not self.fill_market and effect.order.type is OrderType.MARKET and not self.refuse:
            counter = self._ids.setdefault(effect.order.symbol, itertools.count(1))
            return [Accepted(client_order_id=effect.order.client_order_id, exchange_order_id=str(next(counter)))]
        return super()._send(effect)

    @property
    def deals(self) -> dict[int, _SignalDeal]:  # type: ignore[override]
        return {d.id: _SignalDeal(self, d) for d in self.view().deals}

    def only_deal(self) -> _SignalDeal:  # type: ignore[override]
        deals = self.deals
        assert len(deals) == 1, f"expected one open deal, have {list(deals)}"
        return next(iter(deals.values()))
