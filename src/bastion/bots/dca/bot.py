"""The DCA bot: ``decide(view) -> Decision``, pure.

Per open deal (see :mod:`bastion.bots.dca._deal`): after the base order fills, rest the first
``active_safety_orders`` safety orders (legs ``so1``, ``so2``...) and the take-profit (``tp.K``,
``tp.K.i`` for step ``i``, where ``K`` is how many safety orders have filled); after each safety
fill cancel the old take-profit and, once it is gone, place ``tp.K`` for the new average, and top
the resting safety orders up again. When the position is sold, cancel what is left and close the
deal. A trailing take-profit rests no order for its (last) step: it arms when the price reaches
the level, saves the extreme in the deal's state (``peak.K``) and sells at market (``trail.K``)
on a pullback of ``trailing_deviation_pct`` (a view that shows the level and the pullback together
does not arm it: their order is unknown). A stop-loss saves when the price went beyond the
stop (``sl_since``), wakes at the end of the timeout, and if the price is still beyond cancels
everything and sells at market (``sl``); ``stop_and_disable`` also saves ``disabled`` for the bot.

With a signal start, an exit signal for the bot's direction (``exit_long`` for a long bot; a
3Commas ``close_at_market_price`` message arrives as one) newer than the last signal seen on
the pair saves ``closing`` on that pair's deal, which then cancels its orders and sells at
market (leg ``sl``), as a manual close does. One with ``position_percent`` below 100 saves
``partial`` instead: the deal cancels its take-profit and safety orders, sells that share at
market (``px.<signal id>``), then counts it like a fill (``K`` grows) so the take-profit rests
again for what is left; a share that would leave less than the market minimum closes the deal.

Then, if the bot may open deals (not disabled, below ``max_active_deals``, cooldown over) it
opens one on each free pair whose start condition holds, in the order of ``pairs``.

Every decision names the levels that can change it (the next safety order not resting, a
trailing take-profit's level or its extreme and stop, the stop-loss) and the next time that can
(cooldown end, stop-loss timeout, next candle close for an ``rsi`` start).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bastion.bots.dca._deal import PARTIAL_KEY, manage_deal
from bastion.bots.dca._opening import DISABLED_KEY, exit_signals, open_deals
from bastion.bots.dca._outcome import Outcome
from bastion.bots.dca.config import DcaConfig
from bastion.bots.interface import BotView, Decision, DisableBot

__all__ = ["DcaBot"]


@dataclass(frozen=True, slots=True)
class DcaBot:
    """A DCA bot over its frozen :class:`~bastion.bots.dca.DcaConfig`."""

    config: DcaConfig

    @property
    def name(self) -> str:
        """The bot's unique name."""
        return self.config.name

    def decide(self, view: BotView) -> Decision:
        """Return the bot's decision for ``view``; the same view always gives the same decision.

        Parameters
        ----------
        view
            The bot's open deals, markets, prices, candles, signals, saved state and clock.
        """
        out = Outcome()
        exits = exit_signals(self.config, view)
        for deal in view.deals:
            reason = exits.get(deal.id)
            if reason is not None and reason.startswith("partial ") and not deal.state.get("closing"):
                if deal.state.get(PARTIAL_KEY):
                    out.note(f"deal {deal.id} {deal.pair}: exit signal {reason.split()[1]} ignored: a partial exit is "
                             "already under way")  # fmt: skip
                else:
                    spec = reason.removeprefix("partial ")
                    out.save(deal.id, {PARTIAL_KEY: spec})
                    deal = replace(deal, state={**deal.state, PARTIAL_KEY: spec})
            elif reason is not None and not deal.state.get("closing"):
                out.save(deal.id, {"closing": reason})
                deal = replace(deal, state={**deal.state, "closing": reason})
            manage_deal(self.config, view, deal, out)
        if out.disabled is not None and not view.state.get(DISABLED_KEY, ""):
            out.save(None, {DISABLED_KEY: out.disabled})
            out.act(DisableBot(reason=out.disabled))
        open_deals(self.config, view, out)
        return out.decision()
