"""The local exchange simulator, Binance-spot-compatible or (``--flavor kucoin``) KuCoin-compatible.

The real ccxt ``binance`` (or ``kucoin``) client runs against it unmodified (only its URLs
point here). It replays recorded candles through a pure, clock-injected matching core and can
inject faults.

Modules: ``candles`` (CSV, aggregation), ``rules`` (filters), ``book`` (depth model),
``accounts`` (balances), ``matching`` (one symbol's engine), ``venue`` (all symbols),
``keys`` (keys file), ``auth`` (signatures), ``api`` (Binance endpoints), ``front`` (what the
server needs from a wire format), ``kucoin`` (the KuCoin front), ``admin`` (``/_sim/``),
``faults``, ``server`` (aiohttp), ``config``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bastion.exchanges.simulator.config import SimulatorConfig, bundled_market
    from bastion.exchanges.simulator.keys import KeyEntry, generate_entry, load_keys_file
    from bastion.exchanges.simulator.rules import MarketSpec, parse_market_option
    from bastion.exchanges.simulator.server import SimulatorServer, run

# Imported on first use, so that a backtest importing ``matching`` loads no HTTP server (aiohttp).
_LAZY = {
    "KeyEntry": "keys",
    "MarketSpec": "rules",
    "SimulatorConfig": "config",
    "SimulatorServer": "server",
    "bundled_market": "config",
    "generate_entry": "keys",
    "load_keys_file": "keys",
    "parse_market_option": "rules",
    "run": "server",
}

__all__ = [
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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
