"""``bastion exchange serve`` and ``keygen`` as real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import ccxt
import pytest

from bastion.exchanges.simulator import load_keys_file
from support.simulator import SimulatorProcess, bundled_csv, make_key

pytestmark = pytest.mark.timeout(90)


def bastion(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bastion", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_keygen_prints_an_entry_that_loads_as_a_keys_file_and_trades(tmp_path):
    result = bastion("exchange", "keygen", "--account", "bob", "--balance", "USDT=250", "--balance", "btc=0.5")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)
    assert entry["account"] == "bob"
    assert entry["balances"] == {"USDT": "250", "BTC": "0.5"}
    assert len(entry["api_key"]) == 64
    assert len(entry["secret"]) == 64
    path = tmp_path / "bob.json"
    path.write_text(result.stdout)
    [key] = load_keys_file(path)
    assert key.account == "bob"
    assert entry["secret"] not in repr(key)
    with SimulatorProcess(tmp_path, keys=[entry]) as sim:
        exchange = sim.client("bob", timeout_ms=5000)
        assert exchange.fetch_balance()["USDT"]["free"] == 250
        assert exchange.create_order("BTC/USDT", "market", "buy", 0.001)["status"] == "closed"


@pytest.mark.parametrize("host", ["0.0.0.0", "10.11.12.13", "::"])  # noqa: S104 (refused, never bound)
def test_a_non_loopback_host_is_refused_without_the_flag(host):
    result = bastion("exchange", "serve", "--host", host, "--port", "0", "--speed", "0")
    assert result.returncode == 2
    assert "listening" not in result.stdout
    assert "not a loopback address" in result.stderr
    assert "--allow-non-loopback" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_keys_file_fails_with_one_clear_error(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"api_key": "k" * 64, "secret": "s" * 64, "account": "a", "balance": {}}]))
    result = bastion("exchange", "serve", "--port", "0", "--keys-file", str(path))
    assert result.returncode == 2
    assert "unknown field(s) balance" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert "s" * 64 not in result.stderr


def test_bad_market_option_fails_clearly():
    result = bastion("exchange", "serve", "--port", "0", "--market", "BTC/USDT=nowhere.csv")
    assert result.returncode == 2
    assert "cannot read candle file" in result.stderr
    assert "Traceback" not in result.stderr


def test_default_serve_replays_bundled_btc_usdt_from_candle_200(simulator):
    state = simulator.state()
    assert list(state["symbols"]) == ["BTCUSDT"]
    assert state["symbols"]["BTCUSDT"]["index"] == 200
    assert state["symbols"]["BTCUSDT"]["timeframe"] == "5m"
    assert state["speed"] == 0
    advanced = simulator.advance(3)
    assert advanced["BTCUSDT"]["index"] == 203
    assert simulator.balances("alice")["USDT"] == {"free": "10000", "locked": "0", "fees": "0"}


def test_options_reach_the_server_markets_rules_fees_start_and_speed(tmp_path):
    markets = [
        f"BTC/USDT={bundled_csv('BTC/USDT')};tick=0.5;step=0.001;min_notional=10",
        f"ETH/BTC={bundled_csv('ETH/BTC')}",
    ]
    keys = [make_key("carol", {"USDT": "1000"})]
    extra = ("--maker-fee", "0.002", "--taker-fee", "0.003")
    with SimulatorProcess(tmp_path, markets=markets, keys=keys, start=50, speed=40, extra_args=extra) as sim:
        first = sim.state()
        time.sleep(0.5)
        second = sim.state()
        assert first["speed"] == 40
        assert second["symbols"]["BTCUSDT"]["index"] > first["symbols"]["BTCUSDT"]["index"] >= 50
        status, _, raw = sim.http("GET", "/api/v3/exchangeInfo", query="symbol=BTCUSDT")
        assert status == 200
        info = json.loads(raw)
        [symbol] = info["symbols"]
        filters = {f["filterType"]: f for f in symbol["filters"]}
        assert filters["PRICE_FILTER"]["tickSize"] == "0.50000000"
        assert filters["LOT_SIZE"] == {
            "filterType": "LOT_SIZE",
            "minQty": "0.00100000",
            "maxQty": "9000000.00000000",
            "stepSize": "0.00100000",
        }
        assert filters["NOTIONAL"]["minNotional"] == "10.00000000"
        assert symbol["permissionSets"] == [["SPOT"]]
        assert symbol["permissions"] == ["SPOT"]
        assert symbol["status"] == "TRADING"
        assert "MARKET" in symbol["orderTypes"]
        assert (symbol["baseAssetPrecision"], symbol["quotePrecision"]) == (8, 8)
        account = sim.client("carol", timeout_ms=5000).fetch_balance()["info"]
        assert account["commissionRates"]["maker"] == "0.00200000"
        assert account["commissionRates"]["taker"] == "0.00300000"
        assert sim.unknown() == []


def test_kucoin_flavor_keygen_writes_a_passphrase_and_serve_speaks_kucoin(tmp_path):
    from bastion.exchanges.ccxt.factory import KUCOIN_SIMULATOR_ID, create_client
    from bastion.exchanges.credentials import ApiCredentials

    result = bastion("exchange", "keygen", "--account", "kim", "--balance", "USDT=300", "--flavor", "kucoin")
    assert result.returncode == 0, result.stderr
    entry = json.loads(result.stdout)
    assert len(entry["passphrase"]) == 32
    with SimulatorProcess(tmp_path, keys=[entry], extra_args=("--flavor", "kucoin")) as sim:
        credentials = ApiCredentials(entry["api_key"], entry["secret"], entry["passphrase"])
        client = create_client(KUCOIN_SIMULATOR_ID, url=sim.url, credentials=credentials, timeout_ms=5000)
        assert client.fetch_balance()["USDT"]["free"] == 300
        assert client.create_order("BTC/USDT", "market", "buy", 0.001)["id"]
        assert sim.orders("kim")[0]["status"] == "FILLED"
        assert sim.unknown() == []
        wrong = ApiCredentials(entry["api_key"], entry["secret"], "not-the-passphrase")
        bad = create_client(KUCOIN_SIMULATOR_ID, url=sim.url, credentials=wrong, timeout_ms=5000)
        with pytest.raises(ccxt.AuthenticationError, match="400004"):
            bad.fetch_balance()
