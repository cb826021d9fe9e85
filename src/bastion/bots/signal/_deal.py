"""One open signal deal: from its orders and the few values it saved to what to do next.

Everything is recomputed from the view on every call, so the same view gives the same actions.
The position is what the entry's fills added (net of base fees) minus what the exit legs took
away. A closing order at market (``exit`` for an exit signal, ``sl`` for the stop-loss) is only
placed once no take-profit rests on the exchange, so a take-profit that fills while it is being
cancelled is never sold twice.
"""

from __future__ import annotations

from decimal import Decimal

from bastion.bots._outcome import Outcome
from bastion.bots.interface import BotView, CloseDeal, DealOutcome, DealView, OrderRole, OrderView, Signal
from bastion.bots.signal._orders import (
    ENTRY,
    EXIT,
    PARTIAL_EXIT,
    STOP_LOSS,
    TAKE_PROFIT,
    base_change,
    entry_order,
    exit_side,
    fresh_leg,
    has_stem,
    is_exit,
    limit_order,
    market_order,
    too_small,
)
from bastion.bots.signal.config import SignalConfig
from bastion.domain import Market

#: Deal state keys (``SaveState(deal=...)``).
CLOSING_KEY = "closing"
EXIT_SIGNAL_KEY = "exit_signal"
SIGNAL_KEY = "signal"
SIZE_KEY = "size"
CURRENCY_KEY = "currency"
#: A partial exit under way: ``"<signal id> <amount> <percent|base|quote>"``; empty once done.
PARTIAL_KEY = "partial"
#: Set when a take-profit was cancelled for a partial exit: it rests again (``tp.2``...) for what is left.
TP_AGAIN_KEY = "tp_again"

#: Closing orders that may end without a fill before the bot stops trying (and says so).
MAX_CLOSE_ATTEMPTS = 3

_REASONS = {EXIT: "exit signal", STOP_LOSS: "stop loss", TAKE_PROFIT: "take profit"}
_OUTCOMES = {EXIT: DealOutcome.EXIT_SIGNAL, STOP_LOSS: DealOutcome.STOP_LOSS, TAKE_PROFIT: DealOutcome.TAKE_PROFIT}
_ROLES = {EXIT: OrderRole.EXIT, STOP_LOSS: OrderRole.STOP_LOSS, TAKE_PROFIT: OrderRole.TAKE_PROFIT}
_HUNDRED = Decimal(100)


def partial_spec(signal: Signal) -> str | None:
    """What share of the position an exit signal closes (``"25 percent"``, ``"0.01 base"``), or None for all."""
    if signal.amount is None or not signal.action.startswith("exit_"):
        return None
    if signal.currency_type == "percent":
        return None if signal.amount >= _HUNDRED else f"{signal.amount} percent"
    return f"{signal.amount} {signal.currency_type}"  # base, or quote: worth that much at the last price


def manage_deal(
    config: SignalConfig,
    view: BotView,
    deal: DealView,
    exit_signal: str | None,
    out: Outcome,
    *,
    partial: str | None = None,
) -> None:
    """Decide for one deal; ``exit_signal`` is the id of an exit signal for it in this view, if any,
    and ``partial`` what share it closes (:func:`partial_spec`; None: the whole deal)."""
    tag = f"deal {deal.id} {deal.pair}"
    closing = deal.state.get(CLOSING_KEY, "")
    first = deal.order(ENTRY)
    if exit_signal is not None and partial is not None and not closing:
        if first is None or first.active or first.filled == 0:
            out.note(f"{tag}: exit signal {exit_signal}: ignored, a partial exit needs a filled entry")
        elif deal.state.get(PARTIAL_KEY):
            out.note(f"{tag}: exit signal {exit_signal}: ignored, a partial exit is already under way")
        else:
            out.save(deal.id, {PARTIAL_KEY: f"{exit_signal} {partial}"})
            deal = _with_state(deal, {PARTIAL_KEY: f"{exit_signal} {partial}"})
            out.note(f"{tag}: exit signal {exit_signal}: closing {partial.replace(' percent', '%')} of the position")
    elif exit_signal is not None:
        if closing:
            out.note(f"{tag}: exit signal {exit_signal}: already closing ({_REASONS.get(closing, closing)})")
        else:
            closing = EXIT
            out.save(deal.id, {CLOSING_KEY: EXIT, EXIT_SIGNAL_KEY: exit_signal})
            out.note(f"{tag}: exit signal {exit_signal}: closing the {deal.direction} deal")
    market = view.markets.get(deal.pair)
    entry = deal.order(ENTRY)
    if market is None:
        out.note(f"{tag}: no market rules in the view; nothing decided")
    elif entry is None:
        _place_missing_entry(view, deal, market, closing, out)
    elif entry.active:
        if closing:
            out.cancel(deal.id, [ENTRY], f"{_REASONS.get(closing, closing)} before the entry filled")
            out.note(f"{tag}: cancelling the entry ({entry.filled} of {entry.amount} filled) to close the deal")
        else:
            out.note(f"{tag}: waiting for the entry ({entry.filled} of {entry.amount} filled)")
    elif entry.filled == 0:
        out.act(
            CloseDeal(
                deal=deal.id, outcome=DealOutcome.ENTRY_UNFILLED, reason=f"entry order {entry.status} without a fill"
            )
        )
        out.note(f"{tag}: closed (entry order {entry.status} without a fill)")
    else:
        _Position(config, view, deal, market, entry, closing, out).run()


