"""A backtest's core builds no storage records (``EngineCore(records=False)``) and reports exactly
what a core that builds them reports: the same deals, figures, take-profit prices and fills."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from bastion.backtest import Backtest, load_market
from bastion.backtest import runner as runner_module
from bastion.backtest.report import report
from bastion.engine.core import EngineCore
from bastion.engine.core.effects import Notify, RequestCancel, SendOrder, StoreDeal, StoreDealState, StoreOrder

BTC = Path(str(files("bastion._data") / "BTC_USDT-5m.csv"))

# Two take-profit steps: the reported take-profit price follows the newest resting step, as the
# live core's snapshots keep it. A stop-loss with a timeout and a cooldown add saved state.
DCA_STEPS = """
name = "steps"
type = "dca"
account = "main"
pairs = ["BTC/USDT"]
base_order_size = "20"
safety_order_size = "20"
max_safety_orders = 4
active_safety_orders = 2
price_deviation_pct = "0.6"
safety_order_step_scale = "1.3"
safety_order_volume_scale = "1.4"
take_profit_steps = [{profit_pct = "0.5", amount_pct = "40"}, {profit_pct = "1.1", amount_pct = "60"}]
stop_loss_pct = "3"
stop_loss_timeout_s = 900
cooldown_s = 600
"""
SMART = """
name = "smart"
type = "smart_trade"
account = "main"
pair = "BTC/USDT"
amount_quote = 100
entry = { type = "conditional", trigger_price = 16800, order_type = "market" }
take_profit = [
    { profit_pct = 1, amount_pct = 50 },
    { profit_pct = 2, amount_pct = 50, trailing_deviation_pct = 0.3 },
]
stop_loss = { loss_pct = 2, timeout_s = 60 }
"""
GRID = """
name = "grid"
type = "grid"
account = "main"
pair = "BTC/USDT"
lower_price = "16600"
upper_price = "17400"
grid_count = 8
spacing = "geometric"
investment_quote = "400"
"""


def _report(config: str, *, decide_at_fill: bool) -> dict[str, Any]:
    run = Backtest(config, [load_market(f"BTC/USDT={BTC}")], react_in_candle=decide_at_fill).run()
    figures = report(run, bot="x")
    for key in ("elapsed_s", "cpu_s"):
        figures.pop(key, None)
    return json.loads(json.dumps(figures, default=str))


@pytest.mark.parametrize("config", [DCA_STEPS, SMART, GRID], ids=["dca-tp-steps", "smart-trade", "grid"])
@pytest.mark.parametrize("decide_at_fill", [True, False], ids=["fill", "close"])
def test_a_core_without_records_reports_what_a_core_with_records_reports(
    config: str, decide_at_fill: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    without = _report(config, decide_at_fill=decide_at_fill)
    built: list[EngineCore] = []

    def with_records(**kwargs: Any) -> EngineCore:
        core = EngineCore(**{**kwargs, "records": True})
        built.append(core)
        return core

    monkeypatch.setattr(runner_module, "EngineCore", with_records)
    assert _report(config, decide_at_fill=decide_at_fill) == without
    assert built
    assert built[0].records
    assert without["closed_deals"] > 0 or without["open_deals"] > 0  # the run traded
    if config is DCA_STEPS:
        prices = {d["take_profit_price"] for d in without["deals"]}
        assert len(prices) > 1  # take-profit prices were tracked, deal by deal
        assert None not in prices


def test_a_core_without_records_answers_with_orders_and_cancels_only(monkeypatch: pytest.MonkeyPatch) -> None:
    kinds: set[type] = set()

    class Spy(EngineCore):
        def apply(self, event: Any) -> list[Any]:
            effects = super().apply(event)
            kinds.update(type(e) for e in effects)
            return effects

    monkeypatch.setattr(runner_module, "EngineCore", Spy)
    figures = _report(DCA_STEPS, decide_at_fill=True)
    assert figures["closed_deals"] > 0
    assert kinds == {SendOrder, RequestCancel}
    assert not kinds & {StoreOrder, StoreDeal, StoreDealState, Notify}
