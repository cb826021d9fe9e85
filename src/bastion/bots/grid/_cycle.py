"""A running grid: turn fills into the next order of each interval, and trail the range.

Each interval ``k`` (levels ``k`` and ``k + 1``) holds one order at a time. A filled buy at
level ``k`` is followed by a sell of what it bought at level ``k + 1``; a filled sell at
level ``k + 1`` by a buy at level ``k``, and the round trip's profit is booked.
"""

from __future__ import annotations

from decimal import Context, Decimal

from bastion.bots.grid._state import IDLE, START, plain
from bastion.bots.grid._turn import Turn, price_refusal
from bastion.domain import OrderStatus

_CTX = Context(prec=34)


def advance(turn: Turn, interval: int, *, place: bool = True) -> None:
    """Act on the end of ``interval``'s current order, if it has ended.

    With ``place=False`` (a stopping grid) only book a completed round trip; place nothing.
    """
    order = turn.slot_order(interval)
    if order is None or order.active:
        return
    state = turn.state
    if order.side == "sell":
        if order.status == OrderStatus.FILLED:
            _book_round_trip(turn, interval)
            if place:
                turn.place(interval, "buy", turn.ladder.amount(interval))
            else:
                state.slots[interval] = IDLE
        elif place:
            state.slots[interval] = IDLE
            turn.notes.append(
                f"{order.leg} ended {order.status.value} with {order.filled} of {order.amount} sold; "
                f"interval {interval} idle"
            )
        return
    if not place:
        return
    if order.filled == 0:
        state.slots[interval] = IDLE
        turn.notes.append(f"{order.leg} ended {order.status.value} unfilled; interval {interval} idle")
        return
    amount = Decimal(turn.market.floor_amount(order.filled - order.fee_base))
    if turn.place(interval, "sell", amount, basis=plain(order.cost + order.fee_quote)):
        turn.notes.append(f"{order.leg} filled: sell {amount} at level {interval + 1}")


def _book_round_trip(turn: Turn, interval: int) -> None:
    order = turn.slot_order(interval)
    basis = turn.state.basis.get(interval, "")
    if order is None or not basis:
        return
    profit = order.cost - order.fee_quote - Decimal(basis)
    turn.state.profit += profit
    turn.state.trips += 1
    turn.notes.append(f"{order.leg} filled: round trip profit {plain(profit)} {turn.market.quote}")


def allocate_start(turn: Turn) -> None:
    """Once the start market buy has ended, give each waiting interval its share as a sell.

    An interval whose share is zero (the buy failed or fell short) holds quote instead: it gets
    the buy at its lower level.
    """
    waiting = [k for k in turn.state.window if turn.state.slots.get(k) == START]
    if not waiting:
        return
    order = turn.order("start")
    if order is None or order.active:
        return
    net = order.filled - order.fee_base
    for interval in waiting:
        wanted = turn.ladder.amount(interval)
        share = Decimal(turn.market.floor_amount(_CTX.divide(_CTX.multiply(wanted, net), order.amount)))
        if share > 0:
            turn.place(interval, "sell", share)
        else:
            turn.place(interval, "buy", wanted)
    turn.notes.append(f"start buy {order.status.value}: {order.filled} bought, sells placed")


# --------------------------------------------------------------------------- trailing


def _far(turn: Turn, direction: str) -> int:
    state = turn.state
    return state.lo if direction == "up" else state.lo + state.count - 1


def maybe_trail(turn: Turn) -> None:
    """Start a one-level shift when the price has left the range on a trailing side."""
    config, state, last = turn.config, turn.state, turn.price.last
    if state.shift:
        return
    if config.trailing_up and last > turn.ladder.price(state.lo + state.count):
        direction = "up"
    elif config.trailing_down and last < turn.ladder.price(state.lo):
        direction = "down"
    else:
        return
    far = _far(turn, direction)
    if far in turn.touched or state.slots.get(far) == START:
        return
    added = state.lo + state.count + 1 if direction == "up" else state.lo - 1
    refusal = price_refusal(turn.market, turn.ladder.price(added))
    if refusal is not None:
        turn.notes.append(f"cannot trail {direction}: level {added}: {refusal}")
        return
    order = turn.slot_order(far)
    state.shift = direction
    if order is not None and order.active:
        turn.cancel(order.leg, f"trailing {direction}")
        turn.notes.append(f"price {last} left the range: trailing {direction}, cancelling {order.leg}")
        return
    complete_shift(turn)


def complete_shift(turn: Turn) -> bool:
    """Finish a pending shift once its far order has ended; return whether the window moved.

    The far interval's holding moves to the new interval on the near side: quote becomes a
    buy at the new interval's lower level, unsold base a sell at its upper level (keeping its
    buy cost, so the round trip is still booked). If the far order filled before the cancel,
    the shift is dropped and the fill handled as usual.
    """
    state = turn.state
    direction = state.shift
    if not direction:
        return False
    far = _far(turn, direction)
    order = turn.slot_order(far)
    if order is not None and order.active:
        return False
    state.shift = ""
    if order is not None and (order.status == OrderStatus.FILLED or (order.side == "buy" and order.filled > 0)):
        turn.notes.append(f"trailing {direction} dropped: {order.leg} filled before its cancel")
        advance(turn, far)
        return False
    holds_base = order is not None and order.side == "sell"
    basis = state.basis.get(far, "") if order is not None and order.filled == 0 else ""
    del state.slots[far]
    state.basis.pop(far, None)
    if direction == "up":
        new = state.lo + state.count
        state.lo += 1
    else:
        new = state.lo - 1
        state.lo -= 1
    if holds_base:
        assert order is not None
        turn.place(new, "sell", order.amount - order.filled, basis=basis)
    else:
        turn.place(new, "buy", turn.ladder.amount(new))
    bottom, top = turn.ladder.price(state.lo), turn.ladder.price(state.lo + state.count)
    turn.notes.append(f"grid trailed {direction}: range now {bottom} - {top}")
    return True
