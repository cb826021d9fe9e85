"""Turn a caller's payload into loggable JSON: refuse secret-named keys, redact secret values."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from bastion.custody.audit._errors import AuditPayloadError, AuditSecretError
from bastion.errors import scrub

__all__ = ["SECRET_KEY_NAMES", "sanitize_payload"]

SECRET_KEY_NAMES = frozenset({"secret", "apisecret", "signature", "password", "passphrase", "privatekey"})
"""Normalised key names (lower case, only letters and digits) that are refused outright."""

_SECRET_KEY_PARTS = ("secret", "password", "passphrase", "privatekey")
_NON_ALNUM = re.compile(r"[^a-z0-9]")
_MAX_DEPTH = 32


@functools.lru_cache(maxsize=4096)
def _key_verdict(key: str) -> str | None:
    # Independent of the per-call secrets, so cached: payload keys repeat from entry to entry.
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "is not encodable as UTF-8 (lone surrogate); expected valid text"
    norm = _NON_ALNUM.sub("", key.lower())
    if norm in SECRET_KEY_NAMES or any(part in norm for part in _SECRET_KEY_PARTS):
        return "secret-name"
    if scrub(key) != key:
        return "secret-material"
    return None


def _encodable(text: str, where: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise AuditPayloadError(f"{where} is not encodable as UTF-8 (lone surrogate); expected valid text") from None
    return text


def _clean(value: Any, where: str, secrets: tuple[str, ...], depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise AuditPayloadError(f"{where} is nested deeper than {_MAX_DEPTH} levels")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return scrub(_encodable(value, where), *secrets)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise AuditPayloadError(f"{where} is {value}; expected a finite Decimal")
        return str(value)
    if isinstance(value, float):
        raise AuditPayloadError(
            f"{where} is the float {value!r}; expected Decimal, int or str (floats are not canonical)"
        )
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditPayloadError(f"{where} has a {type(key).__name__} key; expected str keys only")
            verdict = _key_verdict(key)
            if verdict is None and any(secret in key for secret in secrets):
                verdict = "secret-material"
            if verdict == "secret-name":
                raise AuditSecretError(
                    f"{where}.{key}: a key named like a secret is refused in audit payloads; "
                    "log a key id or fingerprint instead"
                )
            if verdict == "secret-material":
                raise AuditSecretError(f"{where} has a key that contains secret material; refused")
            if verdict is not None:
                raise AuditPayloadError(f"a key in {where} {verdict}")
            out[key] = _clean(item, f"{where}.{key}", secrets, depth + 1)
        return out
    if isinstance(value, list | tuple):
        return [_clean(item, f"{where}[{i}]", secrets, depth + 1) for i, item in enumerate(value)]
    raise AuditPayloadError(
        f"{where} is a {type(value).__name__}; expected dict, list, str, int, bool, None or Decimal"
    )


def sanitize_payload(payload: Mapping[str, Any], secrets: Iterable[str] = ()) -> dict[str, Any]:
    """Return a JSON-ready copy of ``payload`` with secret values masked.

    Keys named like secrets (``secret``, ``apiSecret``, ``api_secret``, ``signature``,
    ``password``, ``passphrase``, ``privateKey``, or containing ``secret``/``password``/
    ``passphrase``) are refused with :class:`AuditSecretError`: that is a bug in the caller.
    String values are passed through :func:`bastion.errors.scrub` with ``secrets``, so a
    known secret or a ``signature=...``/``apiKey: ...`` fragment becomes ``****``.
    Decimals become strings; floats, NaN and non-JSON types are refused.

    Parameters
    ----------
    payload
        A mapping with ``str`` keys.
    secrets
        Secret strings to mask wherever they appear in a string value.

    Returns
    -------
    dict
        The sanitised copy.
    """
    if not isinstance(payload, Mapping):
        raise AuditPayloadError(f"payload must be a mapping; given {type(payload).__name__}")
    known: list[str] = []
    for secret in secrets:
        if not isinstance(secret, str):
            raise AuditPayloadError(f"secrets must be str; given {type(secret).__name__}")
        if secret:
            known.append(secret)
    cleaned: dict[str, Any] = _clean(payload, "payload", tuple(known), 0)
    return cleaned
