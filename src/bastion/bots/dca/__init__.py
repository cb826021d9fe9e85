"""The DCA bot: a frozen :class:`DcaConfig`, the Decimal formulas and :class:`DcaBot`'s pure ``decide``."""

from bastion.bots.dca.bot import DcaBot
from bastion.bots.dca.config import DcaConfig, TakeProfitStep
from bastion.bots.dca.formulas import (
    EntryTotals,
    average_entry_price,
    base_change,
    entry_totals,
    order_amount,
    quote_change,
    rsi,
    safety_order_deviation_pct,
    safety_order_price,
    safety_order_size,
    stop_loss_price,
    take_profit_price,
    trailing_stop_price,
)
from bastion.bots.dca.start import AsapStart, RsiStart, SignalStart, StartCondition

__all__ = [
    "AsapStart",
    "DcaBot",
    "DcaConfig",
    "EntryTotals",
    "RsiStart",
    "SignalStart",
    "StartCondition",
    "TakeProfitStep",
    "average_entry_price",
    "base_change",
    "entry_totals",
    "order_amount",
    "quote_change",
    "rsi",
    "safety_order_deviation_pct",
    "safety_order_price",
    "safety_order_size",
    "stop_loss_price",
    "take_profit_price",
    "trailing_stop_price",
]
