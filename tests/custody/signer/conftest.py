"""Fixtures for the signer's end-to-end tests: real simulator, real CLI, real signer process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.custody import BastionHome
from support.simulator import SimulatorProcess, make_key


@pytest.fixture
def home() -> Iterator[BastionHome]:
    """A fresh Bastion home with an initialised vault (signer not started)."""
    with BastionHome() as bastion:
        bastion.init_vault()
        yield bastion


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimulatorProcess]:
    """The simulator held still; "alice" has 10000 USDT and 1 BTC."""
    with SimulatorProcess(tmp_path, speed=0, keys=[make_key("alice", {"USDT": "10000", "BTC": "1"})]) as process:
        yield process


@pytest.fixture
def trading(home: BastionHome, sim: SimulatorProcess) -> tuple[BastionHome, SimulatorProcess]:
    """Signer running, alice's key added, BTC/USDT allowed with default limits."""
    home.start_signer()
    added = home.add_key("alice", sim)
    assert added.returncode == 0, added.stderr
    home.allow("alice", "BTC/USDT")
    return home, sim
