"""Suite-wide fixtures.

``tests/`` is put on ``sys.path`` so helpers import as ``from support.simulator import ...``
from any test module, in any pytest import mode and under pytest-xdist.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from support.simulator import SimulatorProcess, make_key  # noqa: E402


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[SimulatorProcess]:
    """Run the real simulator held still (speed 0), one account "alice" with 10000 USDT and 1 BTC."""
    with SimulatorProcess(tmp_path, speed=0, keys=[make_key("alice", {"USDT": "10000", "BTC": "1"})]) as sim:
        yield sim
