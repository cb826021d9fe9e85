"""PolicyConfig: defaults, validation, quote currencies, serialisation."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal

import pytest

from bastion.custody.policy import PolicyConfig, PolicyState, QuoteLimits
from bastion.errors import ConfigError

BTC = {"max_order_notional": "0.05", "max_daily_notional": "0.5", "min_volume_24h": "100"}


def test_defaults_are_the_documented_safe_values() -> None:
    config = PolicyConfig()
    assert config.pairs == ()
    assert config.max_order_notional == Decimal(1000)
    assert config.max_daily_notional == Decimal(10000)
    assert config.min_volume_24h == Decimal(1_000_000)
    assert config.max_orders_per_minute == 30
    assert config.max_deviation_pct == Decimal(2)
    assert config.max_reference_age_ms == 30_000
    assert config.state is PolicyState.ACTIVE
    assert config.denial_burst == 5
    assert config.denial_window_ms == 60_000
    assert dict(config.quote_limits) == {}


def test_config_is_frozen_and_keyword_only() -> None:
    config = PolicyConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_order_notional = Decimal(5)  # type: ignore[misc]
    with pytest.raises(TypeError):
        PolicyConfig(("BTC/USDT",))  # type: ignore[misc]


def test_unknown_keyword_is_rejected_with_its_name() -> None:
    with pytest.raises(TypeError, match="max_order_notionel"):
        PolicyConfig(max_order_notionel=Decimal(5))  # type: ignore[call-arg]


def test_unknown_field_in_mapping_is_rejected_with_its_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown field 'max_order_notionel' in policy config"):
        PolicyConfig.from_mapping({"pairs": ["BTC/USDT"], "max_order_notionel": "5"})


def test_unknown_field_in_quote_limits_is_rejected_with_its_name() -> None:
    with pytest.raises(ConfigError, match=r"unknown field 'min_volume' in quote_limits\['BTC'\]"):
        PolicyConfig.from_mapping({"quote_limits": {"BTC": {**BTC, "min_volume": "1"}}})


def test_float_amount_is_refused_naming_the_field() -> None:
    with pytest.raises(ConfigError, match=r"max_order_notional must be a decimal string.*0\.1"):
        PolicyConfig.from_mapping({"max_order_notional": 0.1})


def test_amounts_may_be_strings_ints_or_decimals() -> None:
    config = PolicyConfig.from_mapping({"max_order_notional": "250.5", "max_daily_notional": 900})
    assert config.max_order_notional == Decimal("250.5")
    assert config.max_daily_notional == Decimal(900)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("max_order_notional", "0", "max_order_notional must be positive, got '0'"),
        ("max_daily_notional", "-1", "max_daily_notional must be positive"),
        ("min_volume_24h", "-1", "min_volume_24h must not be negative"),
        ("max_deviation_pct", "0", "max_deviation_pct must be positive"),
        ("max_deviation_pct", "100.01", r"max_deviation_pct must be in \(0, 100\]"),
        ("max_orders_per_minute", 0, "max_orders_per_minute must be at least 1, got 0"),
        ("max_orders_per_minute", "30", r"max_orders_per_minute must be an integer, got '30' \(str\)"),
        ("denial_burst", True, r"denial_burst must be an integer, got True \(bool\)"),
        ("max_reference_age_ms", 1.5, "max_reference_age_ms must be an integer"),
        ("state", "paused", "state must be one of active, reducing, halted, got 'paused'"),
        ("pairs", "BTC/USDT", "pairs must be a list of symbols"),
        ("pairs", ["btc/usdt"], "pairs: 'btc/usdt' is not an upper-case spot symbol"),
        ("pairs", ["BTC/USDT:USDT"], "not an upper-case spot symbol"),
        ("max_order_notional", "1E+31", r"max_order_notional must be at most 1E\+30"),
    ],
)
def test_invalid_values_are_refused_saying_what_was_given(field: str, value: object, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        PolicyConfig.from_mapping({field: value})


def test_state_accepts_upper_case_names() -> None:
    assert PolicyConfig.from_mapping({"state": "HALTED"}).state is PolicyState.HALTED
    assert PolicyConfig(state=PolicyState.REDUCING).state is PolicyState.REDUCING


def test_pair_quoted_outside_usdt_needs_explicit_limits() -> None:
    with pytest.raises(ConfigError, match=r"ETH/BTC is quoted in BTC but limits exist only for USDT"):
        PolicyConfig(pairs=("ETH/BTC",))
    with pytest.raises(ConfigError, match=r"BTC/USDC is quoted in USDC"):
        PolicyConfig(pairs=("BTC/USDC",), quote_limits={"BTC": QuoteLimits(**BTC)})


def test_quote_limits_need_all_three_limits() -> None:
    with pytest.raises(ConfigError, match="missing min_volume_24h"):
        PolicyConfig.from_mapping(
            {
                "pairs": ["ETH/BTC"],
                "quote_limits": {"BTC": {k: v for k, v in BTC.items() if k != "min_volume_24h"}},
            }
        )


def test_usdt_limits_are_set_at_top_level_not_in_quote_limits() -> None:
    with pytest.raises(ConfigError, match="set USDT limits with the top-level"):
        PolicyConfig.from_mapping({"quote_limits": {"USDT": BTC}})


def test_limits_for_knows_usdt_and_configured_quotes_only() -> None:
    config = PolicyConfig.from_mapping({"pairs": ["ETH/BTC"], "quote_limits": {"BTC": BTC}})
    assert config.limits_for("USDT") == QuoteLimits(
        max_order_notional=Decimal(1000),
        max_daily_notional=Decimal(10000),
        min_volume_24h=Decimal(1_000_000),
    )
    assert config.limits_for("BTC") == QuoteLimits(**BTC)
    assert config.limits_for("EUR") is None


def test_pairs_are_stored_sorted_without_duplicates() -> None:
    config = PolicyConfig(pairs=["ETH/USDT", "BTC/USDT", "ETH/USDT"])  # type: ignore[arg-type]
    assert config.pairs == ("BTC/USDT", "ETH/USDT")


def test_to_dict_is_plain_and_stable() -> None:
    config = PolicyConfig.from_mapping(
        {
            "pairs": ["ETH/BTC", "BTC/USDT"],
            "max_order_notional": Decimal("1E+3"),
            "quote_limits": {"BTC": BTC},
            "state": "reducing",
        }
    )
    assert config.to_dict() == {
        "pairs": ["BTC/USDT", "ETH/BTC"],
        "max_order_notional": "1000",
        "max_daily_notional": "10000",
        "min_volume_24h": "1000000",
        "quote_limits": {"BTC": BTC},
        "max_orders_per_minute": 30,
        "max_deviation_pct": "2",
        "max_reference_age_ms": 30000,
        "state": "reducing",
        "denial_burst": 5,
        "denial_window_ms": 60000,
    }
    text = json.dumps(config.to_dict(), sort_keys=True)
    assert PolicyConfig.from_mapping(json.loads(text)) == config


def test_equal_configs_hash_equal() -> None:
    a = PolicyConfig.from_mapping({"pairs": ["ETH/BTC"], "quote_limits": {"BTC": BTC}})
    b = PolicyConfig.from_mapping(a.to_dict())
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
