"""Paper trading: the simulator's matching core fed with an exchange's public candles, in process."""

from bastion.exchanges.paper.venue import LiveCandles, PaperVenue, rules_of

__all__ = ["LiveCandles", "PaperVenue", "rules_of"]
