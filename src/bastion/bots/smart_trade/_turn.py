"""One decision of a SmartTrade in the making: what it reads and the actions it collects."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Literal

from bastion.bots.interface import (
    Action,
    CancelOrder,
    CloseDeal,
    DealOutcome,
    DealView,
    Decision,
    OpenDeal,
    OrderRole,
    OrderView,
    PlaceOrder,
    PriceView,
    SaveState,
    Watch,
)
from bastion.bots.smart_trade._state import TradeState
from bastion.bots.smart_trade._way import Way
from bastion.bots.smart_trade.config import SmartTradeConfig
from bastion.domain import Market, OrderType
from bastion.domain.market import Side
from bastion.errors import MarketRuleError

REF = "trade"
_CTX = Context(prec=34)


@dataclass(slots=True, kw_only=True)
class Turn:
    """The SmartTrade's view of one decision and the actions, watches and notes it collects."""

    config: SmartTradeConfig
    market: Market
    price: PriceView
    now_ms: int
    way: Way
    deal: DealView | None
    state: TradeState
    saved: dict[str, str]
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    watch: list[Watch] = field(default_factory=list)
    wake_at_ms: int | None = None

    @property
    def deal_id(self) -> int | str:
        """The deal's id, or the ref of the deal this decision opens."""
        return REF if self.deal is None else self.deal.id

    def order(self, leg: str) -> OrderView | None:
        """Return the deal's order with this leg, or None."""
        return None if self.deal is None else self.deal.order(leg)

    def active_orders(self) -> tuple[OrderView, ...]:
        """The deal's orders that can still fill."""
        return () if self.deal is None else self.deal.active_orders()

    def round(self, price: Decimal, mode: Literal["nearest", "up", "down"] = "nearest") -> Decimal:
        """Round ``price`` to the tick (``nearest``, ``up`` or ``down``)."""
        return Decimal(self.market.round_price(price, mode))

    def floor(self, amount: Decimal) -> Decimal:
        """Floor ``amount`` to the lot step."""
        return Decimal(self.market.floor_amount(max(amount, Decimal(0))))

    def divide(self, a: Decimal, b: Decimal) -> Decimal:
        """``a / b`` in a private 34-digit context."""
        return _CTX.divide(a, b)

    def refusal(self, price: Decimal, amount: Decimal) -> str | None:
        """Why the market would refuse ``amount`` at ``price``, or None."""
        if amount <= 0:
            return "nothing left to trade"
        try:
            self.market.check_order(price, amount)
        except MarketRuleError as exc:
            return str(exc)
        return None

    def place(
        self,
        leg: str,
        side: Side,
        kind: OrderType,
        *,
        role: OrderRole,
        amount: Decimal | None,
        price: Decimal | None = None,
        quote_amount: Decimal | None = None,
    ) -> None:
        """Place one order for the deal."""
        self.actions.append(
            PlaceOrder(
                deal=self.deal_id,
                leg=leg,
                role=role,
                symbol=self.config.pair,
                side=side,
                type=kind,
                amount=amount,
                price=price,
                quote_amount=quote_amount,
            )
        )

    def cancel(self, leg: str, reason: str) -> None:
        """Cancel one of the deal's orders."""
        assert self.deal is not None
        self.actions.append(CancelOrder(deal=self.deal.id, leg=leg, reason=reason))

    def close(self, outcome: DealOutcome, reason: str) -> None:
        """Close the deal."""
        assert self.deal is not None
        self.state.phase = "closed"
        self.actions.append(CloseDeal(deal=self.deal.id, outcome=outcome, reason=reason))

    def decision(self) -> Decision:
        """Return the decision: OpenDeal first, SaveState before any CloseDeal, then the rest."""
        actions = list(self.actions)
        values = self.state.values()
        if self.deal is None:
            actions.insert(0, OpenDeal(ref=REF, pair=self.config.pair, direction=self.config.direction))
        if values != self.saved:
            closing = [i for i, action in enumerate(actions) if isinstance(action, CloseDeal)]
            actions.insert(closing[0] if closing else len(actions), SaveState(deal=self.deal_id, values=values))
        return Decision(
            actions=tuple(actions), watch=tuple(self.watch), wake_at_ms=self.wake_at_ms, notes=tuple(self.notes)
        )
