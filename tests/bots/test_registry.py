"""The bot registry: configs parsed by type, and which bots act on webhook signals."""

from __future__ import annotations

import pytest

from bastion.bots.registry import load_config, pairs_of, takes_signals
from bastion.errors import ConfigError

DCA = """
name = "dca-tv"
type = "dca"
account = "main"
pairs = ["BTC/USDT", "ETH/USDT"]
base_order_size = "25"
take_profit_pct = "1"
start_condition = {{type = "{start}"}}
"""
SIGNAL = 'name = "sig"\ntype = "signal"\naccount = "main"\npairs = ["BTC/USDT"]\norder_size = "25"\n'
GRID = """
name = "grid1"
type = "grid"
account = "main"
pair = "BTC/USDT"
lower_price = "16600"
upper_price = "16840"
grid_count = 8
spacing = "arithmetic"
investment_quote = "400"
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SIGNAL, True),
        (DCA.format(start="signal"), True),
        (DCA.format(start="asap"), False),
        (GRID, False),
    ],
    ids=["signal bot", "dca with a signal start", "dca started asap", "grid"],
)
def test_which_bots_take_signals(text: str, expected: bool) -> None:
    assert takes_signals(load_config(text)) is expected


def test_pairs_come_from_pairs_or_pair() -> None:
    assert pairs_of(load_config(DCA.format(start="asap"))) == ("BTC/USDT", "ETH/USDT")
    assert pairs_of(load_config(GRID)) == ("BTC/USDT",)


def test_an_unknown_bot_type_is_a_config_error_naming_the_types() -> None:
    with pytest.raises(ConfigError, match="'martingale'"):
        load_config('name = "x"\ntype = "martingale"\naccount = "main"\n')
