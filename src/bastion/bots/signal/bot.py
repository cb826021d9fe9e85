"""The signal bot: ``decide(view) -> Decision``, pure, driven by the signals in ``view.signals``.

Signals are read oldest first (``received_ms``, then id). Each is checked again against the
config (pair, direction, size; see :meth:`SignalConfig.refusal`) and against ``max_lag_s``
measured from when it arrived to ``view.now_ms``; a refused one only leaves a note. Then:

``enter_long`` / ``enter_short``
    Opens a deal (``OpenDeal`` with ref ``signal.<id>``) and its market entry order (leg
    ``entry``): a long sized in quote buys with ``quote_amount``, anything else names a base
    amount floored to the lot. The size is the signal's, or ``order_size``. Not when a deal on
    the pair is already open or ``max_active_deals`` are (the note says which).
``exit_long`` / ``exit_short``
    Saves ``closing = exit`` on the open deal of that pair and direction; the deal then sells
    (long) or buys back (short) its whole position at market (leg ``exit``), after cancelling
    a resting take-profit, and closes once that filled. An exit before the entry filled cancels
    the entry first. An exit with an amount is a partial exit (3Commas ``position_percent``:
    that percent of the position; ``base``: that much base; ``quote``: worth that much): the deal saves it, cancels its
    take-profit, sells that share at market (leg ``px.<signal id>``), then rests a take-profit
    for what is left (``tp.2``...). A share that leaves less than the market minimum closes the
    whole deal instead.

After the entry fills, a deal rests a take-profit limit order (leg ``tp``) at
``take_profit_pct`` beyond the average entry, and watches the stop at ``stop_loss_pct`` against
it: once the price touches it the deal closes at market (leg ``sl``). A closing order that ends
without a fill is placed again as ``exit.2``, ``exit.3`` (at most three times).

The engine marks every signal it passed as handled after applying the decision, so a signal is
acted on once; deciding twice on the same view gives the same actions (same client order ids),
and an exit seen again is a no-op because the deal already says it is closing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bastion.bots._outcome import Outcome
from bastion.bots.interface import BotView, Decision, OpenDeal, Signal
from bastion.bots.signal._deal import CURRENCY_KEY, SIGNAL_KEY, SIZE_KEY, manage_deal, partial_spec
from bastion.bots.signal._orders import entry_order
from bastion.bots.signal.config import SignalConfig, action_direction

__all__ = ["SignalBot"]


@dataclass(frozen=True, slots=True)
class SignalBot:
    """A signal bot over its frozen :class:`~bastion.bots.signal.SignalConfig`."""

    config: SignalConfig

    @property
    def name(self) -> str:
        """The bot's unique name."""
        return self.config.name

    def decide(self, view: BotView) -> Decision:
        """Return the bot's decision for ``view``; the same view always gives the same decision.

        Parameters
        ----------
        view
            The bot's pending signals, open deals, markets, prices, saved state and clock.
        """
        out = Outcome()
        exits: dict[int, Signal] = {}
        entries: list[Signal] = []
        busy = {deal.pair for deal in view.deals}
        open_count = len(view.deals)
        for signal in sorted(view.signals, key=lambda s: (s.received_ms, s.id)):
            tag = f"signal {signal.id} {signal.action} {signal.pair}"
            problem = self._refusal(view, signal)
            if problem:
                out.note(f"{tag}: refused: {problem}")
                continue
            direction = action_direction(signal.action)
            if signal.action.startswith("exit_"):
                deal = next(
                    (d for d in view.deals if d.pair == signal.pair and d.direction == direction and d.id not in exits),
                    None,
                )
                if deal is None:
                    out.note(f"{tag}: ignored: no open {direction} deal on {signal.pair}")
                else:
                    exits[deal.id] = signal
                continue
            if signal.pair in busy:
                out.note(f"{tag}: ignored: a deal on {signal.pair} is already open")
            elif open_count >= self.config.max_active_deals:
                out.note(f"{tag}: ignored: max_active_deals {self.config.max_active_deals} deals are open")
            else:
                entries.append(signal)
                busy.add(signal.pair)
                open_count += 1
        for deal in view.deals:
            exit_signal = exits.get(deal.id)
            manage_deal(self.config, view, deal, None if exit_signal is None else exit_signal.id, out,
                        partial=None if exit_signal is None else partial_spec(exit_signal))  # fmt: skip
        for signal in entries:
            self._open(view, signal, out)
        return out.decision()

    def _refusal(self, view: BotView, signal: Signal) -> str | None:
        problem = self.config.refusal(
            pair=signal.pair, action=signal.action, amount=signal.amount, currency_type=signal.currency_type
        )
        if problem is not None:
            return problem
        waited_ms = view.now_ms - signal.received_ms
        if waited_ms > self.config.max_lag_s * 1000:
            return f"it arrived {waited_ms / 1000:g} s ago, more than max_lag_s {self.config.max_lag_s}"
        return None

    def _open(self, view: BotView, signal: Signal, out: Outcome) -> None:
        tag = f"signal {signal.id} {signal.action} {signal.pair}"
        market = view.markets.get(signal.pair)
        price = view.prices.get(signal.pair)
        if market is None or price is None:
            out.note(f"{tag}: no deal opened: no {'market rules' if market is None else 'price'} in the view")
            return
        size: Decimal = self.config.order_size
        currency: str = self.config.order_currency
        if signal.amount is not None:
            size, currency = signal.amount, signal.currency_type  # not percent: the config refuses it on an entry
        direction = action_direction(signal.action)
        ref = f"signal.{signal.id}"
        order, problem = entry_order(ref, market, direction, size, currency, price.last)
        if order is None:
            out.note(f"{tag}: no deal opened, the entry would be refused: {problem}")
            return
        out.act(OpenDeal(ref=ref, pair=signal.pair, direction=direction))
        out.act(order)
        out.save(ref, {SIGNAL_KEY: signal.id, SIZE_KEY: str(size), CURRENCY_KEY: currency})
        out.note(f"{tag}: opened a {direction} deal, entry {size} {currency} at about {price.last}")
