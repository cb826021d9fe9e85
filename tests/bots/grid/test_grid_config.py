from decimal import Decimal

import pytest

from bastion.bots.grid import GridConfig
from bastion.errors import ConfigError
from bots.grid.harness import BTC_USDT

BASE = {
    "name": "btc-grid",
    "type": "grid",
    "account": "binance-main",
    "pair": "BTC/USDT",
    "lower_price": 16000,
    "upper_price": "17000",
    "grid_count": 10,
    "investment_quote": 1000,
}


def config(**changes: object) -> GridConfig:
    return GridConfig.from_mapping({**BASE, **changes})


def test_from_mapping_reads_a_toml_table_with_defaults():
    grid = config()
    assert grid.lower_price == Decimal(16000)
    assert grid.upper_price == Decimal(17000)
    assert grid.spacing == "arithmetic"
    assert grid.on_stop == "keep"
    assert (grid.trailing_up, grid.trailing_down) == (False, False)
    assert grid.quote_per_grid == Decimal(100)


def test_toml_floats_are_read_through_their_repr():
    grid = config(lower_price=16000.1, investment_quote=999.9, stop_loss_price=15000.3)
    assert grid.lower_price == Decimal("16000.1")
    assert grid.investment_quote == Decimal("999.9")
    assert grid.stop_loss_price == Decimal("15000.3")


def test_unknown_key_is_named_with_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown field 'grid_cuont' in grid bot config; valid fields: .*grid_count"):
        config(grid_cuont=5)


def test_missing_required_fields_are_named():
    data = {k: v for k, v in BASE.items() if k not in ("lower_price", "investment_quote")}
    with pytest.raises(ConfigError, match=r"missing required field.*lower_price, investment_quote"):
        GridConfig.from_mapping(data)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"lower_price": True}, "lower_price must be a decimal number, got bool True"),
        ({"lower_price": "-5"}, "lower_price must be greater than 0, got '-5'"),
        ({"upper_price": "abc"}, "upper_price must be a decimal number, got 'abc'"),
        ({"upper_price": 15000}, "upper_price must be above lower_price, got lower_price 16000 and upper_price 15000"),
        ({"grid_count": 0}, "grid_count must be between 1 and 200, got 0"),
        ({"grid_count": True}, r"grid_count must be an integer, got True \(bool\)"),
        ({"grid_count": 2.0}, r"grid_count must be an integer, got 2\.0 \(float\)"),
        ({"investment_quote": 0}, "investment_quote must be greater than 0, got 0"),
        ({"spacing": "log"}, "spacing must be one of 'arithmetic', 'geometric', got 'log'"),
        ({"on_stop": "sell"}, "on_stop must be one of 'keep', 'sell_base', 'cancel_only', got 'sell'"),
        ({"trailing_up": "yes"}, r"trailing_up must be true or false, got 'yes' \(str\)"),
        ({"stop_loss_price": 16500}, "stop_loss_price must be below lower_price 16000, got 16500"),
        ({"take_profit_price": 16900}, "take_profit_price must be above upper_price 17000, got 16900"),
        ({"name": "my grid!"}, "name must be 1-64 characters"),
        ({"name": "x" * 65}, "name must be 1-64 characters"),
        ({"pair": "btc-usdt"}, "pair must be an upper-case spot symbol"),
        ({"type": "dca"}, "type must be one of 'grid', got 'dca'"),
    ],
)
def test_invalid_values_name_the_field_the_value_and_the_expectation(changes, message):
    with pytest.raises(ConfigError, match=message):
        config(**changes)


def test_config_is_frozen_and_keyword_only():
    grid = config()
    with pytest.raises(AttributeError):
        grid.grid_count = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        GridConfig("x")  # type: ignore[misc]


def test_check_markets_accepts_orders_above_the_minimums():
    config().check_markets({"BTC/USDT": BTC_USDT})


def test_check_markets_refuses_orders_below_min_notional_after_rounding():
    # 50 USDT over 10 grids is 5 USDT a grid, but 5 / 16000 floors to 0.00031 BTC = 4.96 USDT.
    with pytest.raises(
        ConfigError, match=r"5 USDT per grid; the order of interval 0 \(buy at 16000\.0\).*4\.96.*minimum notional 5"
    ):
        config(investment_quote=50).check_markets({"BTC/USDT": BTC_USDT})


def test_check_markets_refuses_levels_that_collide_on_the_tick():
    with pytest.raises(ConfigError, match=r"too fine for the tick size 0\.1: levels 0 and 1 both round to 16000\.0"):
        config(lower_price=16000, upper_price="16000.5", grid_count=10, investment_quote=10000).check_markets(
            {"BTC/USDT": BTC_USDT}
        )


def test_check_markets_needs_the_pairs_rules():
    with pytest.raises(ConfigError, match="pair 'BTC/USDT' has no market rules; markets known: none"):
        config().check_markets({})
