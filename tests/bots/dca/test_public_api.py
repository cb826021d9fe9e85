from decimal import Decimal

import pytest

import bastion.bots.dca as dca
from bastion.bots.interface import Bot
from bastion.errors import ConfigError


def test_public_surface_is_pinned():
    assert sorted(dca.__all__) == [
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


def test_dca_bot_is_a_bot_named_after_its_config():
    config = dca.DcaConfig(
        name="btc-dca", account="main", pairs=("BTC/USDT",), base_order_size=Decimal(20), take_profit_pct=Decimal(1)
    )
    bot: Bot = dca.DcaBot(config)
    assert bot.name == "btc-dca"


def test_the_constructor_validates_like_from_mapping():
    with pytest.raises(ConfigError, match="base_order_size must be greater than 0"):
        dca.DcaConfig(name="b", account="a", pairs=("BTC/USDT",), base_order_size=Decimal(0), take_profit_pct=1)
