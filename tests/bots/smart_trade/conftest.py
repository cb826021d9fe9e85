from __future__ import annotations

from collections.abc import Callable

import pytest

from bastion.bots.smart_trade import SmartTradeBot, SmartTradeConfig
from bots.grid.harness import BTC_USDT, Harness

TRADE = {
    "name": "btc-swing",
    "type": "smart_trade",
    "account": "main",
    "pair": "BTC/USDT",
    "amount": "0.006",
    "take_profit": [{"profit_pct": 1, "amount_pct": 50}, {"profit_pct": 2, "amount_pct": 50}],
    "stop_loss": {"loss_pct": 2},
}


@pytest.fixture
def make_trade() -> Callable[..., Harness]:
    """Build a SmartTrade (0.006 BTC, targets +1 % and +2 %, stop -2 %) at ``last`` and take its first decision."""

    def make(last: str = "16720", *, fee_rate: str = "0", **changes: object) -> Harness:
        config = SmartTradeConfig.from_mapping({**TRADE, **changes})
        config.check_markets({"BTC/USDT": BTC_USDT})
        harness = Harness(SmartTradeBot(config), last=last, fee_rate=fee_rate)
        harness.decide()
        return harness

    return make
