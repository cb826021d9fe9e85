"""Backtests on the engine core: the bots unchanged, a simulated clock, the simulator's fills in process.

``runner`` (the event-skipping loop and the fill rules), ``scan`` (vectorised searches over float
candle columns), ``data`` (``--data`` markets and their rules), ``report`` (figures and JSON),
``html`` (the offline HTML report). No HTTP, no database, no signer.
"""

from bastion.backtest.data import MarketData, load_market
from bastion.backtest.runner import Backtest, Run

__all__ = ["Backtest", "MarketData", "Run", "load_market"]
