"""The signer RPC's error table: an exception to a refusal on the wire, and back to the same class.

Public names are re-exported by :mod:`bastion.custody.signer.rpc` (see its docstring).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from bastion.errors import (
    AuthenticationFailed,
    BadSymbol,
    BastionError,
    ConfigError,
    CustodyError,
    DuplicateFillError,
    DuplicateOrder,
    ExchangeDown,
    ExchangeError,
    ExchangeUnavailable,
    FilterViolation,
    ForbiddenEndpoint,
    InsufficientFunds,
    KeyRefused,
    MarketRuleError,
    NetworkTimeout,
    OrderNotFound,
    OrderRejected,
    OrderStateError,
    PermissionRefused,
    PolicyDenied,
    RateLimited,
    SignerBadRequest,
    SignerInternalError,
    SignerNotFound,
    SignerRefused,
    SignerUnauthorized,
    SignerUnavailable,
    StorageError,
    TimestampRejected,
    UnknownOperation,
    UnknownRefusal,
    ValidationError,
)

__all__ = ["error_from_wire", "error_to_wire", "outcome_unknown"]

#: The signer's own refusal kinds.
_SIGNER_KINDS: dict[str, type[SignerRefused]] = {
    cls.default_kind: cls
    for cls in (
        PolicyDenied,
        SignerBadRequest,
        SignerUnauthorized,
        SignerNotFound,
        UnknownOperation,
        SignerInternalError,
    )
}

#: Classes of :mod:`bastion.errors` that cross the socket under their own name.
_BY_NAME: dict[str, type[BastionError]] = {
    cls.__name__: cls
    for cls in (
        ValidationError,
        MarketRuleError,
        ConfigError,
        OrderStateError,
        DuplicateFillError,
        StorageError,
        CustodyError,
        ForbiddenEndpoint,
        KeyRefused,
        ExchangeError,
        AuthenticationFailed,
        PermissionRefused,
        TimestampRejected,
        BadSymbol,
        OrderRejected,
        InsufficientFunds,
        FilterViolation,
        DuplicateOrder,
        OrderNotFound,
        ExchangeUnavailable,
        RateLimited,
        NetworkTimeout,
        ExchangeDown,
    )
}


def error_to_wire(exc: BaseException) -> dict[str, Any]:
    """Return the refusal the signer answers for ``exc``: its kind, message and attributes.

    A class outside the table travels under its own name with ``family``, its nearest ancestor in
    the table, so the client can still raise something it knows.
    """
    error: dict[str, Any] = {"message": str(exc)}
    if isinstance(exc, SignerRefused):
        error["kind"] = exc.kind
        if exc.rule is not None:
            error["rule"] = exc.rule
            error["compared"] = {str(k): str(v) for k, v in exc.compared.items()}
        return error
    error["kind"] = type(exc).__name__
    if type(exc).__name__ not in _BY_NAME:
        family = next(
            (c.__name__ for c in type(exc).__mro__ if c.__name__ in _BY_NAME and issubclass(c, BaseException)), None
        )
        if family is not None:
            error["family"] = family
    if isinstance(exc, ExchangeError):
        error["exchange"] = exc.exchange
        error["code"] = exc.code
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            error["retry_after"] = format(Decimal(str(exc.retry_after)), "f")
    elif isinstance(exc, MarketRuleError):
        error["rule"] = exc.rule
        error["symbol"] = exc.symbol
    elif isinstance(exc, ForbiddenEndpoint):
        error.update(exchange=exc.exchange, method=exc.method, path=exc.path)
    elif isinstance(exc, KeyRefused):
        error["reasons"] = list(exc.reasons)
    return {k: v for k, v in error.items() if v is not None}


def _text(error: Mapping[str, Any], name: str) -> str | None:
    value = error.get(name)
    return None if value is None else str(value)


def error_from_wire(error: Any) -> BastionError:
    """Return the exception a refusal stands for: the same class the signer raised (see the table above)."""
    if not isinstance(error, Mapping):
        error = {}
    kind = _text(error, "kind") or "refused"
    message = _text(error, "message") or "the signer refused the request"
    rule = _text(error, "rule")
    raw = error.get("compared")
    compared = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}
    refusal = _SIGNER_KINDS.get(kind)
    if refusal is not None:
        return refusal(message, rule=rule, compared=compared)
    cls = _BY_NAME.get(kind) or _BY_NAME.get(_text(error, "family") or "")
    if cls is None:
        return UnknownRefusal(message, kind=kind, rule=rule, compared=compared)
    exchange = _text(error, "exchange")
    if issubclass(cls, RateLimited):
        after = _text(error, "retry_after")
        try:
            retry_after = None if after is None else float(Decimal(after))
        except InvalidOperation:
            retry_after = None
        return cls(message, exchange=exchange, code=_text(error, "code"), retry_after=retry_after)
    if issubclass(cls, ExchangeError):
        return cls(message, exchange=exchange, code=_text(error, "code"))
    if issubclass(cls, MarketRuleError):
        return cls(message, rule=rule or "", symbol=_text(error, "symbol") or "")
    if issubclass(cls, ForbiddenEndpoint):
        return cls(
            message, exchange=exchange or "", method=_text(error, "method") or "", path=_text(error, "path") or ""
        )
    if issubclass(cls, KeyRefused):
        reasons = error.get("reasons")
        return cls(message, reasons=tuple(str(r) for r in reasons) if isinstance(reasons, list) else ())
    return cls(message)


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a failed ``place_order`` may still have reached the exchange.

    True for a transient exchange failure (timeout, rate limit, 5xx), a signer that failed inside
    the request, and a signer that could not be reached or whose answer was lost: keep the order
    and reconcile it by its client order id (resending with the same id is safe).
    """
    return isinstance(exc, ExchangeUnavailable | SignerInternalError | SignerUnavailable)
