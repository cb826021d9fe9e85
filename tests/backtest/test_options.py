"""``bastion backtest`` options: fee, dates, balances; a balance too small pauses the bot as live."""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest

from bastion.backtest import Backtest, load_market
from bastion.backtest.report import report
from bastion.cli.backtest import parse_balance, parse_date, parse_fee_pct
from bastion.errors import ConfigError

BTC = Path(str(files("bastion._data") / "BTC_USDT-5m.csv"))
DCA = """
name = "dca"
type = "dca"
account = "main"
pairs = ["BTC/USDT"]
base_order_size = "20"
safety_order_size = "40"
max_safety_orders = 3
active_safety_orders = 3
price_deviation_pct = "1"
take_profit_pct = "1"
"""


def test_fee_is_a_percentage() -> None:
    assert parse_fee_pct("0.1") == Decimal("0.001")
    assert parse_fee_pct("0") == 0
    for bad in ("-1", "100", "abc", "nan"):
        with pytest.raises(ConfigError, match="--fee must be a percentage"):
            parse_fee_pct(bad)


def test_dates_are_utc_unless_an_offset_is_given() -> None:
    assert parse_date("2023-01-01", "--start") == 1_672_531_200_000
    assert parse_date("2023-01-01T01:00+01:00", "--start") == 1_672_531_200_000
    assert parse_date("1672531200000", "--end") == 1_672_531_200_000
    with pytest.raises(ConfigError, match="--end must be a date"):
        parse_date("yesterday", "--end")


def test_balances() -> None:
    assert parse_balance("usdt=100.5") == ("USDT", Decimal("100.5"))
    for bad in ("USDT", "USDT=-1", "=5", "USDT=x"):
        with pytest.raises(ConfigError, match="ASSET=AMOUNT"):
            parse_balance(bad)


def test_a_balance_too_small_for_the_safety_orders_pauses_the_bot() -> None:
    run = Backtest(DCA, [load_market(f"BTC/USDT={BTC}")], balances={"USDT": Decimal(50)}).run()
    summary = report(run, bot="dca")
    assert summary["bot_status"] == "paused"
    assert "insufficient_funds" in summary["bot_reason"]
    assert summary["balances_start"] == {"USDT": "50"}
    assert Decimal(summary["max_capital_used"]) <= 50


def test_a_higher_fee_costs_more() -> None:
    market = load_market(f"BTC/USDT={BTC}")
    cheap = report(Backtest(DCA, [market], fee=Decimal("0.001")).run(), bot="dca")
    dear = report(Backtest(DCA, [market], fee=Decimal("0.005")).run(), bot="dca")
    assert Decimal(dear["fees_quote"]) > Decimal(cheap["fees_quote"])
