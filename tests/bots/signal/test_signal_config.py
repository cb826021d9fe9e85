from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from bastion.bots.signal import SignalConfig, action_direction
from bastion.errors import ConfigError
from bots.signal.harness import BTC_USDT, ETH_USDT

BASE = {"name": "tv", "account": "main", "pairs": ["BTC/USDT"], "order_size": "25"}


def config(**changes: object) -> SignalConfig:
    return SignalConfig.from_mapping({**BASE, **changes})


def test_defaults_are_long_quote_sized_with_max_order_size_equal_to_order_size() -> None:
    c = config()
    assert c.type == "signal"
    assert c.directions == ("long",)
    assert c.order_currency == "quote"
    assert c.order_size == Decimal(25)
    assert c.max_order_size == c.size_limit == Decimal(25)
    assert c.max_lag_s == 60
    assert c.take_profit_pct is None
    assert c.stop_loss_pct is None
    assert c.max_active_deals == 1


def test_toml_floats_become_the_decimal_the_user_wrote() -> None:
    c = config(order_size=0.1, max_order_size=0.3, take_profit_pct=1.1, stop_loss_pct=2)
    assert (c.order_size, c.max_order_size, c.take_profit_pct, c.stop_loss_pct) == (
        Decimal("0.1"), Decimal("0.3"), Decimal("1.1"), Decimal(2),
    )  # fmt: skip


def test_from_toml_reads_a_stored_config_text() -> None:
    text = 'name = "tv"\naccount = "main"\npairs = ["BTC/USDT", "ETH/USDT"]\n'
    text += 'order_size = 0.001\norder_currency = "base"\n'
    c = SignalConfig.from_toml(text)
    assert c.pairs == ("BTC/USDT", "ETH/USDT")
    assert c.order_size == Decimal("0.001")


def test_from_toml_refuses_text_that_is_not_toml() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        SignalConfig.from_toml("name = ")


def test_unknown_field_is_named_with_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown field 'max_lag'.*valid fields: name, type, account, pairs"):
        config(max_lag=10)


def test_missing_required_fields_are_named() -> None:
    with pytest.raises(ConfigError, match="missing order_size"):
        SignalConfig.from_mapping({"name": "tv", "account": "main", "pairs": ["BTC/USDT"]})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"order_size": True}, "order_size must be a decimal number"),
        ({"order_size": "0"}, "order_size must be greater than 0"),
        ({"order_size": "lots"}, "order_size must be a decimal number"),
        ({"order_size": "NaN"}, "must be finite"),
        ({"max_order_size": "20"}, "max_order_size must be at least order_size 25"),
        ({"order_currency": "usd"}, "order_currency must be one of 'quote', 'base'"),
        ({"directions": []}, "directions must be a non-empty list"),
        ({"directions": ["long", "long"]}, "'long' is listed twice"),
        ({"directions": ["up"]}, "directions item must be one of 'long', 'short'"),
        ({"directions": "long"}, "directions must be a non-empty list"),
        ({"pairs": ["btc/usdt"]}, "not an upper-case spot symbol"),
        ({"max_lag_s": 0}, "max_lag_s must be between 1 and 86400"),
        ({"max_lag_s": 1.5}, "max_lag_s must be an integer"),
        ({"take_profit_pct": "-1"}, "take_profit_pct must be greater than 0"),
        ({"directions": ["short"], "take_profit_pct": "100"}, "take_profit_pct must be less than 100"),
        ({"stop_loss_pct": "100"}, "stop_loss_pct must be less than 100"),
        ({"max_active_deals": 0}, "max_active_deals must be at least 1"),
        ({"type": "dca"}, "type must be one of 'signal'"),
        ({"name": "has space"}, "name must be 1-64 characters"),
    ],
)
def test_invalid_values_are_refused_with_field_value_and_expectation(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config(**changes)


def test_config_is_frozen() -> None:
    c = config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.order_size = Decimal(1)  # type: ignore[misc]


def test_action_direction() -> None:
    assert action_direction("enter_long") == "long"
    assert action_direction("exit_short") == "short"
    with pytest.raises(ConfigError, match="signal action must be one of enter_long"):
        action_direction("buy")


def test_refusal_names_pair_direction_and_size_problems() -> None:
    c = config(max_order_size="100")
    assert c.refusal(pair="BTC/USDT", action="enter_long") is None
    assert c.refusal(pair="BTC/USDT", action="enter_long", amount=Decimal(100), currency_type="quote") is None
    assert "not traded by bot 'tv'; expected one of BTC/USDT" in str(c.refusal(pair="ETH/USDT", action="enter_long"))
    assert "'enter_short' is short, which bot 'tv' does not trade" in str(
        c.refusal(pair="BTC/USDT", action="enter_short")
    )
    over = c.refusal(pair="BTC/USDT", action="enter_long", amount=Decimal("100.01"), currency_type="quote")
    assert "above the max_order_size 100 of bot 'tv'" in str(over)
    other = c.refusal(pair="BTC/USDT", action="enter_long", amount=Decimal("0.001"), currency_type="base")
    assert "expected currency_type 'quote'" in str(other)
    zero = c.refusal(pair="BTC/USDT", action="enter_long", amount=Decimal(0), currency_type="quote")
    assert "must be positive" in str(zero)
    # An exit closes the whole deal: its amount is not used, so it is not checked.
    assert c.refusal(pair="BTC/USDT", action="exit_long", amount=Decimal(10**9), currency_type="base") is None


def test_check_markets_refuses_a_quote_size_below_the_minimum_notional() -> None:
    with pytest.raises(ConfigError, match=r"order_size 4 quote .* below the market's minimum notional 5 USDT"):
        config(order_size="4").check_markets({"BTC/USDT": BTC_USDT})
    config(order_size="5").check_markets({"BTC/USDT": BTC_USDT})


def test_check_markets_refuses_a_base_size_below_the_minimums() -> None:
    base = config(order_size="0.000001", order_currency="base")
    with pytest.raises(ConfigError, match=r"below the market's minimum amount 0\.00001 BTC"):
        base.check_markets({"BTC/USDT": BTC_USDT})
    small = config(order_size="0.0001", order_currency="base")
    small.check_markets({"BTC/USDT": BTC_USDT})  # no price: only the amount is checked
    with pytest.raises(ConfigError, match="below the market's minimum notional 5 USDT"):
        small.check_markets({"BTC/USDT": BTC_USDT}, prices={"BTC/USDT": Decimal(20000)})


def test_check_markets_refuses_a_pair_without_market() -> None:
    with pytest.raises(ConfigError, match=r"pair BTC/USDT has no market.*markets known: ETH/USDT"):
        config().check_markets({"ETH/USDT": ETH_USDT})


def test_the_public_api_is_pinned() -> None:
    import bastion.bots.signal as signal

    assert sorted(signal.__all__) == ["ACTIONS", "SignalAction", "SignalBot", "SignalConfig", "action_direction"]
