"""The signal bot: a frozen :class:`SignalConfig` and :class:`SignalBot`'s pure ``decide``.

Signals come from TradingView-style webhooks (:mod:`bastion.web`), are stored as pending, and
reach the bot through ``BotView.signals``.
"""

from bastion.bots.signal.bot import SignalBot
from bastion.bots.signal.config import ACTIONS, SignalAction, SignalConfig, action_direction

__all__ = ["ACTIONS", "SignalAction", "SignalBot", "SignalConfig", "action_direction"]
