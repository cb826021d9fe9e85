"""SmartTrade: one trade with an entry, take-profit targets and a stop loss (see :mod:`.bot`)."""

from bastion.bots.smart_trade.bot import SmartTradeBot
from bastion.bots.smart_trade.config import (
    MAX_TAKE_PROFIT_STEPS,
    Entry,
    SmartTradeConfig,
    StopLoss,
    TakeProfitStep,
    TrailingBuy,
)

__all__ = [
    "MAX_TAKE_PROFIT_STEPS",
    "Entry",
    "SmartTradeBot",
    "SmartTradeConfig",
    "StopLoss",
    "TakeProfitStep",
    "TrailingBuy",
]
