from decimal import Decimal, localcontext
from itertools import pairwise

import pytest

from bastion.bots.grid import grid_levels, level_price
from bastion.domain import Market
from bots.grid.harness import BTC_USDT

CENT = Market(symbol="X/USDT", base="X", quote="USDT", tick_size=Decimal("0.01"), lot_step=Decimal("0.001"))
FINE = Market(symbol="X/USDT", base="X", quote="USDT", tick_size=Decimal("1E-8"), lot_step=Decimal("0.001"))


def d(*values: str) -> tuple[Decimal, ...]:
    return tuple(Decimal(v) for v in values)


def test_arithmetic_levels_are_equal_steps_from_lower_to_upper():
    assert grid_levels(Decimal(100), Decimal(200), 4, "arithmetic", CENT) == d("100", "125", "150", "175", "200")


def test_geometric_levels_are_equal_ratios_rounded_to_the_tick():
    assert grid_levels(Decimal(100), Decimal(200), 4, "geometric", BTC_USDT) == d(
        "100.0", "118.9", "141.4", "168.2", "200.0"
    )
    assert grid_levels(Decimal(100), Decimal(200), 4, "geometric", FINE) == d(
        "100.00000000", "118.92071150", "141.42135624", "168.17928305", "200.00000000"
    )


def test_levels_are_on_the_tick_grid_with_realistic_btc_prices():
    arithmetic = grid_levels(Decimal(16000), Decimal(17000), 10, "arithmetic", BTC_USDT)
    assert arithmetic == tuple(Decimal(16000 + 100 * i) for i in range(11))
    geometric = grid_levels(Decimal(16000), Decimal(17000), 10, "geometric", BTC_USDT)
    assert geometric[:4] == d("16000.0", "16097.3", "16195.2", "16293.7")
    assert geometric[-1] == Decimal("17000.0")
    assert all(level % BTC_USDT.tick_size == 0 for level in geometric)
    # Equal ratios: consecutive steps grow.
    steps = [b - a for a, b in pairwise(geometric)]
    assert steps == sorted(steps)


def test_levels_beyond_the_range_continue_the_same_sequence():
    assert level_price(Decimal(16000), Decimal(17000), 10, "arithmetic", -1, BTC_USDT) == Decimal("15900.0")
    assert level_price(Decimal(16000), Decimal(17000), 10, "arithmetic", 11, BTC_USDT) == Decimal("17100.0")
    assert level_price(Decimal(100), Decimal(200), 4, "geometric", 8, FINE) == Decimal("400.00000000")
    assert level_price(Decimal(100), Decimal(200), 4, "geometric", -4, FINE) == Decimal("50.00000000")


def test_arithmetic_levels_below_zero_are_not_prices():
    assert level_price(Decimal(100), Decimal(200), 4, "arithmetic", -4, CENT) == Decimal(0)
    assert level_price(Decimal(100), Decimal(200), 4, "arithmetic", -5, CENT) < 0


@pytest.mark.parametrize("spacing", ["arithmetic", "geometric"])
def test_levels_do_not_depend_on_the_callers_decimal_context(spacing):
    expected = grid_levels(Decimal(16000), Decimal(17000), 7, spacing, BTC_USDT)
    with localcontext() as ctx:
        ctx.prec = 6
        assert grid_levels(Decimal(16000), Decimal(17000), 7, spacing, BTC_USDT) == expected
