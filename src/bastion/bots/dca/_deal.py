"""One open deal: from its orders (and the few values it saved) to what to do next.

Everything is recomputed from the view on every call, so the same view gives the same
actions. The position is the entry orders that are done (the base order, then each safety
order that filled or was cancelled after a partial fill) minus what the exit legs sold.
Exits that lock the position (take-profit legs) are cancelled and confirmed gone before a
replacement is placed, so a take-profit that fills while being cancelled is never sold twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bastion.bots.dca._orders import (
    base_order,
    entry_side,
    exit_side,
    fresh_leg,
    is_exit,
    limit_order,
    market_order,
    safety_orders,
    too_small,
    unfilled,
)
from bastion.bots.dca._outcome import Outcome
from bastion.bots.dca.config import DcaConfig
from bastion.bots.dca.formulas import (
    base_change,
    entry_totals,
    order_amount,
    safety_order_price,
    stop_loss_price,
    take_profit_price,
    trailing_stop_price,
)
from bastion.bots.interface import BotView, CloseDeal, DealOutcome, DealView, OrderRole, OrderView
from bastion.domain import Market

_HUNDRED = Decimal(100)
#: A partial exit under way (``"<signal id> <percent>"``); empty once its order is done.
PARTIAL_KEY = "partial"
#: How ``closing`` starts when an exit signal closes the deal (:func:`bastion.bots.dca._opening.exit_signals`).
EXIT_SIGNAL_REASON = "exit signal"
#: A market close that ends without any fill this many times is not sent again (a persistent refusal).
_MAX_CLOSE_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class _Target:
    leg: str
    price: Decimal
    amount: Decimal


def _has_stem(leg: str, stem: str) -> bool:
    return leg == stem or leg.startswith(stem + ".")


def manage_deal(config: DcaConfig, view: BotView, deal: DealView, out: Outcome) -> None:
    """Decide for one deal; the results go into the shared :class:`Outcome`."""
    tag = f"deal {deal.id} {deal.pair}"
    market = view.markets.get(deal.pair)
    price = view.prices.get(deal.pair)
    base = deal.order("base")
    if market is None:
        out.note(f"{tag}: no market rules in the view; nothing decided")
    elif base is None:
        # The engine has no base order for this deal: ask again; the same leg gives the same client id.
        if price is None:
            out.note(f"{tag}: no base order and no price to place it at")
            return
        order, problem = base_order(config, deal.id, market, deal.direction, price.last)
        if order is None:
            out.note(f"{tag}: base order not placed: {problem}")
        else:
            out.act(order)
    elif base.active:
        out.note(f"{tag}: waiting for the base order ({base.filled} of {base.amount} filled)")
    elif base.filled == 0:
        out.act(
            CloseDeal(
                deal=deal.id, outcome=DealOutcome.ENTRY_UNFILLED, reason=f"base order {base.status} without a fill"
            )
        )
        out.closed.add(deal.id)
        out.note(f"{tag}: closed (base order {base.status} without a fill)")
    else:
        _Position(config, view, deal, market, base, out).run()


class _Position:
    """A deal whose base order is done: its position, safety orders and exits."""

    def __init__(
        self, config: DcaConfig, view: BotView, deal: DealView, market: Market, base: OrderView, out: Outcome
    ) -> None:
        self.config = config
        self.view = view
        self.deal = deal
        self.market = market
        self.base = base
        self.out = out
        self.long = deal.direction == "long"
        self.sign = 1 if self.long else -1
        self.price = view.prices.get(deal.pair)
        self.tag = f"deal {deal.id} {deal.pair}"
        sos = safety_orders(deal)
        numbers = sorted(sos)
        done = [n for n in numbers if not sos[n].active and sos[n].filled > 0]
        # Funds added by hand (``bastion deal add-funds``) count as entries once their order is done;
        # like a safety fill they move the average, so the take-profit legs follow (``tp.K``).
        added: list[OrderView] = []
        # A partial exit that is done changes the position too: the take-profit legs follow it.
        partials = 0
        exits: list[OrderView] = []
        for o in deal.orders:  # one pass: a decision reads every order of the deal
            if is_exit(o):
                exits.append(o)
            if o.filled > 0 and not o.active:
                if o.role is OrderRole.ADD_FUNDS:
                    added.append(o)
                if _has_stem(o.leg, "px"):
                    partials += 1
        self.k = len(done) + len(added) + partials
        self.sos = sos
        self.active_sos = [sos[n] for n in numbers if sos[n].active]
        self.exits = exits
        self.active_exits = [o for o in exits if o.active]
        self.entry = entry_totals([base, *(sos[n] for n in done), *added], deal.direction)
        remaining = self.entry.base + self.sign * sum((base_change(o) for o in exits), Decimal(0))
        self.closable = market.floor_amount(max(remaining, Decimal(0)))

    def run(self) -> None:
        reference = self.price.last if self.price is not None else self.base.average_price or Decimal(0)
        if too_small(self.market, self.closable, reference):
            self._finish()
            return
        closing = self.deal.state.get("closing", "")
        if closing:
            self._close_at_market("sl", closing)
            return
        if self._stop_loss():
            return
        pending = self.deal.state.get(PARTIAL_KEY, "")
        if pending and not self._partial_exit(pending, reference):
            return
        targets = self._targets()
        if self._trailing(targets[-1]):
            return
        self._safety_orders()
        self._take_profits(targets)

    def _finish(self) -> None:
        partly = [o.leg for o in self.active_sos if o.filled > 0]
        if partly:
            self.out.cancel(self.deal.id, [o.leg for o in self.active_sos], "position sold")
            self.out.note(f"{self.tag}: sold; waiting for partly filled {', '.join(partly)} to cancel")
            return
        legs = [o.leg for o in (*self.active_sos, *self.active_exits)]
        self.out.cancel(self.deal.id, legs, "deal closed")
        sold = {o.role for o in self.exits if o.filled > 0}
        if OrderRole.STOP_LOSS in sold and self.deal.state.get("closing", "").startswith(EXIT_SIGNAL_REASON):
            outcome, reason = DealOutcome.EXIT_SIGNAL, "exit signal"
        elif OrderRole.STOP_LOSS in sold:
            outcome, reason = DealOutcome.STOP_LOSS, "stop loss"
        elif OrderRole.TRAILING in sold:
            outcome, reason = DealOutcome.TRAILING_TAKE_PROFIT, "trailing take profit"
        elif OrderRole.TAKE_PROFIT in sold:
            outcome, reason = DealOutcome.TAKE_PROFIT, "take profit"
        else:
            outcome, reason = DealOutcome.NOTHING_TO_SELL, "position below the market minimum; nothing left to sell"
        self.out.act(CloseDeal(deal=self.deal.id, outcome=outcome, reason=reason))
        self.out.closed.add(self.deal.id)
        self.out.note(f"{self.tag}: closed ({reason})")

    # --- partial exit ---------------------------------------------------------------------------

    def _partial_exit(self, pending: str, reference: Decimal) -> bool:
        # Carry a partial exit one step further; True once its order is done (the deal goes on).
        signal_id, percent = pending.split(" ")
        leg = f"px.{signal_id}"
        placed = self.deal.order(leg)
        if placed is not None and placed.active:
            self.out.note(f"{self.tag}: partial exit: waiting for {leg} ({placed.filled} of {placed.amount} filled)")
            return False
        if placed is not None:
            self.out.save(self.deal.id, {PARTIAL_KEY: ""})
            self.out.note(f"{self.tag}: partial exit {leg} ended {placed.status} with {placed.filled} filled")
            return True
        resting = [o.leg for o in (*self.active_sos, *self.active_exits)]
        if resting:
            self.out.cancel(self.deal.id, resting, "partial exit")
            self.out.note(f"{self.tag}: partial exit: cancelling {', '.join(resting)} first")
            return False
        amount = self.market.floor_amount(self.closable * Decimal(percent) / _HUNDRED)
        if too_small(self.market, self.closable - amount, reference):
            reason = f"{EXIT_SIGNAL_REASON} {signal_id}"
            self.out.save(self.deal.id, {PARTIAL_KEY: "", "closing": reason})
            self.out.note(f"{self.tag}: partial exit of {amount} would leave less than the market minimum: closing")
            self._close_at_market("sl", reason)
            return False
        if too_small(self.market, amount, reference):
            self.out.save(self.deal.id, {PARTIAL_KEY: ""})
            self.out.note(f"{self.tag}: partial exit of {amount} is below the market minimum; nothing sold")
            return True
        side = exit_side(self.deal.direction)
        self.out.act(market_order(self.deal.id, leg, self.market, side, amount, OrderRole.EXIT))
        self.out.note(f"{self.tag}: partial exit: {side} {amount} of {self.closable} at market ({leg})")
        return False

    # --- closing at market ----------------------------------------------------------------------

    def _close_at_market(self, stem: str, reason: str) -> None:
        if any(_has_stem(o.leg, stem) for o in self.active_exits):
            self.out.note(f"{self.tag}: {reason}: waiting for the closing order")
            return
        self.out.cancel(self.deal.id, [o.leg for o in (*self.active_sos, *self.active_exits)], reason)
        if self.active_exits:
            # Take-profit legs hold the position on the exchange; sell only once they are gone.
            self.out.note(f"{self.tag}: {reason}: cancelling take-profit before closing at market")
            return
        if self._gave_up(stem):
            return
        leg = fresh_leg(self.deal, stem)
        self.out.act(
            market_order(
                self.deal.id, leg, self.market, exit_side(self.deal.direction), self.closable, OrderRole.STOP_LOSS
            )
        )
        self.out.note(f"{self.tag}: {reason}: closing {self.closable} at market ({leg})")

    def _watch(self, *, above: Decimal | None = None, below: Decimal | None = None) -> None:
        # A watch wakes the bot while the price is at or beyond it: a level already crossed would
        # wake it again and again, so only levels still ahead of the last price are kept.
        last = self.price.last if self.price is not None else None
        if last is not None:
            above = above if above is not None and above > last else None
            below = below if below is not None and below < last else None
        self.out.watch(self.deal.pair, above=above, below=below)

    def _gave_up(self, stem: str) -> bool:
        failed = [o.leg for o in self.exits if _has_stem(o.leg, stem) and not o.active and o.filled == 0]
        if len(failed) < _MAX_CLOSE_ATTEMPTS:
            return False
        self.out.note(f"{self.tag}: {', '.join(failed)} ended without a fill; not sent again (needs attention)")
        return True

    def _stop_loss(self) -> bool:
        # Run the stop-loss; True when it took over the deal.
        config, price = self.config, self.price
        if config.stop_loss_pct == 0 or price is None:
            return False
        level = stop_loss_price(self.entry.average, config.stop_loss_pct, self.deal.direction, self.market)
        tick = self.market.tick_size
        beyond = {"below": level} if self.long else {"above": level}
        back = {"above": level + tick} if self.long else {"below": level - tick}
        timeout_ms = config.stop_loss_timeout_s * 1000
        now = self.view.now_ms
        since_text = self.deal.state.get("sl_since", "")
        if timeout_ms == 0:
            # A plain stop: touching the level is enough, like a stop order on the exchange.
            if (price.low > level) if self.long else (price.high < level):
                self._watch(**beyond)
                return False
        else:
            is_beyond = price.last <= level if self.long else price.last >= level
            if not is_beyond:
                if since_text:
                    self.out.save(self.deal.id, {"sl_since": ""})
                    self.out.note(f"{self.tag}: price {price.last} back inside the stop {level}; timeout reset")
                self._watch(**beyond)
                return False
            since = int(since_text) if since_text else now
            if not since_text:
                self.out.save(self.deal.id, {"sl_since": str(now)})
            end = since + timeout_ms
            if now < end:
                self.out.wake(end)
                self._watch(**back)
                self.out.note(f"{self.tag}: price {price.last} beyond the stop {level}; closes at {end} if it stays")
                return False
        reason = "stop loss"
        self.out.save(self.deal.id, {"closing": reason})
        if config.stop_loss_type == "stop_and_disable":
            self.out.disabled = f"stop loss on deal {self.deal.id} ({self.deal.pair})"
        self.out.note(f"{self.tag}: price {price.last} beyond the stop {level}")
        self._close_at_market("sl", reason)
        return True

    # --- take-profit ----------------------------------------------------------------------------

    def _targets(self) -> list[_Target]:
        # Price and amount of each take-profit step for the position after ``k`` safety fills.
        #
        # Amounts are shares of the position left after exits of earlier ``k`` (stable while ``k``
        # is); a step too small for the market gives its share to the last step, which takes the rest.
        k, config = self.k, self.config
        current = [f"tp.{k}", f"trail.{k}"]
        earlier = [o for o in self.exits if not any(_has_stem(o.leg, stem) for stem in current)]
        held = self.entry.base + self.sign * sum((base_change(o) for o in earlier), Decimal(0))
        total = self.market.floor_amount(max(held, Decimal(0)))
        steps = config.targets
        found: list[_Target] = []
        allocated = Decimal(0)
        for index, step in enumerate(steps, start=1):
            price = take_profit_price(
                direction=self.deal.direction,
                take_profit_type=config.take_profit_type,
                profit_pct=step.profit_pct,
                entry=self.entry,
                base_order_size=config.base_order_size,
                market=self.market,
            )
            leg = f"tp.{k}" if len(steps) == 1 else f"tp.{k}.{index}"
            if index < len(steps):
                amount: Decimal = self.market.floor_amount(total * step.amount_pct / _HUNDRED)
                if too_small(self.market, amount, price):
                    amount = Decimal(0)
                allocated += amount
            else:
                amount = total - allocated
            found.append(_Target(leg=leg, price=price, amount=amount))
        return found

    def _take_profits(self, targets: list[_Target]) -> None:
        resting = targets[:-1] if self.config.trailing_enabled else targets
        wanted = {t.leg for t in resting}
        stale = [o.leg for o in self.active_exits if o.leg.startswith("tp.") and o.leg not in wanted]
        if stale:
            self.out.cancel(self.deal.id, stale, f"safety order {self.k} filled: new average entry")
            self.out.note(f"{self.tag}: cancelling {', '.join(stale)}; the new take-profit follows once it is gone")
            return
        side = exit_side(self.deal.direction)
        for target in resting:
            existing = self.deal.order(target.leg)
            if existing is not None:
                if not existing.active and existing.filled == 0:
                    self.out.note(f"{self.tag}: {target.leg} was {existing.status}; not placed again")
                continue
            if target.amount <= 0:
                continue
            order, problem = limit_order(
                self.deal.id, target.leg, self.market, side, target.price, target.amount, OrderRole.TAKE_PROFIT
            )
            if order is None:
                self.out.note(f"{self.tag}: {target.leg} not placed: {problem}")
                continue
            self.out.act(order)
            self.out.note(f"{self.tag}: take-profit {target.leg} {target.amount} at {target.price}")

    def _trailing(self, last: _Target) -> bool:
        # Trail the last take-profit step; True when a trailing close is placed or pending.
        config, price = self.config, self.price
        if not config.trailing_enabled or price is None or config.trailing_deviation_pct is None:
            return False
        stem = f"trail.{self.k}"
        if any(_has_stem(o.leg, stem) for o in self.active_exits):
            self.out.note(f"{self.tag}: waiting for the trailing close")
            return True
        key = f"peak.{self.k}"
        saved = self.deal.state.get(key, "")
        reached = price.high >= last.price if self.long else price.low <= last.price
        if not saved and not reached:
            self._watch(**({"above": last.price} if self.long else {"below": last.price}))
            return False
        extreme = price.high if self.long else price.low
        if saved:
            extreme = max(extreme, Decimal(saved)) if self.long else min(extreme, Decimal(saved))
        stop = trailing_stop_price(extreme, config.trailing_deviation_pct, self.deal.direction, self.market)
        fallen = price.last <= stop if self.long else price.last >= stop
        if fallen and not saved:
            # The level and the pullback in one view: their order is unknown (a wide candle, a late
            # wake in a crash). Selling now could sell below the entry; arm only on a view that ends
            # inside the trail, and wait for the level again.
            self._watch(**({"above": last.price} if self.long else {"below": last.price}))
            self.out.note(f"{self.tag}: reached {last.price} and fell back to {price.last} in one view; not armed")
            return False
        if not fallen:
            if saved != str(extreme):
                self.out.save(self.deal.id, {key: str(extreme)})
                self.out.note(f"{self.tag}: trailing take-profit armed, extreme {extreme}, closes at {stop}")
            tick = self.market.tick_size
            if self.long:
                self._watch(above=extreme + tick, below=stop)
            else:
                self._watch(below=extreme - tick, above=stop)
            return False
        amount = self.closable - sum((unfilled(o) for o in self.active_exits), Decimal(0))
        if too_small(self.market, amount, price.last):
            self.out.note(f"{self.tag}: trailing close of {amount} is below the market minimum; not placed")
            return False
        if self._gave_up(stem):
            return True
        self.out.cancel(self.deal.id, [o.leg for o in self.active_sos], "trailing take-profit")
        leg = fresh_leg(self.deal, stem)
        self.out.act(
            market_order(self.deal.id, leg, self.market, exit_side(self.deal.direction), amount, OrderRole.TRAILING)
        )
        self.out.note(f"{self.tag}: price {price.last} fell back to {stop} from {extreme}; closing {amount} ({leg})")
        return True

    # --- safety orders --------------------------------------------------------------------------

    def _safety_orders(self) -> None:
        config = self.config
        if config.max_safety_orders == 0:
            return
        if any(o.filled > 0 for o in self.exits):
            if self.active_sos:
                self.out.cancel(self.deal.id, [o.leg for o in self.active_sos], "take-profit started")
                self.out.note(f"{self.tag}: take-profit started; no more safety orders")
            return
        first = self.base.average_price
        assert first is not None  # the base order has fills here
        resting = len(self.active_sos)
        n = max(self.sos, default=0) + 1
        placed: list[str] = []
        while resting < config.active_safety_orders and n <= config.max_safety_orders:
            price = safety_order_price(first, config.safety_order_deviation(n), self.deal.direction, self.market)
            amount = order_amount(config.safety_order_size_at(n), price, self.market)
            side = entry_side(self.deal.direction)
            order, problem = limit_order(self.deal.id, f"so{n}", self.market, side, price, amount, OrderRole.SAFETY)
            if order is None:
                self.out.note(f"{self.tag}: so{n} not placed: {problem}")
                break
            self.out.act(order)
            placed.append(f"so{n} {amount} at {price}")
            resting += 1
            n += 1
        if placed:
            self.out.note(f"{self.tag}: safety orders {'; '.join(placed)}")
        if n <= config.max_safety_orders:
            level = safety_order_price(first, config.safety_order_deviation(n), self.deal.direction, self.market)
            self._watch(**({"below": level} if self.long else {"above": level}))
