from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bastion.domain import Market
from bastion.errors import MarketRuleError, ValidationError

BTC_USDT = Market(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.01"),
    lot_step=Decimal("0.00001"),
    min_amount=Decimal("0.00001"),
    max_amount=Decimal("9000"),
    min_notional=Decimal("5"),
)

ticks = st.sampled_from([Decimal("0.01"), Decimal("0.1"), Decimal("0.5"), Decimal("1e-8"), Decimal("25")])
steps = st.sampled_from([Decimal("0.00001"), Decimal("0.001"), Decimal("1"), Decimal("0.2")])
values = st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("1000000"), places=10)


def test_from_ccxt_reads_tick_lot_limits_and_fees():
    market = Market.from_ccxt(
        {
            "symbol": "ETH/BTC",
            "base": "ETH",
            "quote": "BTC",
            "precision": {"price": 1e-06, "amount": 0.0001},
            "limits": {"amount": {"min": 0.0001, "max": 100000.0}, "cost": {"min": 0.0001}, "price": {}},
            "maker": 0.001,
            "taker": 0.001,
        }
    )
    assert market.tick_size == Decimal("0.000001")
    assert market.lot_step == Decimal("0.0001")
    assert market.min_notional == Decimal("0.0001")
    assert market.taker_fee == Decimal("0.001")


def test_from_ccxt_without_precision_is_an_error():
    with pytest.raises(ValidationError, match="no price/amount precision"):
        Market.from_ccxt({"symbol": "X/Y", "base": "X", "quote": "Y", "precision": {}})


def test_round_price_directions():
    assert BTC_USDT.round_price("100.005") == Decimal("100.00")  # half-even
    assert BTC_USDT.round_price("100.015") == Decimal("100.02")
    assert BTC_USDT.round_price("100.019", "down") == Decimal("100.01")
    assert BTC_USDT.round_price("100.011", "up") == Decimal("100.02")


def test_floor_amount_never_rounds_up():
    assert BTC_USDT.floor_amount("0.123456789") == Decimal("0.12345")


def test_notional_error_names_value_market_and_rule():
    with pytest.raises(MarketRuleError, match=r"BTC/USDT: order value .* below the minimum notional 5") as err:
        BTC_USDT.check_order(Decimal("100.00"), Decimal("0.01"))
    assert err.value.rule == "min_notional"


def test_off_grid_price_and_amount_are_refused_with_rule():
    with pytest.raises(MarketRuleError, match=r"tick size 0\.01") as err:
        BTC_USDT.check_price(Decimal("100.001"))
    assert err.value.rule == "tick_size"
    with pytest.raises(MarketRuleError, match="lot step") as err:
        BTC_USDT.check_amount(Decimal("0.000015"))
    assert err.value.rule == "lot_step"


@given(values, ticks)
def test_rounded_price_is_on_grid_and_within_half_a_tick(value, tick):
    market = Market(symbol="A/B", base="A", quote="B", tick_size=tick, lot_step=Decimal(1))
    rounded = market.round_price(value)
    assert rounded % tick == 0
    assert abs(rounded - value) <= tick / 2


@given(values, ticks)
def test_directional_rounding_brackets_the_value(value, tick):
    market = Market(symbol="A/B", base="A", quote="B", tick_size=tick, lot_step=Decimal(1))
    down, up = market.round_price(value, "down"), market.round_price(value, "up")
    assert down <= value <= up
    assert up - down in (0, tick)


@given(values, steps)
def test_floored_amount_is_on_grid_never_above_and_less_than_one_step_below(value, step):
    market = Market(symbol="A/B", base="A", quote="B", tick_size=Decimal("0.01"), lot_step=step)
    floored = market.floor_amount(value)
    assert floored % step == 0
    assert value - step < floored <= value
    if floored > 0:
        market.check_amount(floored)
