"""Getting out: take-profit targets in order, a trailing last target, the stop loss.

Targets are worked one at a time, in order, as limit orders (``tp1`` .. ``tp4``); the next is
placed only when the one before has ended, so they fill strictly in order even when the price
gaps through several. Step ``i`` sells ``amount_pct`` of the position (floored to the lot); the
last step sells whatever remains, so an unfilled remainder of an earlier step (an order
cancelled by hand) is swept up there. A step too small for the market is skipped, its share
left to the last. A trailing last target places no order: once its price is reached the bot
follows the best price and sells the rest at market when the price falls back by
``trailing_deviation_pct``.

The stop loss is watched, not placed (spot exchanges' stop orders differ; a resting stop would
lock the base the targets sell). When it triggers the working target is cancelled and, once the
cancel is confirmed, the rest is sold at market (leg ``exit``). Without ``timeout_s`` it
triggers on the worst price since the last decision; with it, on the last price having stayed
beyond the stop for ``timeout_s``. A trailing stop keeps the distance between the entry price
and the initial stop below (a short: above) the best price since entry; breakeven moves it to
the entry price after the first target fills. A stop only ever tightens.
"""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.interface import DealOutcome, OrderRole, Watch
from bastion.bots.smart_trade._entry import ENTRY_LEG
from bastion.bots.smart_trade._state import TradeState, plain
from bastion.bots.smart_trade._turn import Turn
from bastion.bots.smart_trade.config import TakeProfitStep
from bastion.domain import OrderStatus, OrderType

EXIT_LEG = "exit"
_HUNDRED = Decimal(100)


def _target_leg(step: int) -> str:
    return f"tp{step + 1}"


def _exit_legs(turn: Turn) -> tuple[str, ...]:
    return (*(_target_leg(i) for i in range(len(turn.config.take_profit))), EXIT_LEG)


def position(turn: Turn) -> tuple[Decimal, Decimal]:
    """Return the position's base amount (after base fees on a long's entry) and its average price."""
    entry = turn.order(ENTRY_LEG)
    assert entry is not None
    base = entry.filled - entry.fee_base if turn.way.long else entry.filled
    return base, turn.divide(entry.cost, entry.filled)


def remaining(turn: Turn) -> Decimal:
    """Base still to exit, floored to the lot."""
    base, _ = position(turn)
    done = sum((o.filled for leg in _exit_legs(turn) if (o := turn.order(leg)) is not None), Decimal(0))
    return turn.floor(base - done)


def open_position(turn: Turn) -> None:
    """The entry has filled: set the stop and start on the targets."""
    state, config = turn.state, turn.config
    _, average = position(turn)
    state.phase, state.peak = "open", plain(average)
    if config.stop_loss is not None:
        state.stop = plain(_initial_stop(turn, average))
    turn.notes.append(f"position open at {average}" + (f", stop {state.stop}" if state.stop else ""))
    manage(turn)


def _initial_stop(turn: Turn, average: Decimal) -> Decimal:
    stop_loss = turn.config.stop_loss
    assert stop_loss is not None
    if stop_loss.price is not None:
        return turn.round(stop_loss.price)
    assert stop_loss.loss_pct is not None
    return turn.round(turn.way.loss(average, stop_loss.loss_pct))


def manage(turn: Turn) -> None:
    """Phase ``open``: settle the working target, check and move the stop, work the targets."""
    filled_target = _settle_target(turn)
    if _stop_hit(turn, turn.way.worst(turn.price)):
        exit_at_market(turn, "stop_loss")
        return
    if _move_stop(turn, filled_target) and _stop_hit(turn, turn.price.last):
        exit_at_market(turn, "stop_loss")
        return
    _work_targets(turn)
    _watch_stop(turn)


# --------------------------------------------------------------------------- targets


