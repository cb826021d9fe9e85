"""The SmartTrade bot: one trade with an entry, up to four targets and a stop loss.

One SmartTrade is one deal, opened at the first decision (a conditional or trailing entry
waits inside it) and closed when every target has filled (``take_profit``), the stop loss
has sold the rest (``stop_loss``), or the entry ended without filling (``entry_cancelled``,
``entry_rejected``, ``entry_expired``). A SmartTrade whose deal has closed does nothing more.

Legs: ``entry``; ``tp1`` .. ``tp4`` for the targets (a trailing last target's market order uses
its step's leg); ``exit`` for the market order that leaves on a stop (or sweeps what the
targets left). See :mod:`bastion.bots.smart_trade._entry` and :mod:`bastion.bots.smart_trade._exits`.
"""

from __future__ import annotations

from bastion.bots.interface import BotView, DealOutcome, Decision
from bastion.bots.smart_trade._entry import entry_outcome, start, trail, wait_for_trigger
from bastion.bots.smart_trade._exits import exit_at_market, manage, open_position
from bastion.bots.smart_trade._state import TradeState
from bastion.bots.smart_trade._turn import Turn
from bastion.bots.smart_trade._way import Way
from bastion.bots.smart_trade.config import SmartTradeConfig

__all__ = ["SmartTradeBot"]


class SmartTradeBot:
    """A SmartTrade. Pure: it reads only the view, and the same view gives the same decision.

    Parameters
    ----------
    config
        Its configuration (checked against the markets with
        :meth:`SmartTradeConfig.check_markets` when the bot is created).
    """

    __slots__ = ("_config",)

    def __init__(self, config: SmartTradeConfig) -> None:
        self._config = config

    @property
    def name(self) -> str:
        """The bot's unique name."""
        return self._config.name

    @property
    def config(self) -> SmartTradeConfig:
        """Its configuration."""
        return self._config

    def decide(self, view: BotView) -> Decision:
        """Return the SmartTrade's decision for this view (see the module docstring)."""
        config = self._config
        market = view.markets.get(config.pair)
        price = view.prices.get(config.pair)
        if market is None or price is None:
            return Decision(notes=(f"waiting: no market rules or price for {config.pair}",))
        deal = next((d for d in view.deals if d.pair == config.pair), None)
        if deal is None and view.closed_deals > 0:
            return Decision(notes=("smart trade finished",))
        state = TradeState.load({} if deal is None else deal.state)
        turn = Turn(
            config=config,
            market=market,
            price=price,
            now_ms=view.now_ms,
            way=Way(config.direction),
            deal=deal,
            state=state,
            saved=state.values() if deal is not None else {},
        )
        if deal is None:
            start(turn)
        elif state.phase == "trigger":
            wait_for_trigger(turn)
        elif state.phase == "trail":
            trail(turn)
        elif state.phase == "entry":
            outcome = entry_outcome(turn)
            if outcome == "open":
                open_position(turn)
            elif outcome == "failed":
                entry = deal.order("entry")
                turn.close(
                    DealOutcome.ENTRY_UNFILLED,
                    f"entry_{entry.status.value}" if entry is not None else "entry_missing",
                )
        elif state.phase == "open":
            manage(turn)
        elif state.phase == "exit":
            exit_at_market(turn, state.reason)
        return turn.decision()
