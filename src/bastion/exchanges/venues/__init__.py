"""One module per exchange: everything Bastion knows about trading on it, in one place.

Each module (``binance``, ``kucoin``, ``okx``, ``bybit``, ``gate``, ``kraken``, ``coinbase`` and
the simulator flavors ``simulator``, ``simulator_kucoin``) defines ``VENUE``, a
:class:`Venue`: its ccxt options, the signer's endpoint allowlist, how to read and judge its
keys' permissions, the steps to revoke a key, the client-order-id parameter and its quirks.
Adding an exchange means adding one module here, listing it in ``_MODULES`` and writing its
tests (``tests/exchanges/venues/``).
"""

from __future__ import annotations

from types import MappingProxyType

from bastion.errors import ConfigError
from bastion.exchanges.venues import binance, bybit, coinbase, gate, kraken, kucoin, okx, simulator, simulator_kucoin
from bastion.exchanges.venues._venue import Endpoint, KeyWords, TradePaging, Venue

__all__ = [
    "ALIASES",
    "VENUES",
    "Endpoint",
    "KeyWords",
    "TradePaging",
    "Venue",
    "canonical_id",
    "find_venue",
    "get_venue",
]

_MODULES = (binance, kucoin, okx, bybit, gate, kraken, coinbase, simulator, simulator_kucoin)

#: Bastion exchange id -> its venue, in the order above.
VENUES: MappingProxyType[str, Venue] = MappingProxyType({m.VENUE.id: m.VENUE for m in _MODULES})
#: Accepted other names -> exchange id (``gateio`` -> ``gate``).
ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {alias: venue.id for venue in VENUES.values() for alias in venue.aliases}
)


def canonical_id(exchange_id: str) -> str:
    """Return ``exchange_id`` with aliases resolved (``gateio`` -> ``gate``); others unchanged."""
    return ALIASES.get(exchange_id, exchange_id)


def find_venue(exchange_id: str) -> Venue | None:
    """Return the venue of ``exchange_id`` (aliases accepted), or None when Bastion has no module for it."""
    return VENUES.get(canonical_id(exchange_id)) if isinstance(exchange_id, str) else None


def get_venue(exchange_id: str) -> Venue:
    """Return the venue of ``exchange_id`` (aliases accepted).

    Raises
    ------
    ConfigError
        Bastion has no module for it; the message names the supported ids.
    """
    venue = find_venue(exchange_id)
    if venue is None:
        raise ConfigError(
            f"Bastion has no exchange module for {exchange_id!r}; supported exchange ids: {', '.join(VENUES)}"
            + (f" (also accepted: {', '.join(f'{a} for {i}' for a, i in ALIASES.items())})" if ALIASES else "")
        )
    return venue
