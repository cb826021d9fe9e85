"""Getting in: market, limit or conditional entries, with an optional trailing buy.

The deal is opened at the first decision, so a conditional entry waits inside it. A
conditional entry waits for the price to cross its trigger in the direction it lay from the
price at creation (above: a breakout, below: a dip); a price already at the trigger triggers
at once. ``trailing_buy`` starts when the entry condition is met (at once for a market entry,
when the price reaches the limit price for a limit entry, at the trigger for a conditional one),
follows the price down (a short: up) and enters at market when it rebounds by ``deviation_pct``
from the lowest price seen.

Targets and the stop start once the entry order has ended: a partly filled limit entry is
waited for; if it ends (cancelled, expired) after a partial fill, the trade goes on with what
filled, and if it ends empty the deal closes (``entry_cancelled``, ``entry_rejected``, ...).
"""

from __future__ import annotations

from decimal import Decimal

from bastion.bots.interface import OrderRole, Watch
from bastion.bots.smart_trade._state import plain
from bastion.bots.smart_trade._turn import Turn
from bastion.domain import OrderStatus, OrderType

ENTRY_LEG = "entry"


def start(turn: Turn) -> None:
    """First decision: place the entry, or start waiting for its condition."""
    entry, state, last = turn.config.entry, turn.state, turn.price.last
    if entry.type == "market":
        if turn.config.trailing_buy is not None:
            _begin_trailing(turn, after_cross=False)
        else:
            _place_entry(turn, None)
        return
    raw = entry.trigger_price if entry.type == "conditional" else entry.price
    assert raw is not None  # the config guarantees it
    level = turn.round(raw)
    if entry.type == "limit":
        if turn.config.trailing_buy is None:
            _place_entry(turn, level)
            return
        # Trailing starts where the limit order would fill.
        filled_now = last <= level if turn.way.long else last >= level
        if filled_now:
            _begin_trailing(turn, after_cross=False)
            return
        state.cross = "down" if turn.way.long else "up"
    elif last == level:
        state.entry_at = plain(level)
        _triggered(turn)
        return
    else:
        state.cross = "up" if level > last else "down"
    state.phase, state.entry_at = "trigger", plain(level)
    turn.notes.append(f"waiting for the price to cross {level} {state.cross}")
    _watch_trigger(turn, level)


def wait_for_trigger(turn: Turn) -> None:
    """Phase ``trigger``: enter (or start trailing) once the price has crossed the trigger."""
    state, price = turn.state, turn.price
    level = Decimal(state.entry_at)
    crossed = price.high >= level if state.cross == "up" else price.low <= level
    if crossed:
        turn.notes.append(f"entry triggered: price crossed {level} {state.cross}")
        _triggered(turn)
    else:
        _watch_trigger(turn, level)


def _watch_trigger(turn: Turn, level: Decimal) -> None:
    symbol = turn.config.pair
    up = turn.state.cross == "up"
    turn.watch.append(Watch(symbol=symbol, above=level) if up else Watch(symbol=symbol, below=level))


def _triggered(turn: Turn) -> None:
    entry = turn.config.entry
    if turn.config.trailing_buy is not None:
        _begin_trailing(turn, after_cross=True)
    elif entry.order_type == "limit":
        assert entry.price is not None  # a conditional limit entry's price defaults to its trigger
        _place_entry(turn, turn.round(entry.price))
    else:
        _place_entry(turn, None)


def _begin_trailing(turn: Turn, *, after_cross: bool) -> None:
    state, way = turn.state, turn.way
    # After crossing down (a long), the low since the last decision came after the cross.
    towards_entry = "down" if way.long else "up"
    start = way.worst(turn.price) if after_cross and state.cross == towards_entry else turn.price.last
    state.phase, state.extreme = "trail", plain(start)
    turn.notes.append(f"trailing the entry from {start}")
    trail(turn)


def trail(turn: Turn) -> None:
    """Phase ``trail``: follow the price; enter at market once it rebounds by the deviation."""
    state, way, price = turn.state, turn.way, turn.price
    assert turn.config.trailing_buy is not None
    extreme = Decimal(state.extreme)
    extreme = min(extreme, price.low) if way.long else max(extreme, price.high)
    state.extreme = plain(extreme)
    rebound = turn.round(way.gain(extreme, turn.config.trailing_buy.deviation_pct), way.favourable_rounding)
    if way.reached(price.last, rebound):
        turn.notes.append(f"price rebounded to {price.last} from {extreme}: entering")
        _place_entry(turn, None)
        return
    symbol = turn.config.pair
    back = way.step_back(extreme, turn.market)
    if way.long:
        turn.watch.extend([Watch(symbol=symbol, above=rebound), Watch(symbol=symbol, below=back)])
    else:
        turn.watch.extend([Watch(symbol=symbol, below=rebound), Watch(symbol=symbol, above=back)])


def _place_entry(turn: Turn, limit: Decimal | None) -> None:
    config = turn.config
    kind = OrderType.MARKET if limit is None else OrderType.LIMIT
    amount: Decimal | None = None
    quote: Decimal | None = None
    if config.amount is not None:
        amount = turn.floor(config.amount)
    elif limit is not None:
        assert config.amount_quote is not None
        amount = turn.floor(turn.divide(config.amount_quote, limit))
    else:
        quote = config.amount_quote
    turn.place(
        ENTRY_LEG, turn.way.entry_side, kind, role=OrderRole.ENTRY, amount=amount, price=limit, quote_amount=quote
    )
    turn.state.phase = "entry"
    size = f"{amount} {turn.market.base}" if amount is not None else f"{quote} {turn.market.quote}"
    at = "" if limit is None else f" at {limit}"
    turn.notes.append(f"entry: {kind.value} {turn.way.entry_side} of {size}{at}")


def entry_outcome(turn: Turn) -> str:
    """Phase ``entry``: ``wait`` while the entry can fill, ``open`` once filled, ``failed`` if it ended empty."""
    order = turn.order(ENTRY_LEG)
    if order is None or order.active:
        return "wait"
    if order.filled > 0:
        if order.status != OrderStatus.FILLED:
            turn.notes.append(f"entry ended {order.status.value} after {order.filled} of {order.amount}: trading that")
        return "open"
    turn.notes.append(f"entry ended {order.status.value} unfilled")
    return "failed"
