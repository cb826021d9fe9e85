"""Translate ccxt exceptions into Bastion's exception tree (see ``bastion.errors``)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import ccxt

from bastion import errors

__all__ = ["translate"]

_FILTER = re.compile(r"Filter failure|LOT_SIZE|PRICE_FILTER|NOTIONAL|MIN_NOTIONAL|Invalid quantity|Invalid price")
_CODE = re.compile(r'"code"\s*:\s*"?(-?\d+)')
#: KuCoin's refusals by code (KuCoin answers {"code": "600101", "msg": ...}): order value below
#: the market's minimum funds; a clientOid already in use.
_KUCOIN_FILTER_CODES = frozenset({"600101"})
_KUCOIN_DUPLICATE_CODES = frozenset({"126044"})
#: KuCoin's size and price grid refusals (code 400100 is shared with every bad parameter).
_KUCOIN_FILTER = re.compile(r"increment invalid|below the minimum requirement")

# Most specific ccxt class first: PermissionDenied is an AuthenticationError, OrderNotFound an
# InvalidOrder, InvalidNonce and RequestTimeout are NetworkErrors, and so on.
_MAP: tuple[tuple[type[Exception], type[errors.ExchangeError]], ...] = (
    (ccxt.AccountSuspended, errors.PermissionRefused),
    (ccxt.PermissionDenied, errors.PermissionRefused),
    (ccxt.AuthenticationError, errors.AuthenticationFailed),
    (ccxt.InvalidNonce, errors.TimestampRejected),
    (ccxt.BadSymbol, errors.BadSymbol),
    (ccxt.OrderNotFound, errors.OrderNotFound),
    (ccxt.InsufficientFunds, errors.InsufficientFunds),
    (ccxt.InvalidOrder, errors.OrderRejected),
    (ccxt.DDoSProtection, errors.RateLimited),
    (ccxt.RateLimitExceeded, errors.RateLimited),
    (ccxt.RequestTimeout, errors.NetworkTimeout),
    (ccxt.ExchangeNotAvailable, errors.ExchangeDown),
    (ccxt.NetworkError, errors.ExchangeUnavailable),
)


# ccxt words a failed connection (no answer at all) as "<id> <METHOD> <url>[ <detail>]".
_NO_ANSWER = re.compile(r"^\S+ (GET|POST|PUT|DELETE|PATCH) (https?://\S+)\s*(.*)$", re.DOTALL)


def _unreachable(message: str, exc: Exception, exchange: str | None) -> str:
    """Return "cannot reach <exchange> at <origin> ..." for a request that got no answer.

    Only the scheme, host and port are shown: the query of a signed request carries its signature.
    """
    match = _NO_ANSWER.match(message)
    if match is None:
        return message
    method, url, detail = match.groups()
    try:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        path = parts.path
    except ValueError:
        return message
    why = "no answer within the timeout" if isinstance(exc, ccxt.RequestTimeout) else "the connection failed"
    detail = detail.strip().split("?")[0][:160]
    return (
        f"cannot reach {exchange or 'the exchange'} at {origin} ({method} {path}): {why}"
        + (f" ({detail})" if detail else "")
        + "; check the network and the exchange's status page, or that the simulator is running at that URL"
    )


def _retry_after(client: Any) -> float | None:
    headers = getattr(client, "last_response_headers", None) or {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in ("retry-after", "gw-ratelimit-reset"):  # KuCoin: milliseconds until the quota resets
            try:
                seconds = float(value)
            except (TypeError, ValueError):
                return None
            return seconds / 1000 if lowered == "gw-ratelimit-reset" else seconds
    return None


def translate(exc: Exception, client: Any, *, exchange: str | None = None) -> errors.ExchangeError:
    """Return the Bastion error for a ccxt exception, its message scrubbed of secrets.

    Parameters
    ----------
    exc
        The exception ccxt raised.
    client
        The ccxt client that raised it (for its id, secret to scrub, and response headers).
    exchange
        Bastion's name of the exchange (such as ``"simulator-kucoin"``), for messages; the
        ccxt client's id by default.
    """
    exchange_id = getattr(client, "id", None)
    message = errors.scrub(str(exc), getattr(client, "secret", None), getattr(client, "apiKey", None))
    if isinstance(exc, ccxt.NetworkError) and not isinstance(exc, ccxt.DDoSProtection):
        message = _unreachable(message, exc, exchange or exchange_id)
    match = _CODE.search(message)
    code = match.group(1) if match else None
    if isinstance(exc, ccxt.InvalidOrder | ccxt.BadRequest) and (
        "Duplicate order" in message or code in _KUCOIN_DUPLICATE_CODES
    ):
        return errors.DuplicateOrder(message, exchange=exchange_id, code=code)
    if (
        isinstance(exc, ccxt.InvalidOrder | ccxt.BadRequest)
        and not isinstance(exc, ccxt.OrderNotFound)
        and (_FILTER.search(message) or code in _KUCOIN_FILTER_CODES or _KUCOIN_FILTER.search(message))
    ):
        return errors.FilterViolation(message, exchange=exchange_id, code=code)
    for ccxt_class, bastion_class in _MAP:
        if isinstance(exc, ccxt_class):
            if bastion_class is errors.RateLimited:
                return errors.RateLimited(message, exchange=exchange_id, code=code, retry_after=_retry_after(client))
            return bastion_class(message, exchange=exchange_id, code=code)
    return errors.ExchangeError(message, exchange=exchange_id, code=code)
