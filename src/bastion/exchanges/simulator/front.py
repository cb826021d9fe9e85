"""What the HTTP server needs from an exchange front (Binance or KuCoin wire format).

A *front* turns HTTP requests into calls on the shared venue and renders answers and errors as
its exchange does. The server keeps everything else: routing of ``/_sim/``, faults, replay.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from bastion.exchanges.simulator.api import BinanceApi, Route
from bastion.exchanges.simulator.apierrors import (
    DISCONNECTED,
    MSG_TOO_MANY_REQUESTS,
    SERVER_BUSY,
    TIMEOUT,
    TOO_MANY_REQUESTS,
    UNKNOWN,
    ApiError,
)
from bastion.exchanges.simulator.format import dumps
from bastion.exchanges.simulator.keys import KeyEntry
from bastion.exchanges.simulator.market_data import MarketData
from bastion.exchanges.simulator.matching import Clock
from bastion.exchanges.simulator.venue import Venue

__all__ = ["ApiState", "BinanceFront", "Front", "Keys"]

_JSON = "application/json"
_NOT_FOUND = (
    b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    b"<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_5XX_BODIES = {
    500: (DISCONNECTED, "Internal error; unable to process your request. Please try again."),
    502: (TIMEOUT, "Timeout waiting for response from backend server. Send status unknown; execution status unknown."),
    503: (SERVER_BUSY, "Server is currently overloaded with other requests. Please try again in a few minutes."),
    504: (TIMEOUT, "Timeout waiting for response from backend server. Send status unknown; execution status unknown."),
}


class Keys(Protocol):
    """The key ring as the admin API sees it."""

    def __len__(self) -> int: ...

    def entries(self) -> list[KeyEntry]: ...


class ApiState(Protocol):
    """What the admin API reads from a front's API object."""

    @property
    def venue(self) -> Venue: ...

    @property
    def keyring(self) -> Keys: ...

    @property
    def market_data(self) -> dict[str, MarketData]: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def started_ms(self) -> int: ...


class Front(Protocol):
    """One exchange's wire format over the venue."""

    @property
    def api(self) -> ApiState: ...

    def match(self, method: str, path: str) -> Any | None:
        """Return what :meth:`respond` needs to serve ``method path``, or None for an unknown path."""

    def respond(
        self,
        matched: Any,
        method: str,
        path: str,
        query: str,
        body: bytes,
        headers: Mapping[str, str],
        fill_fraction: Decimal | None,
    ) -> tuple[int, bytes]:
        """Serve one request: HTTP status and JSON body (errors included)."""

    def not_found(self) -> tuple[int, bytes, str]:
        """Return status, body and content type for a path the exchange does not have."""

    def rate_limited(self, retry_after: int) -> tuple[int, bytes, dict[str, str]]:
        """Return status, body and headers of a rate-limit refusal (``retry_after`` seconds)."""

    def server_error(self, status: int) -> tuple[bytes, str]:
        """Return body and content type of an injected 5xx answer."""

    def internal_error(self) -> tuple[int, bytes]:
        """Return status and body when a handler failed unexpectedly."""


class BinanceFront:
    """Binance's wire format: ``{"code": -N, "msg": ...}`` errors, X-MBX-APIKEY, query signatures."""

    def __init__(self, api: BinanceApi) -> None:
        self.api = api

    def match(self, method: str, path: str) -> Route | None:
        """Return the route of ``method path``."""
        return self.api.routes.get((method, path))

    def respond(
        self,
        matched: Route,
        method: str,
        path: str,
        query: str,
        body: bytes,
        headers: Mapping[str, str],
        fill_fraction: Decimal | None,
    ) -> tuple[int, bytes]:
        """Run the Binance handler; an ApiError becomes Binance's error answer."""
        try:
            raw_query = query.encode("utf-8", "surrogateescape")
            return 200, self.api.handle(matched, raw_query, body, headers.get("X-MBX-APIKEY"), fill_fraction)
        except ApiError as exc:
            return exc.status, dumps({"code": exc.code, "msg": exc.msg})

    def not_found(self) -> tuple[int, bytes, str]:
        """Binance's nginx 404 page."""
        return 404, _NOT_FOUND, "text/html"

    def rate_limited(self, retry_after: int) -> tuple[int, bytes, dict[str, str]]:
        """429 with -1003 and ``Retry-After``."""
        body = dumps({"code": TOO_MANY_REQUESTS, "msg": MSG_TOO_MANY_REQUESTS})
        return 429, body, {"Retry-After": str(retry_after)}

    def server_error(self, status: int) -> tuple[bytes, str]:
        """Binance's JSON 5xx bodies."""
        code, msg = _5XX_BODIES[status]
        return dumps({"code": code, "msg": msg}), _JSON

    def internal_error(self) -> tuple[int, bytes]:
        """-1000 with status 500."""
        return 500, dumps({"code": UNKNOWN, "msg": "An unknown error occurred while processing the request."})
