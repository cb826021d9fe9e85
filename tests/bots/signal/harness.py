"""A tiny engine for one signal bot: pending signals in, decisions applied, fills fed back. No bot logic.

It does what the engine promises a signal bot: the pending signals go into ``view.signals``,
the decision is applied, and every signal passed is then marked handled (dropped). Actions are
applied the plain way: OpenDeal gets the next id, PlaceOrder becomes an ACCEPTED order (a market
order fills at once at the last price unless ``fill_market`` is False), CancelOrder cancels,
CloseDeal moves the deal to ``closed``, SaveState merges. :meth:`Harness.move` fills resting
limit orders the move crossed, at their limit. A buy pays its fee in base when
``buy_fee_in_base`` (Binance without BNB), otherwise fees are in quote.

It refuses what an engine would: a leg placed twice in a deal, an unknown deal, a deal closed
while it still has active orders.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from bastion.bots.interface import (
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
from bastion.bots.signal import SignalBot, SignalConfig
from bastion.domain import Market, OrderStatus, OrderType

T0_MS = 1_700_000_000_000

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
MARKETS = {"BTC/USDT": BTC_USDT, "ETH/USDT": ETH_USDT}


def signal_bot(**overrides: object) -> SignalBot:
    """A BTC/USDT + ETH/USDT long signal bot sizing entries at 25 USDT; an override of None removes a field."""
    table: dict[str, object] = {
        "name": "tv-signals",
        "account": "main",
        "pairs": ["BTC/USDT", "ETH/USDT"],
        "order_size": "25",
    }
    table.update(overrides)
    return SignalBot(SignalConfig.from_mapping({k: v for k, v in table.items() if v is not None}))


@dataclass
class Deal:
    id: int
    pair: str
    direction: str
    orders: list[OrderView] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)

    def view(self) -> DealView:
        return DealView(
            id=self.id, pair=self.pair, direction=self.direction, opened_ms=T0_MS,  # type: ignore[arg-type]
            orders=tuple(self.orders), state=dict(self.state),
        )  # fmt: skip

    def index(self, leg: str) -> int:
        for i, order in enumerate(self.orders):
            if order.leg == leg:
                return i
        raise KeyError(f"deal {self.id} has no order {leg!r}; legs: {[o.leg for o in self.orders]}")

    def order(self, leg: str) -> OrderView:
        return self.orders[self.index(leg)]

    @property
    def legs(self) -> list[str]:
        return [o.leg for o in self.orders]

    @property
    def active_legs(self) -> list[str]:
        return [o.leg for o in self.orders if o.active]


@dataclass(frozen=True)
class ClosedDeal:
    id: int
    pair: str
    direction: str
    orders: tuple[OrderView, ...]
    reason: str


class Harness:
    """Views in, actions applied, signals marked handled, fills fed back."""

    def __init__(
        self,
        bot: SignalBot,
        prices: dict[str, str] | None = None,
        *,
        fee_rate: str = "0",
        buy_fee_in_base: bool = False,
        fill_market: bool = True,
    ) -> None:
        self.bot = bot
        self.now_ms = T0_MS
        self.fee_rate = Decimal(fee_rate)
        self.buy_fee_in_base = buy_fee_in_base
        self.fill_market = fill_market
        self.deals: dict[int, Deal] = {}
        self.closed: list[ClosedDeal] = []
        self.pending: list[Signal] = []
        self.decisions: list[Decision] = []
        self.refuse: tuple[str, ...] = ()
        self.last: dict[str, Decimal] = {}
        self.high: dict[str, Decimal] = {}
        self.low: dict[str, Decimal] = {}
        self._next_deal = 1
        self._next_signal = 1
        for symbol, price in (prices or {"BTC/USDT": "20000", "ETH/USDT": "1500"}).items():
            self.last[symbol] = self.high[symbol] = self.low[symbol] = Decimal(price)

    # --- signals ---------------------------------------------------------------------------

    def send(
        self, action: str, pair: str = "BTC/USDT", *, amount: str | None = None, currency_type: str = "quote",
        received_ms: int | None = None,
    ) -> Signal:  # fmt: skip
        signal = Signal(
            id=str(self._next_signal),
            action=action,  # type: ignore[arg-type]
            pair=pair,
            amount=None if amount is None else Decimal(amount),
            currency_type=currency_type,  # type: ignore[arg-type]
            received_ms=self.now_ms if received_ms is None else received_ms,
        )
        self._next_signal += 1
        self.pending.append(signal)
        return signal

    # --- deciding --------------------------------------------------------------------------

    def view(self) -> BotView:
        prices = {
            s: PriceView(symbol=s, last=self.last[s], high=self.high[s], low=self.low[s], time_ms=self.now_ms)
            for s in self.last
        }
        return BotView(
            bot=self.bot.name, now_ms=self.now_ms, markets=MARKETS, prices=prices,
            deals=tuple(d.view() for d in self.deals.values()), closed_deals=len(self.closed),
            signals=tuple(self.pending),
        )  # fmt: skip

    def decide(self) -> Decision:
        """Ask the bot once, apply its decision, mark the signals it saw handled."""
        view = self.view()
        decision = self.bot.decide(view)
        assert self.bot.decide(view) == decision, "the same view gave another decision"
        self.decisions.append(decision)
        for symbol, last in self.last.items():
            self.high[symbol] = self.low[symbol] = last
        seen = {s.id for s in view.signals}
        self.pending = [s for s in self.pending if s.id not in seen]
        self.apply(decision)
        return decision

    def settle(self, rounds: int = 20) -> Decision:
        """Decide until a decision has no actions; return that one."""
        for _ in range(rounds):
            decision = self.decide()
            if not decision.actions:
                return decision
        raise AssertionError(f"the bot kept acting for {rounds} rounds: {self.decisions[-3:]}")

    @property
    def notes(self) -> list[str]:
        return [note for d in self.decisions for note in d.notes]

    # --- the market ------------------------------------------------------------------------

    def move(self, symbol: str, last: str, *, high: str | None = None, low: str | None = None) -> None:
        last_d = Decimal(last)
        high_d = max(Decimal(high) if high is not None else last_d, last_d)
        low_d = min(Decimal(low) if low is not None else last_d, last_d)
        self.last[symbol] = last_d
        self.high[symbol] = max(self.high[symbol], high_d)
        self.low[symbol] = min(self.low[symbol], low_d)
        for deal in self.deals.values():
            for order in list(deal.orders):
                if deal.pair != symbol or not order.active or order.type is not OrderType.LIMIT:
                    continue
                assert order.price is not None
                if (low_d <= order.price) if order.side == "buy" else (high_d >= order.price):
                    self.fill(deal.id, order.leg, price=order.price)

    def fill(self, deal_id: int, leg: str, *, price: Decimal | None = None, amount: str | None = None) -> None:
        deal = self.deals[deal_id]
        i = deal.index(leg)
        order = deal.orders[i]
        assert order.active, f"{leg} is {order.status}, it cannot fill"
        at = price if price is not None else (order.price or self.last[deal.pair])
        qty = Decimal(amount) if amount is not None else order.amount - order.filled
        cost = qty * at
        fee_base = fee_quote = Decimal(0)
        if order.side == "buy" and self.buy_fee_in_base:
            fee_base = qty * self.fee_rate
        else:
            fee_quote = cost * self.fee_rate
        filled = order.filled + qty
        deal.orders[i] = replace(
            order, filled=filled, cost=order.cost + cost, fee_base=order.fee_base + fee_base,
            fee_quote=order.fee_quote + fee_quote,
            status=OrderStatus.FILLED if filled >= order.amount else OrderStatus.PARTIALLY_FILLED,
        )  # fmt: skip

    def set_status(self, deal_id: int, leg: str, status: OrderStatus) -> None:
        deal = self.deals[deal_id]
        i = deal.index(leg)
        deal.orders[i] = replace(deal.orders[i], status=status)

    # --- applying ----------------------------------------------------------------------------

    def apply(self, decision: Decision) -> None:
        refs: dict[str, int] = {}
        for action in decision.actions:
            if isinstance(action, OpenDeal):
                assert action.ref not in refs, f"ref {action.ref!r} used twice in one decision"
                refs[action.ref] = self._next_deal
                self.deals[self._next_deal] = Deal(self._next_deal, action.pair, action.direction)
                self._next_deal += 1
            elif isinstance(action, PlaceOrder):
                deal_id = refs[action.deal] if isinstance(action.deal, str) else action.deal
                self._place(deal_id, action)
            elif isinstance(action, CancelOrder):
                if self.deals[action.deal].order(action.leg).active:
                    self.set_status(action.deal, action.leg, OrderStatus.CANCELLED)
            elif isinstance(action, CloseDeal):
                deal = self.deals.pop(action.deal)
                assert not deal.active_legs, f"deal {deal.id} closed with active orders {deal.active_legs}"
                self.closed.append(ClosedDeal(deal.id, deal.pair, deal.direction, tuple(deal.orders), action.reason))
            elif isinstance(action, SaveState):
                assert action.deal is not None, "a signal bot saves no bot-level state"
                deal_id = refs[action.deal] if isinstance(action.deal, str) else action.deal
                self.deals[deal_id].state.update(action.values)

    def _place(self, deal_id: int, action: PlaceOrder) -> None:
        deal = self.deals[deal_id]
        assert action.leg not in deal.legs, f"deal {deal_id}: leg {action.leg!r} placed twice"
        market = MARKETS[action.symbol]
        amount = action.amount
        if amount is None:
            assert action.type is OrderType.MARKET
            assert action.quote_amount is not None
            amount = market.floor_amount(action.quote_amount / self.last[action.symbol])
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
            )
        )
        if self.refuse and action.leg.startswith(self.refuse):
            self.set_status(deal_id, action.leg, OrderStatus.REJECTED)
        elif action.type is OrderType.MARKET and self.fill_market:
            self.fill(deal_id, action.leg)

    def only_deal(self) -> Deal:
        assert len(self.deals) == 1, f"expected one open deal, have {list(self.deals)}"
        return next(iter(self.deals.values()))
