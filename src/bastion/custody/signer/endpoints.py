"""The signer's HTTP allowlist: the only exchange endpoints a signer-held key is ever sent to.

:func:`guard_client` wraps a ccxt client's ``fetch`` (the one place every ccxt REST request
passes through, after signing and before any I/O). The wrapper refuses, with
:class:`~bastion.errors.ForbiddenEndpoint` and before a byte leaves the process, any request

- whose scheme and host are not one of the client's ``urls['api']`` origins as configured
  when the guard was installed;
- whose path is ambiguous: percent-encoding, ``.``/``..`` or empty segments (``//``), a
  trailing slash, or any character outside ``A-Z a-z 0-9 / _ . -``;
- whose exact (HTTP method, path) pair is not on the exchange's list below.

The lists live in the exchange modules (:mod:`bastion.exchanges.venues`, one per exchange):
each holds the public market data the signer reads for its own reference prices and the
private calls of its narrow RPC (place, cancel and get an order, open and closed orders,
balances, own trades, the key's permissions), spot only. Nothing that withdraws, transfers,
creates sub-accounts, changes API keys, borrows or touches margin/futures is on any list.
The paths are those ccxt 4.5.90 requests for the unified spot methods (read from its API
definitions, and checked by recording the requests of each unified method with the network
cut off: ``tests/exchanges/venues``).

The guard also sets the few ccxt options that keep the unified spot methods inside the lists
(spot markets only, no currency list, OKX single-order endpoint, KuCoin classic account without
margin symbol lists); see :func:`spot_options`.

Error messages name the method, the path and the exchange, never the query string or body
(they carry the request's signature).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from bastion.errors import ConfigError, ForbiddenEndpoint
from bastion.exchanges.venues import VENUES, Venue, get_venue

__all__ = ["SUPPORTED_EXCHANGES", "allowed_endpoints", "guard_client", "spot_options"]

#: Exchange ids the signer has an allowlist for.
SUPPORTED_EXCHANGES: tuple[str, ...] = tuple(VENUES)

_SEGMENT = r"[A-Za-z0-9_-]{1,128}"
_PATH_CHARS = re.compile(r"^[A-Za-z0-9/_.-]+$")
_METHOD = re.compile(r"^[A-Z]{3,7}$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_GUARD_MARK = "__bastion_endpoint_guard__"
_SHOWN = 120  # longest path shown in a message


def _venue(exchange_id: str) -> Venue:
    try:
        return get_venue(exchange_id)
    except ConfigError:
        raise ConfigError(
            f"the signer has no endpoint allowlist for exchange {exchange_id!r}; "
            f"supported exchange ids: {', '.join(SUPPORTED_EXCHANGES)}"
        ) from None


def _supported(exchange_id: str) -> tuple[tuple[str, str, str], ...]:
    return tuple((e.method, e.path, e.why) for e in _venue(exchange_id).endpoints)


def allowed_endpoints(exchange_id: str) -> tuple[tuple[str, str], ...]:
    """Return the (HTTP method, path) pairs the signer may call on ``exchange_id``.

    Paths may hold ``{name}`` placeholders, each standing for one segment of letters, digits,
    ``_`` or ``-`` (such as a KuCoin order id).

    Raises
    ------
    ConfigError
        No allowlist for ``exchange_id``; the message names the supported ids.
    """
    return tuple((method, path) for method, path, _ in _supported(exchange_id))


def spot_options(exchange_id: str) -> dict[str, Any]:
    """Return the ccxt ``options`` that keep the unified spot methods inside the allowlist.

    :func:`guard_client` applies them; they are exposed so callers can see what it changes.

    Raises
    ------
    ConfigError
        No allowlist for ``exchange_id``.
    """
    return _venue(exchange_id).client_options()


def _compile(
    entries: tuple[tuple[str, str, str], ...],
) -> tuple[frozenset[tuple[str, str]], tuple[tuple[str, re.Pattern[str]], ...]]:
    exact = frozenset((m, p) for m, p, _ in entries if "{" not in p)
    templates = tuple(
        (m, re.compile("^" + re.sub(r"\\\{[A-Za-z_]+\\\}", _SEGMENT, re.escape(p)) + "$"))
        for m, p, _ in entries
        if "{" in p
    )
    return exact, templates


def _api_urls(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _api_urls(item)


def _origin(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int]:
    scheme = scheme.lower()
    return scheme, (host or "").lower(), port if port is not None else (443 if scheme == "https" else 80)


def _configured_origins(client: Any) -> frozenset[tuple[str, str, int]]:
    implode = getattr(client, "implode_hostname", None)
    origins = set()
    for url in _api_urls(getattr(client, "urls", {}).get("api")):
        parts = urlsplit(implode(url) if implode is not None else url)
        if parts.scheme and parts.hostname:
            origins.add(_origin(parts.scheme, parts.hostname, parts.port))
    return frozenset(origins)


def _show(path: str) -> str:
    return repr(path if len(path) <= _SHOWN else path[:_SHOWN] + "...")


def _path_problem(path: str) -> str | None:
    """Return why ``path`` is ambiguous, or None when it is a plain canonical path."""
    if not path.startswith("/"):
        return "it does not start with '/'"
    if "%" in path:
        return "it holds percent-encoded characters"
    if _PATH_CHARS.match(path) is None:
        return "it holds characters outside letters, digits, '/', '_', '.' and '-'"
    if path != "/" and path.endswith("/"):
        return "it ends with '/'"
    segments = path.split("/")[1:]
    if "" in segments:
        return "it holds an empty segment ('//')"
    if "." in segments or ".." in segments:
        return "it holds a '.' or '..' segment"
    return None


class _Guard:
    """The check one guarded client runs before every request."""

    def __init__(self, exchange_id: str, origins: frozenset[tuple[str, str, int]]) -> None:
        self.exchange_id = exchange_id
        self.origins = origins
        self.exact, self.templates = _compile(_supported(exchange_id))

    def _refuse(self, method: str, path: str, why: str) -> ForbiddenEndpoint:
        return ForbiddenEndpoint(
            f"signer refused {method} {_show(path)} on {self.exchange_id}: {why}; nothing was sent",
            exchange=self.exchange_id,
            method=method,
            path=path,
        )

    def check(self, client: Any, url: str, method: str) -> None:
        """Raise ForbiddenEndpoint unless ``method url`` is on the allowlist."""
        shown_method = method if isinstance(method, str) and len(method) <= 10 else "?"
        try:
            parts = urlsplit(url)
            port = parts.port
        except (ValueError, TypeError, AttributeError):
            raise self._refuse(shown_method, "?", "the URL cannot be parsed") from None
        path = parts.path
        if not isinstance(method, str) or _METHOD.match(method) is None:
            raise self._refuse(shown_method, path, "the HTTP method is not an upper-case word such as GET")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            raise self._refuse(method, path, "the URL carries user information before the host")
        if parts.fragment:
            raise self._refuse(method, path, "the URL carries a fragment ('#')")
        if _origin(parts.scheme, parts.hostname, port) not in self.origins:
            expected = ", ".join(sorted(f"{s}://{h}:{p}" for s, h, p in self.origins)) or "none"
            raise self._refuse(
                method,
                path,
                f"{parts.scheme}://{parts.hostname}:{port or '-'} is not one of the client's configured API hosts "
                f"({expected})",
            )
        problem = _path_problem(path)
        if problem is not None:
            raise self._refuse(method, path, f"the path is ambiguous: {problem}")
        if (method, path) in self.exact:
            pass
        elif not any(m == method and pattern.match(path) for m, pattern in self.templates):
            raise self._refuse(
                method,
                path,
                f"it is not on the signer's allowlist of {len(self.exact) + len(self.templates)} "
                f"{self.exchange_id} endpoints (spot market data, orders, balances, own trades, key permissions)",
            )
        if client.check_proxy_url_settings(url, method, None, None) is not None:
            raise self._refuse(method, path, "the client has a URL-rewriting proxy, which would receive the request")


def _apply_spot_options(client: Any, venue: Venue) -> None:
    for name, value in venue.client_options().items():
        current = client.options.get(name)
        if isinstance(value, dict) and isinstance(current, dict):
            client.options[name] = {**current, **value}
        else:
            client.options[name] = value
    # ccxt's load_markets calls fetch_currencies when has['fetchCurrencies'] is True; on these
    # exchanges that is a private wallet endpoint (withdrawal fees and networks).
    client.has = {**client.has, "fetchCurrencies": False}
    if venue.patch_client is not None:
        venue.patch_client(client)


def guard_client(client: Any, exchange_id: str) -> Any:
    """Install the allowlist guard on a ccxt client (sync or asyncio) and return the client.

    Call it once the client's URLs are final: the API hosts are read now, and a request to any
    other host is refused later. The client's ``fetch`` is replaced on the instance by a wrapper
    that checks the host, the path and the method before any I/O (an ``async def`` wrapper for
    ``ccxt.async_support`` clients), and the options of :func:`spot_options` are applied.

    Parameters
    ----------
    client
        A ``ccxt.Exchange`` or ``ccxt.async_support`` client of the matching class (ccxt's
        ``binance`` for ``"simulator"``, ``kucoin`` for ``"simulator-kucoin"``).
    exchange_id
        An id of :data:`SUPPORTED_EXCHANGES` (or an alias such as ``"gateio"``).

    Raises
    ------
    ConfigError
        No allowlist for ``exchange_id``; a client of another exchange; a simulator client whose
        API hosts are not on loopback; a client already guarded for another exchange id; or a
        client without API URLs.
    """
    venue = _venue(exchange_id)
    exchange_id = venue.id
    client_id = getattr(client, "id", None)
    expected_id = venue.ccxt_id
    if client_id != expected_id:
        raise ConfigError(
            f"guard_client: expected a ccxt {expected_id!r} client for exchange id {exchange_id!r}, got {client_id!r}"
        )
    existing = getattr(client.fetch, _GUARD_MARK, None)
    if existing is not None:
        if existing != exchange_id:
            raise ConfigError(
                f"this client is already guarded for {existing!r}; it cannot be re-guarded for {exchange_id!r}"
            )
        return client
    origins = _configured_origins(client)
    if not origins:
        raise ConfigError(f"guard_client: the {client_id} client has no API URLs in urls['api']")
    if venue.simulator and any(host not in _LOOPBACK_HOSTS for _, host, _ in origins):
        raise ConfigError(
            f"guard_client: a {exchange_id!r} client must point at loopback (127.0.0.1); "
            f"its API hosts are {', '.join(sorted({h for _, h, _ in origins}))}"
        )
    guard = _Guard(exchange_id, origins)
    original = client.fetch
    if inspect.iscoroutinefunction(original):

        async def fetch_async(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            guard.check(client, url, method)
            return await original(url, method, headers, body)

        wrapper: Any = fetch_async
    else:

        def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            guard.check(client, url, method)
            return original(url, method, headers, body)

        wrapper = fetch
    setattr(wrapper, _GUARD_MARK, exchange_id)
    _apply_spot_options(client, venue)
    client.fetch = wrapper
    return client