def _place_missing_entry(view: BotView, deal: DealView, market: Market, closing: str, out: Outcome) -> None:
    # The engine has no entry for this deal: ask again; the same leg gives the same client order id.
    tag = f"deal {deal.id} {deal.pair}"
    if closing:
        out.act(
            CloseDeal(
                deal=deal.id,
                outcome=DealOutcome.ENTRY_UNFILLED,
                reason=f"{_REASONS.get(closing, closing)} before the entry was placed",
            )
        )
        out.note(f"{tag}: closed before its entry was placed")
        return
    size = deal.state.get(SIZE_KEY, "")
    currency = deal.state.get(CURRENCY_KEY, "")
    price = view.prices.get(deal.pair)
    if not size or currency not in ("quote", "base") or price is None:
        missing = "price" if price is None else "saved entry size"
        out.note(f"{tag}: no entry order and no {missing} to place it with")
        return
    order, problem = entry_order(deal.id, market, deal.direction, Decimal(size), currency, price.last)
    if order is None:
        out.act(CloseDeal(deal=deal.id, outcome=DealOutcome.ENTRY_UNFILLED, reason=f"entry not placed: {problem}"))
        out.note(f"{tag}: closed, the entry would be refused: {problem}")
        return
    out.act(order)
    out.note(f"{tag}: placing the missing entry order")


