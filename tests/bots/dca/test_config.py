import tomllib
from decimal import Decimal
from typing import Any

import pytest

from bastion.bots.dca import AsapStart, DcaConfig, RsiStart, SignalStart, TakeProfitStep
from bastion.domain import Market
from bastion.errors import ConfigError

D = Decimal
BTC = Market(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=D("0.1"),
    lot_step=D("0.00001"),
    min_amount=D("0.00001"),
    min_notional=D(5),
)


def _table(**overrides: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "name": "btc-dca",
        "account": "main",
        "pairs": ["BTC/USDT"],
        "base_order_size": "20",
        "safety_order_size": "20",
        "max_safety_orders": 3,
        "price_deviation_pct": "1",
        "take_profit_pct": "1",
    }
    table.update(overrides)
    return {k: v for k, v in table.items() if v is not None}


def test_toml_table_with_3commas_names_builds_a_config():
    config = DcaConfig.from_mapping(
        tomllib.loads(
            """
            name = "btc-dca"
            type = "dca"
            account = "binance-main"
            pairs = ["BTC/USDT", "ETH/USDT"]
            direction = "long"
            base_order_size = 10
            safety_order_size = "20.5"
            base_order_type = "limit"
            max_safety_orders = 5
            active_safety_orders = 2
            price_deviation_pct = 1.1
            safety_order_step_scale = 1.2
            safety_order_volume_scale = 1.05
            take_profit_type = "base"
            take_profit_steps = [{amount_pct = 40, profit_pct = 0.7}, {amount_pct = 60, profit_pct = 1.3}]
            trailing_enabled = true
            trailing_deviation_pct = 0.2
            stop_loss_pct = 7.5
            stop_loss_type = "stop_and_disable"
            stop_loss_timeout_s = 300
            start_condition = {type = "rsi", period = 7, timeframe = "15m", threshold = 25}
            max_active_deals = 2
            cooldown_s = 900
            """
        )
    )
    # TOML floats arrive as what the user wrote, not as binary fractions.
    assert config.price_deviation_pct == D("1.1")
    assert config.safety_order_step_scale == D("1.2")
    assert config.safety_order_volume_scale == D("1.05")
    assert config.trailing_deviation_pct == D("0.2")
    assert config.base_order_size == D(10)
    assert config.safety_order_size == D("20.5")
    assert config.pairs == ("BTC/USDT", "ETH/USDT")
    assert config.take_profit_steps == (
        TakeProfitStep(amount_pct=D(40), profit_pct=D("0.7")),
        TakeProfitStep(amount_pct=D(60), profit_pct=D("1.3")),
    )
    assert config.targets == config.take_profit_steps
    assert config.start_condition == RsiStart(period=7, timeframe="15m", threshold=D(25))
    assert config.timeframe == "15m"
    assert config.candles_wanted == 71


def test_defaults_are_documented_values():
    config = DcaConfig.from_mapping(
        {"name": "b", "account": "a", "pairs": ["BTC/USDT"], "base_order_size": "15", "take_profit_pct": "1.5"}
    )
    assert config.type == "dca"
    assert config.direction == "long"
    assert config.base_order_type == "market"
    assert config.max_safety_orders == 0
    assert config.safety_order_size is None
    assert config.active_safety_orders == 1
    assert config.safety_order_step_scale == config.safety_order_volume_scale == D(1)
    assert config.take_profit_type == "total"
    assert config.targets == (TakeProfitStep(amount_pct=D(100), profit_pct=D("1.5")),)
    assert config.trailing_enabled is False
    assert config.stop_loss_pct == 0
    assert config.stop_loss_type == "stop"
    assert config.stop_loss_timeout_s == 0
    assert config.start_condition == AsapStart()
    assert config.timeframe is None
    assert config.max_active_deals == 1
    assert config.cooldown_s == 0


def test_start_condition_tables():
    assert DcaConfig.from_mapping(_table(start_condition={"type": "signal"})).start_condition == SignalStart()
    rsi = DcaConfig.from_mapping(_table(start_condition={"type": "rsi"})).start_condition
    assert rsi == RsiStart(period=14, timeframe="5m", threshold=D(30))


def test_unknown_field_is_named_with_the_valid_ones():
    with pytest.raises(ConfigError) as info:
        DcaConfig.from_mapping(_table(take_proffit_pct="1"))
    message = str(info.value)
    assert "'take_proffit_pct'" in message
    assert "take_profit_pct" in message.split("valid fields:")[1]
    assert "max_active_deals" in message


