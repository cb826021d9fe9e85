"""KuCoin request authentication, checked on the raw request exactly as KuCoin does.

A private request carries five headers:

- ``KC-API-KEY``: the API key;
- ``KC-API-TIMESTAMP``: epoch milliseconds, within five seconds of the server's clock;
- ``KC-API-SIGN``: ``base64(HMAC-SHA256(secret, timestamp + method + endpoint + body))``, where
  ``endpoint`` is the request path with its query string exactly as sent (``/api/v1/orders?
  status=active``) and ``body`` the raw JSON body ('' for GET and DELETE);
- ``KC-API-PASSPHRASE``: for version-2 (and 3) keys ``base64(HMAC-SHA256(secret, passphrase))``;
- ``KC-API-KEY-VERSION``: ``2`` (the simulator's keys are version-2 keys; ``3`` signs the same way).

What a key may do comes from its keys-file restrictions (Binance's names, shared by both
fronts); :data:`PERMISSIONS` maps KuCoin's permission names onto them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping

from bastion.exchanges.simulator.keys import KeyEntry
from bastion.exchanges.simulator.kucoin import errors as K
from bastion.exchanges.simulator.kucoin.errors import KucoinError

__all__ = ["PERMISSIONS", "TIMESTAMP_WINDOW_MS", "KucoinKeyRing", "passphrase_header", "signature"]

#: How far KC-API-TIMESTAMP may be from the server's clock, either way.
TIMESTAMP_WINDOW_MS = 5000
#: KuCoin API-key permission -> the keys-file restriction that grants it.
PERMISSIONS: dict[str, str] = {
    "General": "enableReading",
    "Spot": "enableSpotAndMarginTrading",
    "Margin": "enableMargin",
    "Futures": "enableFutures",
    "Withdrawal": "enableWithdrawals",
    "InnerTransfer": "enableInternalTransfer",
    "Transfer": "permitsUniversalTransfer",
}
_VERSIONS = ("2", "3")
_HEADERS = ("KC-API-KEY", "KC-API-SIGN", "KC-API-TIMESTAMP", "KC-API-PASSPHRASE")


def _b64_hmac(secret: bytes, message: bytes) -> bytes:
    return base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest())


def signature(secret: str, timestamp: str, method: str, endpoint: str, body: bytes = b"") -> str:
    """Return KC-API-SIGN for a request (what a KuCoin client computes)."""
    payload = (timestamp + method.upper() + endpoint).encode() + body
    return _b64_hmac(secret.encode(), payload).decode()


def passphrase_header(secret: str, passphrase: str) -> str:
    """Return KC-API-PASSPHRASE of a version-2 key."""
    return _b64_hmac(secret.encode(), passphrase.encode()).decode()


def _unauthorized(code: str, msg: str) -> KucoinError:
    return KucoinError(code, msg, status=401)


class KucoinKeyRing:
    """The configured API keys, by key; every key needs a passphrase."""

    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self._keys: dict[str, tuple[KeyEntry, bytes]] = {}
        for entry in entries:
            if not entry.passphrase:
                raise ValueError(
                    f"api key {entry.hint} has no passphrase; KuCoin keys need one "
                    f"(`bastion exchange keygen --flavor kucoin` writes it)"
                )
            self._keys[entry.api_key] = (entry, entry.secret.encode())

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KucoinKeyRing({len(self._keys)} keys)"

    def entries(self) -> list[KeyEntry]:
        """Return the key entries."""
        return [entry for entry, _ in self._keys.values()]

    def verify(
        self, headers: Mapping[str, str], method: str, endpoint: str, body: bytes, now_ms: int, permission: str | None
    ) -> KeyEntry:
        """Authenticate a private request and return its key.

        Parameters
        ----------
        headers
            The request headers (case-insensitive mapping).
        method
            ``GET``, ``POST`` or ``DELETE``.
        endpoint
            The raw path and query string as received.
        body
            The raw body.
        now_ms
            The server's clock.
        permission
            KuCoin permission the endpoint needs (``General``, ``Spot``), or None for any key.

        Raises
        ------
        KucoinError
            401 with 400001 (header missing), 400003 (unknown key), 400004 (passphrase),
            400005 (signature), 400002 (timestamp); 400007 (403) for a missing permission.
        """
        missing = [name for name in _HEADERS if not headers.get(name)]
        if missing:
            raise _unauthorized(
                K.MISSING_HEADER,
                "Please check the header of your request for KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, "
                f"KC-API-PASSPHRASE (missing: {', '.join(missing)})",
            )
        found = self._keys.get(headers["KC-API-KEY"])
        if found is None:
            raise _unauthorized(K.UNKNOWN_KEY, "KC-API-KEY not exists")
        entry, secret = found
        version = headers.get("KC-API-KEY-VERSION") or "1"
        if version not in _VERSIONS:
            raise _unauthorized(K.BAD_PASSPHRASE, f"Invalid KC-API-KEY-VERSION {version!r}; this key is version 2")
        expected_passphrase = _b64_hmac(secret, (entry.passphrase or "").encode())
        if not hmac.compare_digest(expected_passphrase, headers["KC-API-PASSPHRASE"].encode()):
            raise _unauthorized(K.BAD_PASSPHRASE, "Invalid KC-API-PASSPHRASE")
        timestamp = headers["KC-API-TIMESTAMP"]
        payload = (timestamp + method + endpoint).encode() + body
        if not hmac.compare_digest(_b64_hmac(secret, payload), headers["KC-API-SIGN"].encode()):
            raise _unauthorized(K.BAD_SIGNATURE, "Signature error - Please check your signature")
        if not timestamp.isdigit() or abs(now_ms - int(timestamp)) > TIMESTAMP_WINDOW_MS:
            raise _unauthorized(
                K.BAD_TIMESTAMP, "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than 5 seconds"
            )
        if permission is not None and not entry.allows(PERMISSIONS[permission]):
            raise KucoinError(K.ACCESS_DENIED, "Access denied, require more permission.", status=403)
        return entry

    def permissions(self, entry: KeyEntry) -> list[str]:
        """Return the KuCoin permissions of ``entry``, in KuCoin's order."""
        return [name for name, restriction in PERMISSIONS.items() if entry.allows(restriction)]