def _settle_target(turn: Turn) -> bool:
    """If the working target ended, move on to the next step; return whether it filled."""
    state = turn.state
    order = turn.order(state.tp) if state.tp else None
    if order is None or order.active:
        return False
    state.tp, state.tp_peak = "", ""
    state.step = str(int(order.leg.removeprefix("tp")))
    if order.status == OrderStatus.FILLED:
        turn.notes.append(f"target {order.leg} filled: {order.filled} at {order.average_price}")
        return True
    turn.notes.append(
        f"target {order.leg} ended {order.status.value} after {order.filled} of {order.amount}; "
        "the rest goes to the last target"
    )
    return False


def target_price(turn: Turn, step: TakeProfitStep, average: Decimal) -> Decimal:
    """The step's target price, rounded to the tick (a percentage target rounds in the profit's favour)."""
    if step.price is not None:
        return turn.round(step.price)
    assert step.profit_pct is not None
    return turn.round(turn.way.gain(average, step.profit_pct), turn.way.favourable_rounding)


def _work_targets(turn: Turn) -> None:
    steps, state = turn.config.take_profit, turn.state
    if not steps or state.tp or state.phase != "open":
        return
    base, average = position(turn)
    rest = remaining(turn)
    index = int(state.step)
    while index < len(steps):
        step = steps[index]
        last = index == len(steps) - 1
        price = target_price(turn, step, average)
        state.step = str(index)
        if last and step.trailing_deviation_pct is not None:
            _trail_last_target(turn, index, price, rest)
            return
        amount = rest if last else min(turn.floor(base * step.amount_pct / _HUNDRED), rest)
        refusal = turn.refusal(price, amount)
        if refusal is None:
            state.tp = _target_leg(index)
            turn.place(
                state.tp, turn.way.exit_side, OrderType.LIMIT, role=OrderRole.TAKE_PROFIT, amount=amount, price=price
            )
            turn.notes.append(f"target {state.tp}: {turn.way.exit_side} {amount} at {price}")
            return
        turn.notes.append(f"target {_target_leg(index)} skipped: {refusal}")
        index += 1
    state.step = str(len(steps))
    exit_at_market(turn, "take_profit")


def _trail_last_target(turn: Turn, index: int, target: Decimal, rest: Decimal) -> None:
    state, way, price = turn.state, turn.way, turn.price
    step = turn.config.take_profit[index]
    assert step.trailing_deviation_pct is not None
    deviation = step.trailing_deviation_pct
    peak = TradeState.number(state.tp_peak)
    if peak is None:
        if not way.reached(way.best(price), target):
            turn.watch.append(_watch_towards_profit(turn, target))
            return
        # The best price since the last decision came after the target was first reached.
        peak = way.best(price)
        turn.notes.append(f"target {target} reached: trailing the last target from {peak}")
        fire = way.stopped(price.last, turn.round(way.loss(peak, deviation)))
    else:
        fire = way.stopped(way.worst(price), turn.round(way.loss(peak, deviation)))
        if not fire:
            peak = way.better(peak, way.best(price))
            fire = way.stopped(price.last, turn.round(way.loss(peak, deviation)))
    state.tp_peak = plain(peak)
    if not fire:
        turn.watch.append(_watch_towards_loss(turn, turn.round(way.loss(peak, deviation))))
        turn.watch.append(_watch_towards_profit(turn, way.step_beyond(peak, turn.market)))
        return
    refusal = turn.refusal(price.last, rest)
    if refusal is not None:
        turn.notes.append(f"last target not sold: {refusal}")
        state.step = str(index + 1)
        exit_at_market(turn, "take_profit")
        return
    state.tp = _target_leg(index)
    turn.place(state.tp, way.exit_side, OrderType.MARKET, role=OrderRole.TRAILING, amount=rest)
    turn.notes.append(f"trailing target hit: {way.exit_side} {rest} at market after a peak of {peak}")


# --------------------------------------------------------------------------- stop loss


def _stop_hit(turn: Turn, seen: Decimal) -> bool:
    """Whether the stop triggers on ``seen`` (the timeout, if any, runs on the last price)."""
    state, stop_loss = turn.state, turn.config.stop_loss
    stop = TradeState.number(state.stop)
    if stop_loss is None or stop is None:
        return False
    if stop_loss.timeout_s == 0:
        return turn.way.stopped(seen, stop)
    if not turn.way.stopped(turn.price.last, stop):
        state.since = ""
        return False
    since = int(state.since) if state.since else turn.now_ms
    state.since = str(since)
    due = since + stop_loss.timeout_s * 1000
    if turn.now_ms >= due:
        return True
    turn.wake_at_ms = due
    return False