def test_unknown_field_inside_a_nested_table_is_named():
    with pytest.raises(ConfigError, match=r"'tresh'.*start_condition.*period, timeframe, threshold"):
        DcaConfig.from_mapping(_table(start_condition={"type": "rsi", "tresh": 20}))
    with pytest.raises(ConfigError, match=r"'profit'.*take_profit_steps\[1\]"):
        DcaConfig.from_mapping(_table(take_profit_pct=None, take_profit_steps=[{"amount_pct": 100, "profit": 1}]))


def test_missing_required_field_is_named():
    table = _table()
    del table["account"]
    with pytest.raises(ConfigError, match="missing account"):
        DcaConfig.from_mapping(table)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("name", "my bot", "1-64 characters"),
        ("name", "x" * 65, "1-64 characters"),
        ("type", "grid", "one of 'dca'"),
        ("account", "", "non-empty string"),
        ("pairs", [], "got an empty list"),
        ("pairs", "BTC/USDT", "must be a non-empty list such as"),
        ("pairs", ["BTCUSDT"], "'BASE/QUOTE'"),
        ("pairs", ["BTC/USDT", "BTC/USDT"], "listed twice"),
        ("direction", "sideways", "one of 'long', 'short'"),
        ("base_order_size", "0", "greater than 0"),
        ("base_order_size", "-5", "greater than 0"),
        ("base_order_size", True, "decimal number"),
        ("base_order_size", "ten", "decimal number"),
        ("base_order_size", float("nan"), "finite"),
        ("base_order_type", "stop", "one of 'market', 'limit'"),
        ("max_safety_orders", -1, "between 0 and 100"),
        ("max_safety_orders", 2.0, "integer"),
        ("max_safety_orders", True, "integer"),
        ("active_safety_orders", 4, "between 1 and 3"),
        ("active_safety_orders", 0, "between 1 and 3"),
        ("price_deviation_pct", "0", "greater than 0"),
        ("safety_order_step_scale", 0, "greater than 0"),
        ("safety_order_volume_scale", "-1", "greater than 0"),
        ("take_profit_pct", "0", "greater than 0"),
        ("take_profit_type", "average", "one of 'total', 'base'"),
        ("trailing_enabled", "yes", "true or false"),
        ("trailing_deviation_pct", "100", "less than 100"),
        ("stop_loss_pct", "-1", "at least 0"),
        ("stop_loss_pct", "100", "less than 100"),
        ("stop_loss_type", "trailing", "one of 'stop', 'stop_and_disable'"),
        ("stop_loss_timeout_s", -1, "at least 0"),
        ("max_active_deals", 0, "at least 1"),
        ("cooldown_s", -5, "at least 0"),
        ("cooldown_s", "60", "integer"),
    ],
)
def test_bad_value_names_field_value_and_expectation(field: str, value: Any, expected: str):
    with pytest.raises(ConfigError) as info:
        DcaConfig.from_mapping(_table(**{field: value}))
    message = str(info.value)
    assert field in message
    assert expected in message
    if not isinstance(value, list):
        assert repr(value) in message or str(value) in message


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ({"type": "macd"}, "start_condition.type must be one of 'asap', 'rsi', 'signal', got 'macd'"),
        ({"period": 14}, "start_condition.type must be one of"),
        ({"type": "rsi", "timeframe": "7m"}, "start_condition.timeframe must be one of '1s', '1m', '3m'"),
        ({"type": "rsi", "threshold": 100}, "start_condition.threshold must be less than 100, got 100"),
        ({"type": "rsi", "period": 1}, "start_condition.period must be between 2 and 500, got 1"),
        ("asap", "start_condition must be a table"),
    ],
)
def test_bad_start_condition(start: Any, expected: str):
    with pytest.raises(ConfigError, match=expected.replace("(", r"\(")):
        DcaConfig.from_mapping(_table(start_condition=start))


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"safety_order_size": None}, "safety_order_size must be given when max_safety_orders is 3"),
        ({"price_deviation_pct": None}, "price_deviation_pct must be given when max_safety_orders is 3"),
        ({"take_profit_pct": None}, "take_profit_pct must be given"),
        ({"take_profit_steps": [{"amount_pct": 100, "profit_pct": 2}]}, "either take_profit_pct or take_profit_steps"),
        ({"trailing_enabled": True}, "trailing_deviation_pct must be given when trailing_enabled"),
        ({"direction": "short", "take_profit_pct": 100}, "take_profit_pct must be less than 100"),
        (
            {"max_safety_orders": 7, "safety_order_step_scale": 2, "price_deviation_pct": 1},
            "safety order 7 would be 127% below the base fill",
        ),
    ],
)
def test_inconsistent_fields(overrides: dict[str, Any], expected: str):
    with pytest.raises(ConfigError, match=expected):
        DcaConfig.from_mapping(_table(**overrides))


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([{"amount_pct": 50, "profit_pct": 1}, {"amount_pct": 40, "profit_pct": 2}], "must sum to 100, got 90"),
        ([{"amount_pct": 20, "profit_pct": i} for i in range(1, 6)], "at most 4 steps, got 5"),
        ([{"amount_pct": 50, "profit_pct": 2}, {"amount_pct": 50, "profit_pct": 1}], "must rise from step to step"),
        ([{"amount_pct": 100}], "must give amount_pct and profit_pct; missing profit_pct"),
        ([{"amount_pct": 0, "profit_pct": 1}], "amount_pct must be greater than 0"),
        ({"amount_pct": 100, "profit_pct": 1}, "must be a list of tables"),
    ],
)
def test_bad_take_profit_steps(steps: Any, expected: str):
    with pytest.raises(ConfigError, match=expected):
        DcaConfig.from_mapping(_table(take_profit_pct=None, take_profit_steps=steps))


