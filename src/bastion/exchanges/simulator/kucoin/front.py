"""KuCoin's wire format for the server: envelope, string error codes, rate-limit headers."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from bastion.exchanges.simulator.format import dumps
from bastion.exchanges.simulator.kucoin import errors as K
from bastion.exchanges.simulator.kucoin.api import KucoinApi, KucoinRoute
from bastion.exchanges.simulator.kucoin.errors import KucoinError

__all__ = ["KucoinFront"]

_JSON = "application/json"
#: KuCoin's spot quota per 30 s window (VIP 0), reported in gw-ratelimit-limit.
_QUOTA = 4000
_GATEWAY_PAGE = b"<html><head><title>%d</title></head><body><center><h1>%d</h1></center></body></html>"


def _body(code: str, msg: str) -> bytes:
    return dumps({"code": code, "msg": msg})


class KucoinFront:
    """KuCoin's wire format over :class:`KucoinApi`."""

    def __init__(self, api: KucoinApi) -> None:
        self.api = api

    def match(self, method: str, path: str) -> tuple[KucoinRoute, str] | None:
        """Return the route of ``method path`` and its path parameter."""
        return self.api.match(method, path)

    def respond(
        self,
        matched: tuple[KucoinRoute, str],
        method: str,
        path: str,
        query: str,
        body: bytes,
        headers: Mapping[str, str],
        fill_fraction: Decimal | None,
    ) -> tuple[int, bytes]:
        """Run the KuCoin handler; a KucoinError becomes KuCoin's error answer."""
        try:
            return 200, self.api.handle(matched, method, path, query, body, headers, fill_fraction)
        except KucoinError as exc:
            return exc.status, _body(exc.code, exc.msg)

    def not_found(self) -> tuple[int, bytes, str]:
        """404 with 404000."""
        return 404, _body(K.NOT_FOUND, "Not Found"), _JSON

    def rate_limited(self, retry_after: int) -> tuple[int, bytes, dict[str, str]]:
        """429 with 429000 and KuCoin's gateway headers (``gw-ratelimit-reset`` in milliseconds)."""
        headers = {
            "gw-ratelimit-limit": str(_QUOTA),
            "gw-ratelimit-remaining": "0",
            "gw-ratelimit-reset": str(retry_after * 1000),
        }
        return 429, _body(K.TOO_MANY_REQUESTS, K.MSG_TOO_MANY_REQUESTS), headers

    def server_error(self, status: int) -> tuple[bytes, str]:
        """500 answers 500000 in JSON; 502/503/504 come from the gateway as an HTML page."""
        if status == 500:
            return _body(K.INTERNAL, "Internal Server Error"), _JSON
        return _GATEWAY_PAGE % (status, status), "text/html"

    def internal_error(self) -> tuple[int, bytes]:
        """500 with 500000."""
        return 500, _body(K.INTERNAL, "Internal Server Error")
