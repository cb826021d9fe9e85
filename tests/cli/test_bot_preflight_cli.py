"""Pre-flight through the real CLI, simulator and signer: an oversized bot is refused at create
with the numbers; `bot start` needs the signer and warns when no engine runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.custody import BastionHome
from support.engine_stack import DCA
from support.simulator import SimulatorProcess, make_key


@pytest.fixture
def home(tmp_path: Path) -> Iterator[BastionHome]:
    keys = [make_key("alice", {"USDT": "10000", "BTC": "0"})]
    with BastionHome() as bastion, SimulatorProcess(tmp_path, speed=0, keys=keys) as sim:
        bastion.init_vault()
        bastion.start_signer()
        assert bastion.add_key("alice", sim).returncode == 0
        bastion.allow("alice", "BTC/USDT")  # the default limits: 1000 USDT per order, 10000 a day
        yield bastion


def _write(home: BastionHome, name: str, toml: str) -> str:
    path = home.home / f"{name}.toml"
    path.write_text(toml)
    return str(path)


def test_an_oversized_bot_is_refused_at_create_and_start_needs_the_signer(home: BastionHome) -> None:
    oversized = DCA.replace('name = "dca1"', 'name = "big"').replace(
        'base_order_size = "20"', 'base_order_size = "20000"'
    )
    refused = home.cli("bot", "create", "--config", _write(home, "big", oversized))
    assert refused.returncode == 2
    assert "bot big would be refused on account alice" in refused.stderr
    assert "BTC/USDT base order (buy" in refused.stderr
    assert "20000 USDT asked, limit 1000 USDT (rule max_order_notional)" in refused.stderr
    assert "20040 USDT asked, limit 10000 USDT (rule max_daily_notional)" in refused.stderr
    assert "20040 USDT asked, limit 10000 USDT (rule free_balance)" in refused.stderr
    assert json.loads(home.ok("bot", "list", "--json").stdout) == []

    home.ok("bot", "create", "--config", _write(home, "dca1", DCA))
    started = home.ok("bot", "start", "dca1")
    assert "warning: no engine is running on this database: start one with `bastion engine`" in started.stderr
    home.ok("bot", "stop", "dca1")

    home.stop_signer()
    blind = home.cli("bot", "start", "dca1")
    assert blind.returncode == 2
    assert "cannot check bot dca1 against account alice's policy and balance: no signer answers" in blind.stderr
    (bot,) = json.loads(home.ok("bot", "list", "--json").stdout)
    assert (bot["name"], bot["status"]) == ("dca1", "stopped")
    created = home.ok("bot", "create", "--config", _write(home, "dca2", DCA.replace('"dca1"', '"dca2"')))
    assert "warning: the signer did not answer, so the account's policy and free balance were not checked" in (
        created.stderr
    )
