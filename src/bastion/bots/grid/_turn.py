"""One decision of a grid bot in the making: what it reads and the actions it collects."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bastion.bots.grid._state import IDLE, GridState
from bastion.bots.grid.config import GridConfig
from bastion.bots.grid.levels import Ladder
from bastion.bots.interface import (
    Action,
    CancelOrder,
    CloseDeal,
    DealView,
    Decision,
    OrderRole,
    OrderView,
    PlaceOrder,
    PriceView,
    SaveState,
    Watch,
)
from bastion.domain import Market, OrderType
from bastion.domain.market import Side
from bastion.errors import MarketRuleError


@dataclass(slots=True, kw_only=True)
class Turn:
    """The grid's view of one decision and the actions, notes and state changes it collects."""

    config: GridConfig
    market: Market
    ladder: Ladder
    price: PriceView
    deal: DealView
    state: GridState
    saved: dict[str, str]
    """The state as loaded, re-serialised (unsorted): a SaveState is sent only when it changes."""
    view_balance: Decimal | None = None
    """Free balance of the base currency when the view has it."""
    actions: list[Action] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    touched: set[int] = field(default_factory=set)
    emitted: dict[str, str] | None = None
    """The values of the SaveState :meth:`decision` sent, if it sent one."""

    def order(self, leg: str) -> OrderView | None:
        """Return the deal's order with this leg, or None."""
        return self.deal.order(leg)

    def slot_order(self, interval: int) -> OrderView | None:
        """Return the current order of ``interval``, or None when it holds none."""
        slot = self.state.slots.get(interval, IDLE)
        return self.deal.order(slot) if slot.startswith("L") else None

    def place(self, interval: int, side: Side, amount: Decimal, basis: str = "") -> bool:
        """Place ``interval``'s limit order (a buy at its lower level, a sell at its upper one).

        When the market would refuse it the interval goes idle with a note; returns whether placed.
        """
        level = interval if side == "buy" else interval + 1
        price = self.ladder.price(level)
        state = self.state
        self.touched.add(interval)
        refusal = refusal_of(self.market, price, amount)
        if refusal is not None:
            state.slots[interval] = IDLE
            state.basis[interval] = ""
            self.notes.append(f"interval {interval} idle: its {side} of {amount} at level {level}: {refusal}")
            return False
        leg = state.next_leg(level, side)
        self.actions.append(
            PlaceOrder(
                deal=self.deal.id,
                leg=leg,
                role=OrderRole.GRID,
                symbol=self.config.pair,
                side=side,
                type=OrderType.LIMIT,
                amount=amount,
                price=price,
            )
        )
        state.slots[interval] = leg
        state.basis[interval] = basis
        return True

    def cancel(self, leg: str, reason: str) -> None:
        """Cancel one of the deal's orders."""
        self.actions.append(CancelOrder(deal=self.deal.id, leg=leg, reason=reason))

    def decision(self, watch: tuple[Watch, ...] = ()) -> Decision:
        """Return the decision: the actions, a SaveState when the state changed, and ``watch``."""
        actions = list(self.actions)
        values = self.state.unsorted_values()
        if values != self.saved:
            values = dict(sorted(values.items()))
            self.emitted = values
            closing = [i for i, action in enumerate(actions) if isinstance(action, CloseDeal)]
            at = closing[0] if closing else len(actions)
            actions.insert(at, SaveState(deal=self.deal.id, values=values))
        return Decision(actions=tuple(actions), watch=watch, notes=tuple(self.notes))


def price_refusal(market: Market, price: Decimal) -> str | None:
    """Return why ``market`` would refuse ``price``, or None if it would accept it."""
    try:
        market.check_price(price)
    except MarketRuleError as exc:
        return str(exc)
    return None


def refusal_of(market: Market, price: Decimal, amount: Decimal) -> str | None:
    """Return why ``market`` would refuse ``amount`` at ``price``, or None if it would accept it."""
    try:
        market.check_order(price, amount)
    except MarketRuleError as exc:
        return str(exc)
    return None
