"""Helpers the venue modules share: reading key-permission answers, and the common revoke steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.errors import ExchangeError

__all__ = ["CANCEL", "CHECK", "RECREATE", "csv", "flag", "redact", "require", "unwrap"]

CHECK = (
    "Run `bastion keys check`: it lists orders on the exchange that Bastion did not send. Then review the spot "
    "order and trade history and the wallet's withdrawal and transfer history for anything you do not recognise."
)
CANCEL = "In the website's Orders menu, open the spot open orders and cancel every order you did not place."
RECREATE = (
    "Only if you keep trading there: create a new key with {perms} only, bind it to the signer's "
    "IP address ({ip}), and add it with `bastion keys add`."
)

_SECRET_FIELDS = frozenset({"secret", "secretkey", "apisecret", "passphrase", "password", "signature"})
_KEY_FIELDS = frozenset({"apikey", "api_key", "accesskey"})


def redact(value: Any) -> Any:
    """Return ``value`` with secret-like fields dropped and API keys shown as ``****abcd``."""
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for name, item in value.items():
            lowered = str(name).lower()
            if lowered in _SECRET_FIELDS:
                continue
            if lowered in _KEY_FIELDS and isinstance(item, str):
                result[name] = f"****{item[-4:]}" if item else item
            else:
                result[name] = redact(item)
        return result
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    return value


def flag(value: Any) -> bool:
    """Return True for ``True`` or the text ``"true"`` (any case)."""
    return value is True or str(value).strip().lower() == "true"


def unwrap(raw: Any, exchange: str, envelope: str | None, expected: str) -> dict[str, Any]:
    """Return the payload object of an exchange answer, given whole or already unwrapped."""
    if not isinstance(raw, Mapping):
        raise ExchangeError(f"{exchange} answered the key-permission query with {type(raw).__name__}; {expected}")
    if envelope is not None and envelope in raw:
        payload = raw[envelope]
        if isinstance(payload, list):
            if len(payload) != 1 or not isinstance(payload[0], Mapping):
                raise ExchangeError(
                    f"{exchange} answered the key-permission query with {len(payload)} entries in "
                    f"{envelope!r}; {expected}"
                )
            payload = payload[0]
        if not isinstance(payload, Mapping):
            raise ExchangeError(
                f"{exchange} answered the key-permission query without an object in {envelope!r}; {expected}"
            )
        return dict(payload)
    return dict(raw)


def require(payload: Mapping[str, Any], name: str, exchange: str, expected: str) -> Any:
    """Return ``payload[name]``; raise ExchangeError naming the fields there are when it is missing."""
    if name not in payload:
        fields = ", ".join(sorted(str(k) for k in payload)[:12]) or "none"
        raise ExchangeError(
            f"{exchange} answered the key-permission query without {name!r} (fields: {fields}); {expected}"
        )
    return payload[name]


def csv(value: Any) -> list[str]:
    """Return the items of a comma-separated text or a list, stripped, empty ones dropped."""
    if value is None:
        return []
    items = [str(v) for v in value] if isinstance(value, list | tuple) else str(value).split(",")
    return [item.strip() for item in items if item.strip()]