class _Position:
    """A deal whose entry is done with a fill: its take-profit, stop-loss and closing order."""

    def __init__(
        self,
        config: SignalConfig,
        view: BotView,
        deal: DealView,
        market: Market,
        entry: OrderView,
        closing: str,
        out: Outcome,
    ) -> None:
        self.config = config
        self.deal = deal
        self.market = market
        self.closing = closing
        self.out = out
        self.long = deal.direction == "long"
        self.price = view.prices.get(deal.pair)
        self.tag = f"deal {deal.id} {deal.pair}"
        self.exits = [o for o in deal.orders if is_exit(o)]
        self.active_exits = [o for o in self.exits if o.active]
        sign = 1 if self.long else -1
        held = sign * sum((base_change(o) for o in (entry, *self.exits)), Decimal(0))
        self.closable = market.floor_amount(max(held, Decimal(0)))
        average = entry.average_price
        assert average is not None  # the entry has fills here
        self.average = average

    def run(self) -> None:
        reference = self.price.last if self.price is not None else self.average
        if too_small(self.market, self.closable, reference):
            self._finish()
            return
        closing = self.closing or self._stop_loss()
        if closing:
            self._close_at_market(closing)
            return
        pending = self.deal.state.get(PARTIAL_KEY, "")
        if pending and not self._partial_exit(pending, reference):
            return
        self._take_profit()

    def _partial_exit(self, pending: str, reference: Decimal) -> bool:
        """Carry a partial exit one step further; True once it is done (the take-profit may rest again)."""
        signal_id, amount_text, unit = pending.split(" ")
        leg = f"{PARTIAL_EXIT}.{signal_id}"
        placed = self.deal.order(leg)
        if placed is not None and placed.active:
            self.out.note(f"{self.tag}: partial exit: waiting for {leg} ({placed.filled} of {placed.amount} filled)")
            return False
        if placed is not None:
            self.out.save(self.deal.id, {PARTIAL_KEY: ""})
            self.out.note(f"{self.tag}: partial exit {leg} ended {placed.status} with {placed.filled} filled")
            return True
        resting = [o.leg for o in self.active_exits]
        if resting:
            self.out.cancel(self.deal.id, resting, "partial exit")
            self.out.save(self.deal.id, {TP_AGAIN_KEY: "1"})
            self.out.note(f"{self.tag}: partial exit: cancelling {', '.join(resting)} first")
            return False
        share = Decimal(amount_text)
        if unit == "percent":
            wanted = self.closable * share / _HUNDRED
        elif unit == "quote":
            wanted = share / reference if reference > 0 else self.closable
        else:
            wanted = share
        amount = self.market.floor_amount(min(wanted, self.closable))
        if amount >= self.closable or too_small(self.market, self.closable - amount, reference):
            self.out.save(self.deal.id, {PARTIAL_KEY: "", CLOSING_KEY: EXIT, EXIT_SIGNAL_KEY: signal_id})
            self.out.note(
                f"{self.tag}: partial exit of {amount} would leave less than the market minimum: closing the deal"
            )
            self.closing = EXIT
            self._close_at_market(EXIT)
            return False
        if too_small(self.market, amount, reference):
            self.out.save(self.deal.id, {PARTIAL_KEY: ""})
            self.out.note(f"{self.tag}: partial exit of {amount} {self.market.base} is below the market minimum; "
                          "nothing sold")  # fmt: skip
            return True
        side = exit_side(self.deal.direction)
        self.out.act(market_order(self.deal.id, leg, self.market, side, amount, OrderRole.EXIT))
        held = f"{self.closable} {self.market.base}"
        self.out.note(f"{self.tag}: partial exit: {side} {amount} of {held} at market ({leg})")
        return False

    def _finish(self) -> None:
        self.out.cancel(self.deal.id, [o.leg for o in self.active_exits], "deal closed")
        filled = [stem for stem in (self.closing, STOP_LOSS, EXIT, TAKE_PROFIT) if stem and self._sold_by(stem)]
        stem = filled[0] if filled else self.closing
        if stem:
            outcome, reason = _OUTCOMES[stem], _REASONS.get(stem, stem)
        else:
            outcome, reason = DealOutcome.NOTHING_TO_SELL, "position below the market minimum; nothing left to sell"
        self.out.act(CloseDeal(deal=self.deal.id, outcome=outcome, reason=reason))
        self.out.note(f"{self.tag}: closed ({reason})")

    def _sold_by(self, stem: str) -> bool:
        return any(has_stem(o.leg, stem) and o.filled > 0 for o in self.exits)

    def _stop_loss(self) -> str:
        """Return ``sl`` once the price touched the stop (and save it), else watch the stop."""
        pct = self.config.stop_loss_pct
        if pct is None:
            return ""
        if self.long:
            level = self.market.round_price(self.average * (1 - pct / _HUNDRED), "up")
        else:
            level = self.market.round_price(self.average * (1 + pct / _HUNDRED), "down")
        price = self.price
        touched = price is not None and (price.low <= level if self.long else price.high >= level)
        if not touched:
            self.out.watch(self.deal.pair, **({"below": level} if self.long else {"above": level}))
            return ""
        assert price is not None
        self.out.save(self.deal.id, {CLOSING_KEY: STOP_LOSS})
        seen = price.low if self.long else price.high
        self.out.note(f"{self.tag}: stop loss: price {seen} touched the stop {level}")
        return STOP_LOSS

    def _close_at_market(self, stem: str) -> None:
        reason = _REASONS.get(stem, stem)
        closers = [o.leg for o in self.active_exits if has_stem(o.leg, EXIT) or has_stem(o.leg, STOP_LOSS)]
        if closers:
            self.out.note(f"{self.tag}: {reason}: waiting for the closing order {closers[0]}")
            return
        resting = [o.leg for o in self.active_exits]
        if resting:
            self.out.cancel(self.deal.id, resting, reason)
            self.out.note(f"{self.tag}: {reason}: cancelling {', '.join(resting)} before closing at market")
            return
        failed = [o for o in self.exits if has_stem(o.leg, stem) and not o.active and o.filled == 0]
        if len(failed) >= MAX_CLOSE_ATTEMPTS:
            statuses = ", ".join(f"{o.leg} {o.status}" for o in failed)
            self.out.note(
                f"{self.tag}: {reason}: {len(failed)} closing orders ended without a fill ({statuses}); not trying "
                f"again: close the remaining {self.closable} {self.market.base} by hand"
            )
            return
        leg = fresh_leg([o.leg for o in self.deal.orders], stem)
        side = exit_side(self.deal.direction)
        self.out.act(market_order(self.deal.id, leg, self.market, side, self.closable, _ROLES[stem]))
        self.out.note(f"{self.tag}: {reason}: {side} {self.closable} {self.market.base} at market ({leg})")

    def _take_profit(self) -> None:
        pct = self.config.take_profit_pct
        if pct is None:
            return
        placed = [o for o in self.deal.orders if has_stem(o.leg, TAKE_PROFIT)]
        existing = placed[-1] if placed else None
        leg = TAKE_PROFIT
        if existing is not None and not existing.active and self.deal.state.get(TP_AGAIN_KEY):
            leg, existing = fresh_leg([o.leg for o in self.deal.orders], TAKE_PROFIT), None  # after a partial exit
            self.out.save(self.deal.id, {TP_AGAIN_KEY: ""})
        if existing is not None:
            if not existing.active:
                self.out.note(
                    f"{self.tag}: take-profit ended {existing.status} with {existing.filled} filled; not placed "
                    f"again, the remaining {self.closable} waits for an exit signal or the stop-loss"
                )
            return
        if self.long:
            level = self.market.round_price(self.average * (1 + pct / _HUNDRED), "up")
        else:
            level = self.market.round_price(self.average * (1 - pct / _HUNDRED), "down")
        side = exit_side(self.deal.direction)
        order, problem = limit_order(self.deal.id, leg, self.market, side, level, self.closable, OrderRole.TAKE_PROFIT)
        if order is None:
            self.out.note(f"{self.tag}: take-profit not placed: {problem}")
            return
        self.out.act(order)
        self.out.note(f"{self.tag}: take-profit {side} {self.closable} at {level} ({leg})")


def _with_state(deal: DealView, values: dict[str, str]) -> DealView:
    """``deal`` as it will be once ``values`` are saved (a decision sees what it just saved)."""
    import dataclasses

    return dataclasses.replace(deal, state={**deal.state, **values})
