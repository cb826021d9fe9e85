"""Binance request authentication: API key header, HMAC-SHA256 signature, timestamp window.

Binance signs ``totalParams``: the raw query string concatenated with the raw request body, no
separator, with the ``signature=...`` parameter taken out of whichever part carries it. The
check here works on those raw bytes, so a client that signs anything else than what it sends
is refused exactly as Binance refuses it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from bastion.exchanges.simulator import apierrors as E
from bastion.exchanges.simulator.apierrors import ApiError, mandatory
from bastion.exchanges.simulator.keys import KEY_PATTERN, KeyEntry

__all__ = ["DEFAULT_RECV_WINDOW", "MAX_RECV_WINDOW", "KeyRing", "split_signature"]

DEFAULT_RECV_WINDOW = 5000
MAX_RECV_WINDOW = 60000
_SIG = b"signature="


def split_signature(raw: bytes) -> tuple[bytes, bytes | None]:
    """Return ``raw`` without its ``signature=`` parameter, and the signature value (or None).

    Raises
    ------
    ApiError
        -1101 when ``signature`` appears more than once.
    """
    if _SIG not in raw:
        return raw, None
    parts = raw.split(b"&")
    kept: list[bytes] = []
    signature: bytes | None = None
    for part in parts:
        if part.startswith(_SIG):
            if signature is not None:
                raise ApiError(-1101, "Duplicate values for a parameter detected.")
            signature = part[len(_SIG) :]
        else:
            kept.append(part)
    return b"&".join(kept), signature


def _unauthorized(code: int, msg: str) -> ApiError:
    return ApiError(code, msg, status=401)


class KeyRing:
    """The configured API keys, by key."""

    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self._keys: dict[str, tuple[KeyEntry, bytes]] = {e.api_key: (e, e.secret.encode()) for e in entries}

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing({len(self._keys)} keys)"

    def entries(self) -> list[KeyEntry]:
        """Return the key entries."""
        return [entry for entry, _ in self._keys.values()]

    def identify(self, api_key: str | None) -> KeyEntry:
        """Return the entry of ``api_key`` (the X-MBX-APIKEY header).

        Raises
        ------
        ApiError
            401 -2014 when the header is missing or malformed, 401 -2015 when the key is unknown.
        """
        if not api_key or KEY_PATTERN.match(api_key) is None:
            raise _unauthorized(E.BAD_API_KEY_FMT, E.MSG_BAD_KEY_FORMAT)
        found = self._keys.get(api_key)
        if found is None:
            raise _unauthorized(E.REJECTED_MBX_KEY, E.MSG_REJECTED_KEY)
        return found[0]

    def verify(
        self,
        api_key: str | None,
        raw_query: bytes,
        raw_body: bytes,
        params: dict[str, str],
        now_ms: int,
        permission: str | None,
    ) -> KeyEntry:
        """Authenticate a signed request and return its key.

        Parameters
        ----------
        api_key
            The X-MBX-APIKEY header.
        raw_query, raw_body
            The query string and body exactly as received.
        params
            The decoded parameters (query over body).
        now_ms
            The server's wall clock.
        permission
            The restriction the endpoint needs, such as ``enableSpotAndMarginTrading``.

        Raises
        ------
        ApiError
            -2014/-2015 (401) for the key, -1102 for a missing signature or timestamp, -1022
            for a wrong signature, -1131/-1021 for the receive window, -2015 for a permission.
        """
        entry = self.identify(api_key)
        secret = self._keys[entry.api_key][1]
        query, sig_q = split_signature(raw_query)
        body, sig_b = split_signature(raw_body)
        if sig_q is not None and sig_b is not None:
            raise ApiError(-1101, "Duplicate values for a parameter detected.")
        signature = sig_q if sig_q is not None else sig_b
        if not signature:
            raise mandatory("signature")
        expected = hmac.new(secret, query + body, hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, signature.lower()):
            raise ApiError(E.INVALID_SIGNATURE, E.MSG_BAD_SIGNATURE)
        self._check_window(params, now_ms)
        if permission is not None and not entry.allows(permission):
            raise _unauthorized(E.REJECTED_MBX_KEY, E.MSG_REJECTED_KEY)
        return entry

    @staticmethod
    def _check_window(params: dict[str, str], now_ms: int) -> None:
        raw_ts = params.get("timestamp")
        if not raw_ts:
            raise mandatory("timestamp")
        try:
            timestamp = int(raw_ts)
        except ValueError:
            raise mandatory("timestamp") from None
        raw_window = params.get("recvWindow")
        window = Decimal(DEFAULT_RECV_WINDOW)
        if raw_window:
            try:
                window = Decimal(raw_window)
            except InvalidOperation:
                raise E.bad_param("recvWindow", "^[0-9]{1,20}$") from None
            if not window.is_finite() or window <= 0 or window > MAX_RECV_WINDOW:
                raise ApiError(E.BAD_RECV_WINDOW, E.MSG_BAD_RECV_WINDOW)
        if timestamp >= now_ms + 1000:
            raise ApiError(E.INVALID_TIMESTAMP, E.MSG_AHEAD_OF_SERVER)
        if now_ms - timestamp > window:
            raise ApiError(E.INVALID_TIMESTAMP, E.MSG_OUTSIDE_RECV_WINDOW)
