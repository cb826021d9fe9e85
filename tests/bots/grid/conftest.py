from __future__ import annotations

from collections.abc import Callable

import pytest

from bastion.bots.grid import GridBot, GridConfig
from bots.grid.harness import BTC_USDT, Harness

GRID = {
    "name": "btc-grid",
    "type": "grid",
    "account": "main",
    "pair": "BTC/USDT",
    "lower_price": 16000,
    "upper_price": 17000,
    "grid_count": 10,
    "investment_quote": 1000,
}


@pytest.fixture
def make_grid() -> Callable[..., Harness]:
    """Build a started grid (16000-17000, 10 intervals, 1000 USDT) at ``last``, after its start buy filled."""

    def make(last: str = "16720", *, fill_start: bool = True, fee_rate: str = "0", **changes: object) -> Harness:
        config = GridConfig.from_mapping({**GRID, **changes})
        config.check_markets({"BTC/USDT": BTC_USDT})
        harness = Harness(GridBot(config), last=last, fee_rate=fee_rate)
        harness.decide()
        if fill_start and harness.deal.view().order("start") is not None:
            harness.fill("start")
            harness.decide()
        return harness

    return make
