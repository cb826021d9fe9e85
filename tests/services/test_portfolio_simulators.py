"""Portfolio totals equal the simulators' balances valued at the simulators' prices: one account on
each flavor (Binance and KuCoin), balances through the real signer's ``balances`` RPC, prices
from the real ccxt clients' public tickers, ETH valued through ETH/BTC and BTC/USDT."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bastion.custody.layout import HomeLayout
from bastion.services.portfolio import portfolio
from bastion.services.vault import create_vault
from support.inprocess_signer import OPERATOR, InProcessSigner
from support.simulator import SimulatorProcess, bundled_csv, make_key

pytestmark = pytest.mark.timeout(180)
KUCOIN_FLAVOR = ("--flavor", "kucoin")
MARKETS = {"BTC/USDT": bundled_csv("BTC/USDT"), "ETH/BTC": bundled_csv("ETH/BTC")}


class ThreadSigner:
    """The in-process signer on a loop thread, called like the socket client: ``call(op, **params)``."""

    def __init__(self, signer: InProcessSigner) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.signer = signer
        self.service = self.run(signer.start())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def call(self, op: str, **params: Any) -> Any:
        return self.run(self.service.handle(op, params, OPERATOR))

    def close(self) -> None:
        self.run(self.service.shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.signer.dispose()


@pytest.fixture
def signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadSigner]:
    for name in list(os.environ):
        if name.startswith("BASTION_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    monkeypatch.setenv("BASTION_HOME", str(home))
    monkeypatch.setenv("BASTION_KDF_PROFILE", "test")
    layout = HomeLayout(home)
    passphrase = "test-pass-" + secrets.token_hex(12)
    create_vault(layout, passphrase)
    running = ThreadSigner(InProcessSigner(layout=layout, passphrase=passphrase))
    yield running
    running.close()


def _closes(sim: SimulatorProcess) -> dict[str, Decimal]:
    """The simulator's own current prices (its admin state), by BASEQUOTE."""
    return {s.replace("-", ""): Decimal(str(v["close"])) for s, v in sim.state()["symbols"].items()}


def _valued(sim: SimulatorProcess, account: str) -> Decimal:
    closes = _closes(sim)
    usdt = {"USDT": Decimal(1), "BTC": closes["BTCUSDT"], "ETH": closes["ETHBTC"] * closes["BTCUSDT"]}
    total = Decimal(0)
    for asset, entry in sim.balances(account).items():
        total += (Decimal(entry["free"]) + Decimal(entry["locked"])) * usdt[asset]
    return total


def test_portfolio_totals_equal_the_simulator_balances_at_the_simulator_prices(tmp_path: Path, signer: ThreadSigner):
    binance_keys = [make_key("alice", {"USDT": "10000", "BTC": "1", "ETH": "3"})]
    kucoin_keys = [make_key("kim", {"USDT": "500", "BTC": "0.25", "ETH": "2"}, passphrase=True)]
    with (
        SimulatorProcess(tmp_path / "b", markets=MARKETS, keys=binance_keys) as binance,
        SimulatorProcess(tmp_path / "k", markets=MARKETS, keys=kucoin_keys, extra_args=KUCOIN_FLAVOR) as kucoin,
    ):
        signer.run(signer.signer.add_key(signer.service, binance, "alice"))
        signer.run(signer.signer.add_key(signer.service, kucoin, "kim", exchange="simulator-kucoin"))
        result = portfolio(quote="USDT", signer=signer)
        expected_binance, expected_kucoin = _valued(binance, "alice"), _valued(kucoin, "kim")
    assert result.by_exchange == {"simulator": expected_binance, "simulator-kucoin": expected_kucoin}
    assert result.total == expected_binance + expected_kucoin
    [eth] = [h for a in result.accounts if a.account == "kim" for h in a.holdings if h.asset == "ETH"]
    assert eth.route == ("ETH/BTC", "BTC/USDT")
    assert result.by_asset["ETH"][0] == 5
    assert result.unpriced == ()
    assert result.paper == ()
