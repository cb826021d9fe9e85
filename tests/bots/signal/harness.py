"""Signal-bot tests run on the real engine core: :class:`support.core_harness.SignalHarness`."""

from __future__ import annotations

from bastion.bots.signal import SignalBot, SignalConfig
from support.core_harness import BTC_USDT, ETH_USDT, SignalHarness

__all__ = ["BTC_USDT", "ETH_USDT", "MARKETS", "T0_MS", "Harness", "signal_bot"]

T0_MS = SignalHarness.T0_MS
MARKETS = {"BTC/USDT": BTC_USDT, "ETH/USDT": ETH_USDT}
Harness = SignalHarness


def signal_bot(**overrides: object) -> SignalBot:
    """A BTC/USDT + ETH/USDT long signal bot sizing entries at 25 USDT; an override of None removes a field."""
    table: dict[str, object] = {
        "name": "tv-signals",
        "account": "main",
        "pairs": ["BTC/USDT", "ETH/USDT"],
        "order_size": "25",
    }
    table.update(overrides)
    return SignalBot(SignalConfig.from_mapping({k: v for k, v in table.items() if v is not None}))
