"""The candle store builds file names from user input (--exchange, --pair, --timeframe): none may leave the store.

An attacker-chosen pair such as ``../../signer-key`` or an exchange such as ``..`` must be refused
before any file is read or written, so ``bastion data download/import/synth --store`` can never
overwrite or read a file outside ``$BASTION_HOME/data``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bastion.errors import ValidationError
from bastion.services.candle_files import CandleArrays
from bastion.services.candle_store import CandleStore


def _one_candle() -> CandleArrays:
    price = np.array([1.0])
    return CandleArrays(np.array([1_700_000_000_000], np.int64), price, price, price, price, price, timeframe_ms=60_000)


@pytest.mark.parametrize(
    ("exchange", "symbol", "timeframe"),
    [
        ("..", "BTC/USDT", "1m"),
        ("simulator", "../../VAULT/X", "1m"),
        ("simulator", "BTC/../../../X", "1m"),
        ("simulator", "BTC/USDT", "1m/../../x"),
        ("simulator/../..", "BTC/USDT", "1m"),
        ("simulator", "/etc/passwd", "1m"),
        ("simulator", "BTC/USDT\x00", "1m"),
    ],
)
def test_names_that_would_leave_the_store_are_refused(
    tmp_path: Path, exchange: str, symbol: str, timeframe: str
) -> None:
    root = tmp_path / "home" / "data"
    store = CandleStore(root)
    with pytest.raises(ValidationError, match="is not valid"):
        store.merge(exchange, symbol, timeframe, _one_candle())
    with pytest.raises(ValidationError, match="is not valid"):
        store.load(exchange, symbol, timeframe)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == []


def test_files_land_inside_the_store(tmp_path: Path) -> None:
    root = tmp_path / "data"
    store = CandleStore(root)
    store.merge("binance", "BTC/USDT:USDT", "1m", _one_candle())
    files = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert files == [root / "binance" / "BTC_USDT_USDT-1m.parquet", root / "binance" / "BTC_USDT_USDT-1m.parquet.lock"]


def test_a_new_home_and_store_are_private(tmp_path: Path) -> None:
    """``data download`` may be the first command run: the home it creates is 0700, like the database's."""
    home = tmp_path / "new-home"
    CandleStore(home / "data").merge("binance", "BTC/USDT", "1m", _one_candle())
    for folder in (home, home / "data", home / "data" / "binance"):
        assert folder.stat().st_mode & 0o777 == 0o700
    assert (home / "data" / "binance" / "BTC_USDT-1m.parquet").stat().st_mode & 0o077 == 0
