"""Build ccxt clients: one factory for every ccxt exchange and for the local simulator."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import ccxt

from bastion.errors import ValidationError
from bastion.exchanges.credentials import ApiCredentials
from bastion.exchanges.venues import VENUES, canonical_id, find_venue

__all__ = ["KUCOIN_SIMULATOR_ID", "SIMULATOR_ID", "SIMULATOR_IDS", "create_client", "simulator_urls"]

#: Exchange id that selects the local Binance-compatible simulator.
SIMULATOR_ID = "simulator"
#: Exchange id that selects the local simulator served with ``--flavor kucoin``.
KUCOIN_SIMULATOR_ID = "simulator-kucoin"
#: Simulator ids -> the real ccxt client pointed at them.
SIMULATOR_IDS: dict[str, str] = {v.id: v.ccxt_id for v in VENUES.values() if v.simulator}

_LOOPBACK = ("127.", "localhost", "[::1]", "::1")


def simulator_urls(api_urls: dict[str, Any], base_url: str) -> dict[str, Any]:
    """Return ccxt ``urls['api']`` with every entry's scheme and host replaced by ``base_url``.

    The path of each entry is kept (``/api/v3``, ``/sapi/v1``, ...), so the simulator serves
    Binance's own paths.
    """
    base = base_url.rstrip("/")
    rewritten: dict[str, Any] = {}
    for name, url in api_urls.items():
        if isinstance(url, str):
            rewritten[name] = base + urlsplit(url).path
        elif isinstance(url, dict):
            rewritten[name] = simulator_urls(url, base_url)
        else:
            rewritten[name] = url
    return rewritten


def create_client(
    exchange_id: str,
    *,
    asynchronous: bool = False,
    credentials: ApiCredentials | None = None,
    url: str | None = None,
    timeout_ms: int = 10_000,
    options: dict[str, Any] | None = None,
) -> Any:
    """Create a ccxt client (sync or async) for ``exchange_id``.

    Parameters
    ----------
    exchange_id
        A Bastion exchange id (:mod:`bastion.exchanges.venues`; its ccxt options are applied,
        aliases such as ``"gateio"`` accepted) or any other ccxt id, or ``"simulator"`` for the
        local Binance-compatible simulator, ``"simulator-kucoin"`` for the simulator served with
        ``--flavor kucoin`` (both then need ``url``; the real ccxt binance or kucoin client is
        built and only its URLs are pointed at the simulator).
    asynchronous
        Return a ``ccxt.async_support`` client instead of a sync one.
    credentials
        API key and secret (and passphrase for KuCoin) for private calls; None for public data only.
    url
        Base URL of the simulator, such as ``http://127.0.0.1:8765``.
    timeout_ms
        Request timeout in milliseconds.
    options
        Extra ccxt ``options`` merged over Bastion's defaults.

    Raises
    ------
    ValidationError
        Unknown exchange id, or a simulator without a loopback URL.
    """
    if asynchronous:  # imported on demand: half a second a synchronous caller (the CLI) never needs
        import ccxt.async_support as ccxt_async

        module: Any = ccxt_async
    else:
        module = ccxt
    venue = find_venue(exchange_id)
    simulator = venue is not None and venue.simulator
    ccxt_id = venue.ccxt_id if venue is not None else canonical_id(exchange_id)
    if ccxt_id not in ccxt.exchanges:
        raise ValidationError(
            f"unknown exchange id {exchange_id!r}: expected one of {', '.join(VENUES)} (or another ccxt "
            "exchange id)"
        )
    config: dict[str, Any] = {"timeout": timeout_ms, "enableRateLimit": True, "options": {}}
    if credentials is not None:
        config["apiKey"] = credentials.api_key
        config["secret"] = credentials.secret
        if credentials.password is not None:
            config["password"] = credentials.password
    if simulator:
        if not url:
            raise ValidationError("the simulator needs its URL, such as http://127.0.0.1:8765")
        host = urlsplit(url).hostname or ""
        if not host.startswith(_LOOPBACK) and host not in ("localhost", "::1"):
            raise ValidationError(f"the simulator URL must be on loopback (127.0.0.1), got {url!r}")
        config["enableRateLimit"] = False
    if venue is not None:
        config["options"].update(venue.client_options())
    if url and not simulator:
        raise ValidationError("a URL override is only for the simulator; live exchanges use ccxt's own URLs")
    if options:
        config["options"].update(options)
    client = getattr(module, ccxt_id)(config)
    if simulator and url:
        client.urls["api"] = simulator_urls(client.urls["api"], url)
    return client
