"""``policy set --quote-limit QUOTE=ORDER[,DAILY[,MIN_VOLUME]]``: parsing and merging with the limits in force."""

from __future__ import annotations

import pytest

from bastion.cli.policy import merge_quote_limits, parse_quote_limits
from bastion.custody.policy import PolicyConfig
from bastion.errors import ValidationError


def test_one_amount_sets_the_order_limit_and_derives_the_rest_for_a_new_quote():
    changes = parse_quote_limits(["BTC=0.05", "EUR=100,800,0"])
    merged = merge_quote_limits({}, changes)
    assert merged == {
        "BTC": {"max_order_notional": "0.05", "max_daily_notional": "0.50", "min_volume_24h": "50.00"},
        "EUR": {"max_order_notional": "100", "max_daily_notional": "800", "min_volume_24h": "0"},
    }
    config = PolicyConfig.from_mapping({"pairs": ["ETH/BTC", "BTC/EUR"], "quote_limits": merged})
    assert str(config.limits_for("BTC").max_order_notional) == "0.05"


def test_an_existing_quote_keeps_the_limits_not_given_and_other_quotes_are_untouched():
    current = {
        "BTC": {"max_order_notional": "0.1", "max_daily_notional": "0.3", "min_volume_24h": "7"},
        "ETH": {"max_order_notional": "1", "max_daily_notional": "5", "min_volume_24h": "10"},
    }
    merged = merge_quote_limits(current, parse_quote_limits(["BTC=0.05"]))
    assert merged["BTC"] == {"max_order_notional": "0.05", "max_daily_notional": "0.3", "min_volume_24h": "7"}
    assert merged["ETH"] == current["ETH"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("BTC", "expected QUOTE=ORDER"),
        ("btc=0.05", "expected QUOTE=ORDER"),
        ("BTC=0.05,1,2,3", "expected QUOTE=ORDER"),
        ("BTC=abc", "'abc' is not a positive decimal amount"),
        ("BTC=0", "'0' is not a positive"),
        ("BTC=-1", "'-1' is not a positive"),
        ("BTC=NaN", "'NaN' is not a positive"),
    ],
)
def test_bad_values_say_what_was_wrong_and_what_is_expected(value, why):
    with pytest.raises(ValidationError, match=why):
        parse_quote_limits([value])


def test_a_quote_given_twice_is_refused():
    with pytest.raises(ValidationError, match="names BTC twice"):
        parse_quote_limits(["BTC=0.05", "BTC=0.1"])
