"""Stopping a grid at its stop-loss or take-profit price, as ``on_stop`` says.

A stop first cancels every open order of the grid (phase ``stopping``) and waits until none
can fill any more, so what the grid holds is known exactly. Then ``keep`` closes the deal,
``sell_base`` sells the grid's base at market (phase ``selling``) and closes the deal when
that order ends, and ``cancel_only`` stops there (phase ``halted``, deal left open).
"""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.grid._cycle import advance
from bastion.bots.grid._state import START
from bastion.bots.grid._turn import Turn, refusal_of
from bastion.bots.interface import CloseDeal, DealOutcome, Decision, OrderRole, PlaceOrder
from bastion.domain import OrderType

SELL_LEG = "stop.sell"


def stop_reason(turn: Turn) -> str | None:
    """Return ``stop_loss`` or ``take_profit`` if the price reached that level, else None."""
    config, price = turn.config, turn.price
    if config.stop_loss_price is not None and price.low <= config.stop_loss_price:
        return "stop_loss"
    if config.take_profit_price is not None and price.high >= config.take_profit_price:
        return "take_profit"
    return None


def begin(turn: Turn, reason: str) -> Decision:
    """Stop the grid: book finished round trips, cancel every open order."""
    state = turn.state
    state.phase, state.stop, state.shift = "stopping", reason, ""
    turn.notes.append(f"{reason} reached at {turn.price.last}: stopping the grid ({turn.config.on_stop})")
    return proceed(turn)


def proceed(turn: Turn) -> Decision:
    """Carry a stopping or selling grid one step further."""
    state = turn.state
    if state.phase == "selling":
        return _after_sale(turn)
    if state.phase != "stopping":
        return turn.decision()
    for interval in state.window:
        advance(turn, interval, place=False)
    active = turn.deal.active_orders()
    if active:
        for order in active:
            turn.cancel(order.leg, state.stop)
        return turn.decision()
    on_stop = turn.config.on_stop
    if on_stop == "cancel_only":
        state.phase = "halted"
        turn.notes.append("grid halted: orders cancelled, deal left open (on_stop = cancel_only)")
        return turn.decision()
    if on_stop == "sell_base":
        amount = _base_held(turn)
        refusal = refusal_of(turn.market, turn.price.last, amount) if amount > 0 else "nothing to sell"
        if refusal is None:
            state.phase = "selling"
            turn.actions.append(
                PlaceOrder(
                    deal=turn.deal.id,
                    leg=SELL_LEG,
                    role=OrderRole.EXIT,
                    symbol=turn.config.pair,
                    side="sell",
                    type=OrderType.MARKET,
                    amount=amount,
                )
            )
            turn.notes.append(f"selling the grid's {amount} {turn.market.base} at market")
            return turn.decision()
        turn.notes.append(f"base {amount} {turn.market.base} not sold: {refusal}")
    return _close(turn)


def _after_sale(turn: Turn) -> Decision:
    order = turn.order(SELL_LEG)
    if order is not None and order.active:
        return turn.decision()
    if order is not None and order.filled < order.amount:
        turn.notes.append(f"{SELL_LEG} ended {order.status.value}: sold {order.filled} of {order.amount}")
    return _close(turn)


def _close(turn: Turn) -> Decision:
    state = turn.state
    state.phase = "closed"
    turn.actions.append(CloseDeal(deal=turn.deal.id, outcome=DealOutcome.GRID_STOPPED, reason=state.stop))
    return turn.decision()


def _base_held(turn: Turn) -> Decimal:
    """Base the grid holds once all its orders have ended: unsold sells, bought buys, start base."""
    state, held = turn.state, Decimal(0)
    if any(state.slots.get(k) == START for k in state.window):
        start = turn.order("start")
        if start is not None:
            held += start.filled - start.fee_base
    for interval in state.window:
        order = turn.slot_order(interval)
        if order is None:
            continue
        held += order.amount - order.filled if order.side == "sell" else order.filled - order.fee_base
    balance = turn.view_balance
    if balance is not None:
        held = min(held, balance)
    return Decimal(turn.market.floor_amount(max(held, Decimal(0))))
