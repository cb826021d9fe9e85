"""The bot form writes the TOML a user would write, and the loader of `bot create --config` judges it."""

from __future__ import annotations

import pytest

from bastion.bots.registry import load_config
from bastion.errors import BastionError, ValidationError
from bastion.services.bots import config_fields, template
from bastion.web.pages.bot_form import form_fields, form_to_toml, toml_to_values


@pytest.mark.parametrize("kind", ["dca", "dca_rsi", "grid", "smart_trade", "signal"])
def test_every_template_survives_the_form_unchanged(kind: str) -> None:
    text = template(kind)
    values = toml_to_values(text)
    config = load_config(text)
    assert load_config(form_to_toml(config.type, values)) == config


def test_empty_fields_keep_the_defaults_and_the_type_is_fixed() -> None:
    text = form_to_toml("dca", {"name": "d", "account": "main", "pairs": "BTC/USDT, ETH/USDT", "base_order_size": "20",
                                "take_profit_pct": "1", "type": "grid"})  # fmt: skip
    config = load_config(text)
    assert config.type == "dca"
    assert config.pairs == ("BTC/USDT", "ETH/USDT")
    assert str(config.base_order_size) == "20"


def _refusal(text: str) -> str:
    with pytest.raises(BastionError) as caught:
        load_config(text)
    return str(caught.value)


def test_a_bad_value_is_refused_with_the_loaders_own_message() -> None:
    values = {"name": "d", "account": "main", "pairs": "BTC/USDT", "base_order_size": "20", "max_safety_orders": "two"}
    by_form = _refusal(form_to_toml("dca", values))
    by_file = _refusal('name = "d"\ntype = "dca"\naccount = "main"\npairs = ["BTC/USDT"]\nbase_order_size = "20"\n'
                       'max_safety_orders = "two"\n')  # fmt: skip
    assert by_form == by_file
    assert "max_safety_orders" in by_form


def test_a_nested_table_that_is_not_inline_toml_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"field start_condition: .* is not inline TOML"):
        form_to_toml("dca", {"name": "d", "start_condition": "{type = asap"})


def test_a_text_cannot_smuggle_another_key_into_the_toml() -> None:
    import tomllib

    sneaky = 'd", max_active_deals = 99, x = "\\'
    text = form_to_toml("dca", {"name": sneaky, "account": "main", "pairs": "BTC/USDT", "base_order_size": "20"})
    data = tomllib.loads(text)
    assert data["name"] == sneaky
    assert "max_active_deals" not in data
    with pytest.raises(ValidationError, match="control character"):
        form_to_toml("dca", {"name": "a\nmax_active_deals = 99"})


def test_the_form_has_one_input_per_config_key() -> None:
    names = [f.name for f in form_fields("grid")]
    assert names == [name for name, _kind, _default in config_fields("grid")]