def test_a_short_may_scale_safety_orders_without_a_ceiling():
    config = DcaConfig.from_mapping(_table(direction="short", max_safety_orders=7, safety_order_step_scale=2))
    assert config.safety_order_deviation(7) == D(127)


# --- check_markets: minimums are an error at bot creation ------------------------------------------


def test_check_markets_accepts_orders_above_the_minimums():
    DcaConfig.from_mapping(_table()).check_markets({"BTC/USDT": BTC}, prices={"BTC/USDT": D("16727.3")})
    DcaConfig.from_mapping(_table()).check_markets({"BTC/USDT": BTC})


def test_check_markets_requires_every_pair():
    config = DcaConfig.from_mapping(_table(pairs=["BTC/USDT", "ETH/USDT"]))
    with pytest.raises(ConfigError, match=r"pair ETH/USDT has no market.*known: BTC/USDT"):
        config.check_markets({"BTC/USDT": BTC})


def test_base_order_at_the_minimum_notional_fails_after_rounding():
    # 5 USDT at 16727.3 buys 0.00029 BTC (floored), worth 4.85 USDT: below the 5 USDT minimum.
    config = DcaConfig.from_mapping(_table(base_order_size="5"))
    with pytest.raises(ConfigError, match=r"base order of 5 USDT at 16727.3 .*below the minimum notional 5"):
        config.check_markets({"BTC/USDT": BTC}, prices={"BTC/USDT": D("16727.3")})


def test_a_later_safety_order_below_the_minimum_notional_fails():
    # A volume scale below 1 shrinks the safety orders: 20, 10, 5, 2.5 USDT.
    config = DcaConfig.from_mapping(_table(max_safety_orders=4, safety_order_volume_scale="0.5"))
    with pytest.raises(ConfigError, match=r"safety order 4 of 2\.500 USDT"):
        config.check_markets({"BTC/USDT": BTC})
    with pytest.raises(ConfigError, match=r"safety order 3 of 5\.00 USDT at 16225\.4"):
        config.check_markets({"BTC/USDT": BTC}, prices={"BTC/USDT": D("16727.3")})


def test_minimum_amount_is_checked_too():
    market = Market(
        symbol="BTC/USDT", base="BTC", quote="USDT", tick_size=D("0.1"), lot_step=D("0.00001"), min_amount=D("0.01")
    )
    config = DcaConfig.from_mapping(_table())
    with pytest.raises(ConfigError, match=r"base order .*below the minimum amount 0.01"):
        config.check_markets({"BTC/USDT": market}, prices={"BTC/USDT": D("16727.3")})


def test_a_take_profit_step_too_small_for_the_market_fails():
    config = DcaConfig.from_mapping(
        _table(
            take_profit_pct=None,
            take_profit_steps=[{"amount_pct": 20, "profit_pct": 1}, {"amount_pct": 80, "profit_pct": 2}],
        )
    )
    with pytest.raises(ConfigError, match=r"take-profit step 1 \(20% of the base order"):
        config.check_markets({"BTC/USDT": BTC}, prices={"BTC/USDT": D("16727.3")})
    with pytest.raises(ConfigError, match="take-profit step 1"):
        config.check_markets({"BTC/USDT": BTC})
