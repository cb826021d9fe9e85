"""Fixtures of the engine end-to-end tests: simulator, signer and engine processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.custody import BastionHome
from support.engine_stack import Stack
from support.simulator import SimulatorProcess, make_key


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    keys = [make_key("alice", {"USDT": "10000", "BTC": "0"})]
    with BastionHome() as home, SimulatorProcess(tmp_path, speed=0, keys=keys) as sim:
        home.init_vault()
        home.start_signer()
        assert home.add_key("alice", sim).returncode == 0
        home.allow("alice", "BTC/USDT")
        running = Stack(home, sim)
        try:
            yield running
        finally:
            running.stop_engine()
            running.close_db()
