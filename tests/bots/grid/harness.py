"""A tiny stand-in for the engine, for bot tests: it builds BotViews, applies decisions and fills orders.

Test scaffolding only. It applies a decision's actions in order (OpenDeal gets the next deal
id, PlaceOrder adds an ACCEPTED order, CancelOrder cancels, SaveState merges, CloseDeal closes),
refuses a leg used twice in a deal (cancels are confirmed at once unless ``cancel_at_once`` is
False, then by :meth:`Harness.confirm_cancels`), and asks the bot twice on every view to check determinism.
Fills happen when a test says so (:meth:`Harness.fill`) or when the price moves over a limit
order (:meth:`Harness.move`). Fees are charged in the quote currency at ``fee_rate`` unless a
test passes them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib.resources import files

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
from bastion.domain import Market, OrderStatus, OrderType

T0 = 1_673_000_000_000  # 2023-01-06, inside the bundled BTC/USDT candles

BTC_USDT = Market(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.1"),
    lot_step=Decimal("0.00001"),
    min_amount=Decimal("0.00001"),
    max_amount=Decimal("9000"),
    min_notional=Decimal("5"),
)


def btc_candles(start: int, count: int) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
    """Return ``count`` recorded BTC/USDT 5m candles from index ``start`` as (open, high, low, close)."""
    text = files("bastion").joinpath("_data", "BTC_USDT-5m.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(text.splitlines()))[start : start + count]
    return [(Decimal(r["open"]), Decimal(r["high"]), Decimal(r["low"]), Decimal(r["close"])) for r in rows]


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


class Harness:
    """Drive one bot on one market through a scenario."""

    def __init__(
        self,
        bot: Bot,
        market: Market = BTC_USDT,
        *,
        last: str | Decimal,
        now_ms: int = T0,
        fee_rate: str | Decimal = "0",
        balances: dict[str, Decimal] | None = None,
    ) -> None:
        self.bot = bot
        self.market = market
        self.now_ms = now_ms
        self.last = self.high = self.low = Decimal(last)
        self.fee_rate = Decimal(fee_rate)
        self.balances = dict(balances or {})
        self.deals: dict[int, _Deal] = {}
        self.closed: list[tuple[int, str]] = []
        self.decisions: list[Decision] = []
        self.cancel_at_once = True
        self.pending_cancels: list[tuple[int, str]] = []
        self._next_deal = 1

    # --- views and decisions ---------------------------------------------------------------

    def view(self) -> BotView:
        """Return the view the bot would get now."""
        price = PriceView(symbol=self.market.symbol, last=self.last, high=self.high, low=self.low, time_ms=self.now_ms)
        return BotView(
            bot=self.bot.name,
            now_ms=self.now_ms,
            markets={self.market.symbol: self.market},
            prices={self.market.symbol: price},
            deals=tuple(d.view() for d in self.deals.values()),
            closed_deals=len(self.closed),
            last_closed_ms=None,
            balances=self.balances,
        )

    def decide(
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
        view = self.view()
        decision = self.bot.decide(view)
        again = self.bot.decide(view)
        assert repr(again) == repr(decision), "the same view gave two different decisions"
        self.apply(decision)
        self.high = self.low = self.last
        return decision

    def apply(self, decision: Decision) -> None:
        """Apply the decision's actions in order, as the engine does."""
        self.decisions.append(decision)
        refs: dict[str, int] = {}
        for action in decision.actions:
            if isinstance(action, OpenDeal):
                deal = _Deal(self._next_deal, action.pair, action.direction, self.now_ms)
                self.deals[deal.id] = deal
                refs[action.ref] = deal.id
                self._next_deal += 1
            elif isinstance(action, PlaceOrder):
                self._place(self.deals[refs.get(action.deal, action.deal)], action)  # type: ignore[arg-type]
            elif isinstance(action, CancelOrder):
                assert self.deals[action.deal].view().order(action.leg) is not None, f"cancel of {action.leg}?"
                self.pending_cancels.append((action.deal, action.leg))
                if self.cancel_at_once:
                    self.confirm_cancels()
            elif isinstance(action, SaveState):
                if action.deal is not None:
                    self.deals[refs.get(action.deal, action.deal)].state.update(action.values)  # type: ignore[arg-type]
            elif isinstance(action, CloseDeal):
                active = [o.leg for o in self.deals[action.deal].orders if o.active]
                assert not active, f"deal {action.deal} closed with active orders {active}"
                del self.deals[action.deal]
                self.closed.append((action.deal, action.reason))

    def _place(self, deal: _Deal, action: PlaceOrder) -> None:
        assert deal.view().order(action.leg) is None, f"leg {action.leg} placed twice in deal {deal.id}"
        amount = action.amount
        if amount is None:
            assert action.quote_amount is not None
            amount = self.market.floor_amount(action.quote_amount / self.last)
        if action.type == OrderType.LIMIT:
            assert action.price is not None
            assert action.price % self.market.tick_size == 0
        assert amount % self.market.lot_step == 0
        deal.orders.append(
            OrderView(
                leg=action.leg,
                client_order_id=f"{self.bot.name}-{deal.id}-{action.leg}",
                side=action.side,
                type=action.type,
                price=action.price,
                amount=amount,
                status=OrderStatus.ACCEPTED,
                updated_ms=self.now_ms,
            )
        )

    # --- orders ------------------------------------------------------------------------------

    @property
    def deal(self) -> _Deal:
        """The only open deal."""
        assert len(self.deals) == 1, f"expected one open deal, got {len(self.deals)}"
        return next(iter(self.deals.values()))

    def order(self, leg: str) -> OrderView:
        """Return the open deal's order with this leg."""
        order = self.deal.view().order(leg)
        assert order is not None, f"no order {leg}; legs: {[o.leg for o in self.deal.orders]}"
        return order

    def active(self) -> list[OrderView]:
        """Active orders of the open deal, in placing order."""
        return [o for o in self.deal.orders if o.active]

    def fill(
        self,
        leg: str,
        *,
        price: str | Decimal | None = None,
        amount: str | Decimal | None = None,
        fee_quote: str | Decimal | None = None,
        fee_base: str | Decimal = "0",
    ) -> OrderView:
        """Fill ``leg`` (all that remains unless ``amount``) at its limit price, or ``price``/last for a market."""
        deal = self.deal
        order = self.order(leg)
        assert order.active, f"{leg} is {order.status}"
        fill_price = Decimal(price) if price is not None else order.price if order.price is not None else self.last
        fill_amount = Decimal(amount) if amount is not None else order.amount - order.filled
        cost = fill_price * fill_amount
        fee = Decimal(fee_quote) if fee_quote is not None else cost * self.fee_rate
        filled = order.filled + fill_amount
        updated = replace(
            order,
            filled=filled,
            cost=order.cost + cost,
            fee_quote=order.fee_quote + fee,
            fee_base=order.fee_base + Decimal(fee_base),
            status=OrderStatus.FILLED if filled == order.amount else OrderStatus.PARTIALLY_FILLED,
            updated_ms=self.now_ms,
        )
        self._update(deal, updated)
        return updated

    def confirm_cancels(self) -> None:
        """Cancel the orders the bot asked to cancel that can still be cancelled."""
        for deal_id, leg in self.pending_cancels:
            deal = self.deals.get(deal_id)
            order = None if deal is None else deal.view().order(leg)
            if deal is not None and order is not None and order.active:
                self._update(deal, replace(order, status=OrderStatus.CANCELLED, updated_ms=self.now_ms))
        self.pending_cancels.clear()

    def end(self, leg: str, status: OrderStatus) -> None:
        """End ``leg`` from outside the bot (cancelled by hand, rejected, expired)."""
        deal = self.deal
        self._update(deal, replace(self.order(leg), status=status, updated_ms=self.now_ms))

    def move(self, to: str | Decimal) -> list[str]:
        """Move the price to ``to``, filling every limit order on the way at its price; return their legs."""
        target = Decimal(to)
        going_up = target > self.last
        filled = []
        for deal in list(self.deals.values()):
            crossed = [
                o
                for o in deal.orders
                if o.active
                and o.type == OrderType.LIMIT
                and o.price is not None
                and (
                    (going_up and o.side == "sell" and self.last <= o.price <= target)
                    or (not going_up and o.side == "buy" and target <= o.price <= self.last)
                )
            ]
            crossed.sort(key=lambda o: o.price or 0, reverse=not going_up)
            for order in crossed:
                self.fill(order.leg)
                filled.append(order.leg)
        self.last = target
        self.high = max(self.high, target)
        self.low = min(self.low, target)
        return filled

    def fill_market_orders(self) -> list[str]:
        """Fill every active market order at the last price; return their legs."""
        legs = [o.leg for d in self.deals.values() for o in d.orders if o.active and o.type == OrderType.MARKET]
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
        self.now_ms += step_ms
        decision = self.decide()
        self.fill_market_orders()
        return decision

    def _update(self, deal: _Deal, order: OrderView) -> None:
        deal.orders = [order if o.leg == order.leg else o for o in deal.orders]