def _move_stop(turn: Turn, filled_target: bool) -> bool:
    """Trail the stop and move it to breakeven as configured; return whether it moved."""
    state, stop_loss, way = turn.state, turn.config.stop_loss, turn.way
    stop = TradeState.number(state.stop)
    if stop_loss is None or stop is None:
        return False
    _, average = position(turn)
    moved = stop
    if stop_loss.trailing:
        peak = way.better(Decimal(state.peak), way.best(turn.price))
        state.peak = plain(peak)
        distance = abs(average - _initial_stop(turn, average))
        moved = way.better(moved, turn.round(way.towards_loss(peak, distance)))
    if stop_loss.move_to_breakeven and filled_target and not state.breakeven:
        state.breakeven = "1"
        moved = way.better(moved, turn.round(average, way.favourable_rounding))
        turn.notes.append(f"stop moved to breakeven {moved}")
    if moved == stop:
        return False
    state.stop = plain(moved)
    return True


def _watch_stop(turn: Turn) -> None:
    state, stop_loss = turn.state, turn.config.stop_loss
    stop = TradeState.number(state.stop)
    if stop_loss is None or stop is None or state.phase != "open":
        return
    turn.watch.append(_watch_towards_loss(turn, stop))
    if state.since:
        turn.watch.append(_watch_towards_profit(turn, turn.way.step_beyond(stop, turn.market)))
    if stop_loss.trailing:
        peak = Decimal(state.peak)
        turn.watch.append(_watch_towards_profit(turn, turn.way.step_beyond(peak, turn.market)))


def _watch_towards_profit(turn: Turn, level: Decimal) -> Watch:
    symbol = turn.config.pair
    return Watch(symbol=symbol, above=level) if turn.way.long else Watch(symbol=symbol, below=level)


def _watch_towards_loss(turn: Turn, level: Decimal) -> Watch:
    symbol = turn.config.pair
    return Watch(symbol=symbol, below=level) if turn.way.long else Watch(symbol=symbol, above=level)


# --------------------------------------------------------------------------- leaving


#: The reasons this module leaves with, as deal outcomes.
_OUTCOMES = {"stop_loss": DealOutcome.STOP_LOSS, "take_profit": DealOutcome.TAKE_PROFIT}


def exit_at_market(turn: Turn, reason: str) -> None:
    """Leave: cancel what works, then sell (a short: buy back) the rest at market, then close."""
    state = turn.state
    if state.phase != "exit":
        state.phase, state.reason, state.since = "exit", reason, ""
    working = [o for o in turn.active_orders() if o.leg != EXIT_LEG]
    if working:
        for order in working:
            turn.cancel(order.leg, state.reason)
        turn.notes.append(f"{state.reason}: cancelling {', '.join(o.leg for o in working)} before leaving")
        return
    exit_order = turn.order(EXIT_LEG)
    if exit_order is not None:
        if not exit_order.active:
            if exit_order.status != OrderStatus.FILLED:
                turn.notes.append(f"exit ended {exit_order.status.value} after {exit_order.filled}")
            turn.close(_OUTCOMES[state.reason], state.reason)
        return
    rest = remaining(turn)
    refusal = turn.refusal(turn.price.last, rest)
    if refusal is not None:
        if rest > 0:
            turn.notes.append(f"{rest} {turn.market.base} left unsold: {refusal}")
        turn.close(_OUTCOMES[state.reason], state.reason)
        return
    role = OrderRole.STOP_LOSS if _OUTCOMES[state.reason] is DealOutcome.STOP_LOSS else OrderRole.EXIT
    turn.place(EXIT_LEG, turn.way.exit_side, OrderType.MARKET, role=role, amount=rest)
    turn.notes.append(f"{state.reason}: {turn.way.exit_side} {rest} {turn.market.base} at market")
