"""Fixtures for the security tests: a home with a vault for an in-process signer, the simulator."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.custody.layout import HomeLayout
from bastion.services.vault import create_vault
from support.inprocess_signer import InProcessSigner
from support.simulator import SimulatorProcess, make_key


@pytest.fixture
def signer_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InProcessSigner]:
    """A fresh home with a vault (test KDF profile); the signer is started by the test."""
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
    signer = InProcessSigner(layout=layout, passphrase=passphrase)
    yield signer
    signer.dispose()


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimulatorProcess]:
    """The simulator held still; "alice" has 10000 USDT and 1 BTC."""
    with SimulatorProcess(tmp_path, speed=0, keys=[make_key("alice", {"USDT": "10000", "BTC": "1"})]) as process:
        yield process

