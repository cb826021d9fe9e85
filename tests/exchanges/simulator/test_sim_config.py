"""Market options and rules, the keys file, and the simulator configuration."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bastion.errors import ConfigError
from bastion.exchanges.simulator import generate_entry, load_keys_file, parse_market_option
from bastion.exchanges.simulator.config import SimulatorConfig, build_venue, bundled_market, is_loopback_host
from bastion.exchanges.simulator.keys import DEFAULT_RESTRICTIONS, parse_keys

D = Decimal


# --- markets and rules ---------------------------------------------------------------------


def test_market_option_with_overrides():
    spec = parse_market_option("btc/usdt=data/btc.csv;tick=0.01;step=0.00001;min_notional=5")
    assert (spec.symbol, spec.path, spec.base, spec.quote) == ("BTC/USDT", Path("data/btc.csv"), "BTC", "USDT")
    assert spec.overrides == {"tick": D("0.01"), "step": D("0.00001"), "min_notional": D(5)}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("BTC/USDT", "expected SYMBOL=PATH.csv"),
        ("BTCUSDT=x.csv", "symbol must look like BASE/QUOTE"),
        ("BTC/USDT=x.csv;lot=1", "unknown rule 'lot'; expected one of tick, step"),
        ("BTC/USDT=x.csv;tick=abc", "tick must be a positive decimal"),
        ("BTC/USDT=x.csv;tick=0", "tick must be a positive decimal"),
    ],
)
def test_bad_market_options_say_what_was_expected(option, message):
    with pytest.raises(ConfigError, match=message):
        parse_market_option(option)


def test_bundled_markets_get_binance_like_default_rules():
    venue = build_venue(SimulatorConfig(markets=(bundled_market("BTC/USDT"), bundled_market("ETH/BTC"))), lambda: 0)
    btc = venue.engine("BTCUSDT").rules
    assert (btc.tick_size, btc.step_size, btc.min_qty, btc.min_notional) == (D("0.1"), D("0.00001"), D("0.00001"), 5)
    eth = venue.engine("ETHBTC").rules
    assert (eth.tick_size, eth.step_size, eth.min_notional) == (D("0.00000001"), D("0.0001"), D("0.0001"))
    assert venue.engine("BTCUSDT").index == 200  # default start: enough history for klines


def test_overrides_replace_the_inferred_rules():
    option = f"BTC/USDT={bundled_market().path};tick=0.5;step=0.001;min_notional=10;min_qty=0.002"
    spec = parse_market_option(option)
    rules = build_venue(SimulatorConfig(markets=(spec,), start=5), lambda: 0).engine("BTCUSDT").rules
    assert (rules.tick_size, rules.step_size) == (D("0.5"), D("0.001"))
    assert (rules.min_qty, rules.min_notional) == (D("0.002"), 10)


def test_start_is_capped_to_the_data(tmp_path):
    csv = tmp_path / "tiny.csv"
    csv.write_text("timestamp_ms,open,high,low,close,volume\n0,1,1,1,1,1\n60000,1,1,1,1,1\n120000,1,1,1,1,1\n")
    venue = build_venue(SimulatorConfig(markets=(parse_market_option(f"ABC/USDT={csv}"),)), lambda: 0)
    assert venue.engine("ABCUSDT").index == 2


def test_missing_candle_file_is_a_config_error(tmp_path):
    spec = parse_market_option(f"BTC/USDT={tmp_path / 'missing.csv'}")
    with pytest.raises(ConfigError, match="cannot read candle file"):
        build_venue(SimulatorConfig(markets=(spec,)), lambda: 0)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),  # noqa: S104
        ("10.0.0.1", False),
        ("example.com", False),
        ("::", False),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback_host(host) is loopback


def test_non_loopback_host_needs_the_explicit_flag():
    with pytest.raises(ConfigError, match="not a loopback address"):
        SimulatorConfig(host="0.0.0.0")  # noqa: S104
    assert SimulatorConfig(host="0.0.0.0", allow_non_loopback=True).allow_non_loopback  # noqa: S104


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"speed": -1}, "--speed must be within"),
        ({"start": -3}, "--start must be a candle index"),
        ({"maker_fee": D("1.5")}, "maker fee must be a Decimal in"),
        ({"port": 70000}, "--port must be within"),
    ],
)
def test_config_refuses_out_of_range_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SimulatorConfig(**kwargs)


# --- keys file -------------------------------------------------------------------------------


def entry(**changes):
    base = {"api_key": "k" * 64, "secret": "s" * 64, "account": "alice", "balances": {"USDT": "10000"}}
    base.update(changes)
    return base


def test_keys_file_loads_entries_and_default_restrictions(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([entry(), entry(api_key="j" * 64, balances=None, restrictions={"enableMargin": True})]))
    first, second = load_keys_file(path)
    assert first.balances == {"USDT": D(10000)}
    assert first.allows("enableReading")
    assert first.allows("enableSpotAndMarginTrading")
    assert not first.allows("enableWithdrawals")
    assert not first.allows("ipRestrict")
    assert second.allows("enableMargin")
    assert set(DEFAULT_RESTRICTIONS) >= {"enableVanillaOptions", "enableFutures", "permitsUniversalTransfer"}


def test_key_entries_never_show_their_secret():
    [key] = parse_keys([entry(api_key="A" * 60 + "wxyz", secret="topsecret", passphrase="pass phrase")])
    assert repr(key) == "KeyEntry(****wxyz, account='alice')"
    assert "topsecret" not in repr(key)
    assert "pass phrase" not in str(key)
    assert "A" * 10 not in repr(key)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a JSON list of key entries"),
        ([entry(apikey="x")], r"unknown field\(s\) apikey"),
        ([entry(secret="")], '"secret" must be a non-empty string'),
        ([entry(api_key="short")], "api_key must be 8 to 128 letters"),
        ([entry(balances=["USDT"])], '"balances" must be an object'),
        ([entry(balances={"usdt": "1"})], "upper-case code"),
        ([entry(balances={"USDT": "-1"})], "non-negative number below 1e15"),
        ([entry(balances={"USDT": "1e20"})], "below 1e15"),
        ([entry(balances={"USDT": True})], "decimal string"),
        ([entry(restrictions={"enableWithdrawal": True})], "unknown restriction 'enableWithdrawal'"),
        ([entry(restrictions={"enableReading": "yes"})], "must be true or false"),
        ([entry(), entry()], "the same api_key"),
        ([entry(), entry(api_key="j" * 64, balances={"USDT": "5"})], "both set balances for account 'alice'"),
    ],
)
def test_bad_keys_files_name_the_entry_and_what_was_expected(data, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_keys(data, "keys.json")
    assert str(err.value).startswith("keys.json")
    assert "s" * 64 not in str(err.value)


def test_unreadable_or_invalid_json_keys_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read keys file"):
        load_keys_file(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        load_keys_file(bad)


def test_generated_entries_are_valid_and_random():
    first = generate_entry("alice", {"USDT": "10000"})
    second = generate_entry("alice")
    assert len(first["api_key"]) == 64
    assert first["api_key"].isalnum()
    assert len(first["secret"]) == 64
    assert first["api_key"] != second["api_key"]
    assert first["secret"] != second["secret"]
    [key] = parse_keys(first)  # one entry object is a valid keys file too
    assert key.balances == {"USDT": D(10000)}


def test_the_public_surface_is_small_and_pinned():
    import bastion.exchanges.simulator as simulator

    assert sorted(simulator.__all__) == [
        "KeyEntry",
        "MarketSpec",
        "SimulatorConfig",
        "SimulatorServer",
        "bundled_market",
        "generate_entry",
        "load_keys_file",
        "parse_market_option",
        "run",
    ]
