"""Test scaffolding: drive a bot through BotViews and feed its orders' fills back. No bot logic here.

:class:`Harness` keeps what an engine would (open deals with their OrderViews, saved state,
closed deals, prices, clock), hands the bot a fresh frozen :class:`BotView`, and applies the
returned actions the plain way: OpenDeal gets the next id, PlaceOrder becomes an ACCEPTED order
(a market order fills at once at the last price), CancelOrder cancels, CloseDeal moves the deal
to :attr:`Harness.closed`, SaveState merges. :meth:`Harness.move` sets a price and fills every
resting limit order the move crossed, at its limit price. Fees are charged at ``fee_rate``:
a buy pays in base when ``buy_fee_in_base`` (what Binance does without BNB), otherwise in quote;
a sell pays in quote.

It also checks what an engine would refuse: a leg placed twice in one deal, an unknown deal, a
deal closed while it still has active orders.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib.resources import files

from bastion.bots.dca import DcaBot, DcaConfig
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
    Signal,
)
from bastion.domain import Candle, Market, OrderStatus, OrderType

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


@dataclass
class _Deal:
    id: int
    pair: str
    direction: str
    opened_ms: int
    orders: list[OrderView] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)

    def view(self) -> DealView:
        return DealView(
            id=self.id,
            pair=self.pair,
            direction=self.direction,  # type: ignore[arg-type]
            opened_ms=self.opened_ms,
            orders=tuple(self.orders),
            state=dict(self.state),
        )

    def index(self, leg: str) -> int:
        for i, order in enumerate(self.orders):
            if order.leg == leg:
                return i
        raise KeyError(f"deal {self.id} has no order {leg!r}; legs: {[o.leg for o in self.orders]}")


@dataclass(frozen=True)
class ClosedDeal:
    id: int
    pair: str
    direction: str
    orders: tuple[OrderView, ...]
    reason: str
    closed_ms: int

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


class Harness:
    """A tiny engine for one bot: views in, actions applied, fills fed back."""

    def __init__(
        self,
        bot: Bot,
        markets: dict[str, Market],
        prices: dict[str, Decimal | str],
        *,
        now_ms: int = 1_672_677_900_000,
        fee_rate: Decimal | str = "0",
        buy_fee_in_base: bool = False,
    ) -> None:
        self.bot = bot
        self.markets = dict(markets)
        self.now_ms = now_ms
        self.fee_rate = Decimal(fee_rate)
        self.buy_fee_in_base = buy_fee_in_base
        self.deals: dict[int, _Deal] = {}
        self.closed: list[ClosedDeal] = []
        self.state: dict[str, str] = {}
        self.candles: dict[str, tuple[Candle, ...]] = {}
        self.signals: list[Signal] = []
        self.decisions: list[Decision] = []
        #: Orders whose leg starts with one of these are rejected when placed (an exchange refusal).
        self.refuse: tuple[str, ...] = ()
        self._last: dict[str, Decimal] = {}
        self._high: dict[str, Decimal] = {}
        self._low: dict[str, Decimal] = {}
        self._next_id = 1
        self._trade = 0
        for symbol, price in prices.items():
            self._set(symbol, Decimal(price))

    # --- the view -----------------------------------------------------------------------------

    def view(self) -> BotView:
        return BotView(
            bot=self.bot.name,
            now_ms=self.now_ms,
            markets=self.markets,
            prices={
                s: PriceView(symbol=s, last=self._last[s], high=self._high[s], low=self._low[s], time_ms=self.now_ms)
                for s in self._last
            },
            deals=tuple(d.view() for d in self.deals.values()),
            closed_deals=len(self.closed),
            last_closed_ms=self.closed[-1].closed_ms if self.closed else None,
            state=self.state,
            candles=self.candles,
            signals=tuple(self.signals),
        )

    def decide(self) -> Decision:
        """Ask the bot once and apply what it decided."""
        decision = self.bot.decide(self.view())
        self.decisions.append(decision)
        for symbol, last in self._last.items():
            self._high[symbol] = self._low[symbol] = last
        self.apply(decision)
        return decision

    def settle(self, rounds: int = 20) -> Decision:
        """Decide until a decision has no actions (the bot waits on prices or time); return that one."""
        for _ in range(rounds):
            decision = self.decide()
            if not decision.actions:
                return decision
        raise AssertionError(f"the bot kept acting for {rounds} rounds: {self.decisions[-3:]}")

    # --- the market -----------------------------------------------------------------------------

    def move(
        self, symbol: str, last: Decimal | str, *, high: Decimal | str | None = None, low: Decimal | str | None = None
    ) -> None:
        """Trade ``symbol`` through ``high``/``low`` to ``last``; fill resting limit orders crossed."""
        last_d = Decimal(last)
        high_d = max(Decimal(high) if high is not None else last_d, last_d)
        low_d = min(Decimal(low) if low is not None else last_d, last_d)
        self._last[symbol] = last_d
        self._high[symbol] = max(self._high.get(symbol, high_d), high_d)
        self._low[symbol] = min(self._low.get(symbol, low_d), low_d)
        for deal in self.deals.values():
            if deal.pair != symbol:
                continue
            for order in list(deal.orders):
                if not order.active or order.type is not OrderType.LIMIT or order.price is None:
                    continue
                crossed = low_d <= order.price if order.side == "buy" else high_d >= order.price
                if crossed:
                    self.fill(deal.id, order.leg, price=order.price)

    def quote(self, symbol: str, last: Decimal | str) -> None:
        """Set the price without matching: the exchange has not reported fills yet."""
        self._set(symbol, Decimal(last))

    def step(self, symbol: str, last: Decimal | str, **extremes: Decimal | str | None) -> Decision:
        """:meth:`move`, then :meth:`settle`."""
        self.move(symbol, last, **extremes)
        return self.settle()

    def advance(self, ms: int) -> None:
        self.now_ms += ms

    def fill(
        self, deal_id: int, leg: str, *, price: Decimal | str | None = None, amount: Decimal | str | None = None
    ) -> OrderView:
        """Fill (part of) an active order at ``price`` (its limit, else the last price)."""
        deal = self.deals[deal_id]
        i = deal.index(leg)
        order = deal.orders[i]
        assert order.active, f"{leg} is {order.status}, it cannot fill"
        at = Decimal(price) if price is not None else (order.price or self._last[deal.pair])
        qty = Decimal(amount) if amount is not None else order.amount - order.filled
        cost = qty * at
        fee_base = fee_quote = Decimal(0)
        if order.side == "buy" and self.buy_fee_in_base:
            fee_base = (qty * self.fee_rate).quantize(Decimal("1e-8"))
        else:
            fee_quote = (cost * self.fee_rate).quantize(Decimal("1e-8"))
        filled = order.filled + qty
        done = filled >= order.amount
        deal.orders[i] = replace(
            order,
            filled=filled,
            cost=order.cost + cost,
            fee_base=order.fee_base + fee_base,
            fee_quote=order.fee_quote + fee_quote,
            status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
            updated_ms=self.now_ms,
        )
        self._trade += 1
        return deal.orders[i]

    def set_status(self, deal_id: int, leg: str, status: OrderStatus) -> None:
        deal = self.deals[deal_id]
        i = deal.index(leg)
        deal.orders[i] = replace(deal.orders[i], status=status, updated_ms=self.now_ms)

    # --- applying a decision ----------------------------------------------------------------------

    def apply(self, decision: Decision) -> None:
        refs: dict[str, int] = {}
        for action in decision.actions:
            if isinstance(action, OpenDeal):
                assert action.ref not in refs, f"ref {action.ref!r} used twice in one decision"
                refs[action.ref] = self._next_id
                self.deals[self._next_id] = _Deal(
                    id=self._next_id, pair=action.pair, direction=action.direction, opened_ms=self.now_ms
                )
                self._next_id += 1
            elif isinstance(action, PlaceOrder):
                self._place(refs.get(action.deal, action.deal) if isinstance(action.deal, str) else action.deal, action)
            elif isinstance(action, CancelOrder):
                deal = self.deals[action.deal]
                order = deal.orders[deal.index(action.leg)]
                if order.active:
                    self.set_status(action.deal, action.leg, OrderStatus.CANCELLED)
            elif isinstance(action, CloseDeal):
                deal = self.deals.pop(action.deal)
                active = [o.leg for o in deal.orders if o.active]
                assert not active, f"deal {deal.id} closed with active orders {active}"
                self.closed.append(
                    ClosedDeal(deal.id, deal.pair, deal.direction, tuple(deal.orders), action.reason, self.now_ms)
                )
            elif isinstance(action, SaveState):
                if action.deal is None:
                    self.state.update(action.values)
                else:
                    key = refs[action.deal] if isinstance(action.deal, str) else action.deal
                    self.deals[key].state.update(action.values)

    def _place(self, deal_id: object, action: PlaceOrder) -> None:
        assert isinstance(deal_id, int), f"unknown deal ref {action.deal!r}"
        assert deal_id in self.deals, f"unknown deal {action.deal!r}"
        deal = self.deals[deal_id]
        assert all(o.leg != action.leg for o in deal.orders), f"deal {deal_id}: leg {action.leg!r} placed twice"
        market = self.markets[action.symbol]
        last = self._last[action.symbol]
        amount = action.amount
        if amount is None:
            assert action.type is OrderType.MARKET
            assert action.quote_amount is not None
            amount = market.floor_amount(action.quote_amount / last)
        else:
            market.check_amount(amount)
        if action.price is not None:
            market.check_order(action.price, amount)
        deal.orders.append(
            OrderView(
                leg=action.leg,
                client_order_id=f"{self.bot.name}-{deal_id}-{action.leg}",
                side=action.side,
                type=action.type,
                price=action.price,
                amount=amount,
                status=OrderStatus.ACCEPTED,
                updated_ms=self.now_ms,
            )
        )
        if action.leg.startswith(self.refuse) and self.refuse:
            self.set_status(deal_id, action.leg, OrderStatus.REJECTED)
        elif action.type is OrderType.MARKET:
            self.fill(deal_id, action.leg, price=last)

    def _set(self, symbol: str, price: Decimal) -> None:
        self._last[symbol] = self._high[symbol] = self._low[symbol] = price

    # --- lookups ----------------------------------------------------------------------------------

    def only_deal(self) -> _Deal:
        assert len(self.deals) == 1, f"expected one open deal, have {list(self.deals)}"
        return next(iter(self.deals.values()))

    def order(self, leg: str, deal_id: int | None = None) -> OrderView:
        deal = self.deals[deal_id] if deal_id is not None else self.only_deal()
        return deal.orders[deal.index(leg)]

    def active_legs(self, deal_id: int | None = None) -> list[str]:
        deal = self.deals[deal_id] if deal_id is not None else self.only_deal()
        return [o.leg for o in deal.orders if o.active]
