"""Every bot type runs on the bundled recorded candles, in process, through the same engine core."""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from bastion.backtest import Backtest, load_market
from bastion.backtest.report import report
from bastion.backtest.runner import Run

BTC = Path(str(files("bastion._data") / "BTC_USDT-5m.csv"))
ETH_BTC = Path(str(files("bastion._data") / "ETH_BTC-5m.csv"))

DCA = """
name = "dca"
type = "dca"
account = "main"
pairs = ["BTC/USDT"]
base_order_size = "10"
safety_order_size = "10"
max_safety_orders = 6
active_safety_orders = 6
price_deviation_pct = "1"
safety_order_step_scale = "1.2"
safety_order_volume_scale = "1.5"
take_profit_pct = "1.5"
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
RSI = """
name = "rsi"
type = "dca"
account = "main"
pairs = ["BTC/USDT"]
base_order_size = "20"
safety_order_size = "20"
max_safety_orders = 1
active_safety_orders = 1
price_deviation_pct = "0.3"
take_profit_pct = "0.3"
start_condition = {type = "rsi", period = 14, timeframe = "15m", threshold = 30}
"""


def _run(config: str, data: str = f"BTC/USDT={BTC}", **kwargs: object) -> Run:
    return Backtest(config, [load_market(data)], **kwargs).run()  # type: ignore[arg-type]


def _deals(run: Run) -> list[tuple[object, ...]]:
    return [
        (d["id"], d["status"], d["outcome"], d["avg_price"], d["close_price"], d["amount"], d["profit_quote"])
        for d in report(run, bot="x")["deals"]
    ]


def test_a_dca_bot_closes_deals_with_safety_orders_and_take_profits() -> None:
    run = _run(DCA)
    summary = report(run, bot="dca")
    assert summary["closed_deals"] > 20
    closed = [d for d in summary["deals"] if d["status"] == "closed"]
    assert {d["outcome"] for d in closed} == {"take_profit"}
    assert any(d["safety_orders_filled"] > 0 for d in closed)
    assert all(Decimal(d["profit_quote"]) > 0 for d in closed)
    assert Decimal(summary["profit_quote"]) == sum(Decimal(d["profit_quote"]) for d in closed)
    # Event skipping: far fewer events than candles.
    assert run.events < summary["candles"] / 10


def test_a_grid_bot_trades_round_trips() -> None:
    run = _run(GRID)
    sells = [f for f in run.fills if f.role == "grid" and f.side == "sell"]
    buys = [f for f in run.fills if f.role == "grid" and f.side == "buy"]
    assert len(sells) >= 5  # the price leaves the range upwards after a few days
    assert len(buys) >= 5
    # A grid sell is one level above the buy it sells for: every sell price is a level above some buy.
    assert min(f.price for f in sells) > min(f.price for f in buys)


def test_a_smart_trade_enters_on_its_trigger_and_exits() -> None:
    run = _run(SMART)
    summary = report(run, bot="smart")
    (deal,) = summary["deals"]
    assert deal["status"] == "closed"
    assert deal["outcome"] in ("take_profit", "trailing_take_profit", "stop_loss")
    roles = [f.role for f in run.fills]
    assert roles[0] == "entry"
    assert len(roles) >= 2


def test_a_dca_bot_on_a_pair_quoted_in_btc() -> None:
    config = DCA.replace('"BTC/USDT"', '"ETH/BTC"').replace('"10"', '"0.001"')
    run = _run(config, f"ETH/BTC={ETH_BTC}")
    assert report(run, bot="eth")["closed_deals"] > 0


def test_skipping_the_candles_where_rsi_cannot_hold_changes_no_deal() -> None:
    skipping = _run(RSI)
    waking = _run(RSI, skip_rsi=False)  # the bot decides at every 15m close it asks for
    assert _deals(skipping) == _deals(waking)
    assert len(_deals(skipping)) > 5
    # ... with far fewer decisions: the RSI bot does not wake on every candle.
    assert skipping.decisions * 3 < waking.decisions


def test_start_and_end_cut_the_candles(tmp_path: Path) -> None:
    whole = load_market(f"BTC/USDT={BTC}")
    cut = load_market(f"BTC/USDT={BTC}", start_ms=int(whole.arrays.ts[100]), end_ms=int(whole.arrays.ts[200]))
    assert len(cut.arrays) == 100
    assert cut.rules == whole.rules  # the rules come from the whole file, as the simulator's


def test_a_pair_without_data_is_refused() -> None:
    with pytest.raises(Exception, match="no --data names it"):
        Backtest(DCA.replace('"BTC/USDT"', '"ETH/USDT"'), [load_market(f"BTC/USDT={BTC}")])
