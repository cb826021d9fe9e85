"""Bastion's exception tree, in one place.

Every error Bastion raises on purpose derives from :class:`BastionError`. Errors from
ccxt are translated into this tree at the exchange adapter (``bastion.exchanges.ccxt.errors``),
so nothing above the adapter ever catches a ccxt class.

::

    BastionError
    ├── ValidationError              bad input: says what was given and what was expected
    │   ├── MarketRuleError          a price/amount/notional breaks the market's rules
    │   └── ConfigError              a configuration file or option is wrong
    ├── OrderStateError              an order event that its state machine does not allow
    │   └── DuplicateFillError       a fill whose trade id was already applied
    ├── StorageError                 the database cannot be opened or migrated
    ├── CustodyError                 the signer (or its client) refused or could not do something
    │   ├── ForbiddenEndpoint        an exchange URL outside the signer's per-exchange allowlist
    │   ├── KeyRefused               an API key with a dangerous permission or no IP restriction
    │   ├── SignerUnavailable        no signer answers on the socket (not started, or gone)
    │   └── SignerRefused            the signer answered with a refusal; ``kind`` says which
    │       ├── PolicyDenied         "denied": the trade policy; ``rule`` and ``compared`` say why
    │       ├── SignerBadRequest     "bad_request": a parameter missing, malformed or unknown
    │       ├── SignerUnauthorized   "unauthorized": needs the vault passphrase (missing or wrong)
    │       ├── SignerNotFound       "not_found": the signer holds no key for that account
    │       ├── UnknownOperation     "unknown_op": not part of the signer's RPC
    │       ├── SignerInternalError  "internal": the signer failed; whether it acted is unknown
    │       └── UnknownRefusal       a refusal kind this client does not know
    └── ExchangeError                anything that went wrong talking to an exchange
        ├── AuthenticationFailed     key unknown, signature wrong (exchange said so)
        ├── PermissionRefused        the key may not do this
        ├── TimestampRejected        request timestamp outside the exchange's window
        ├── BadSymbol                the exchange does not list this market
        ├── OrderRejected            the exchange refused the order
        │   ├── InsufficientFunds    not enough free balance
        │   ├── FilterViolation      price / lot size / notional filter broken
        │   └── DuplicateOrder       the client order id is already in use
        ├── OrderNotFound            no such order on the exchange
        └── ExchangeUnavailable      transient: retry later with the same client order id
            ├── RateLimited          HTTP 429/418; ``retry_after`` seconds when the exchange said
            ├── NetworkTimeout       no answer in time: the request may or may not have landed
            └── ExchangeDown         5xx or maintenance

Across the signer's RPC an error keeps its class: the signer sends the class name as the
refusal's ``kind`` and the typed client methods raise the same class again
(``bastion.custody.signer.rpc`` holds the one mapping table).

Messages never contain secrets: exchange responses are passed through
:func:`bastion.errors.scrub` before they are put into an exception.
"""

from __future__ import annotations

import re

__all__ = [
    "AuthenticationFailed",
    "BadSymbol",
    "BastionError",
    "ConfigError",
    "CustodyError",
    "DuplicateFillError",
    "DuplicateOrder",
    "ExchangeDown",
    "ExchangeError",
    "ExchangeUnavailable",
    "FilterViolation",
    "ForbiddenEndpoint",
    "InsufficientFunds",
    "KeyRefused",
    "MarketRuleError",
    "NetworkTimeout",
    "OrderNotFound",
    "OrderRejected",
    "OrderStateError",
    "PermissionRefused",
    "PolicyDenied",
    "RateLimited",
    "SignerBadRequest",
    "SignerInternalError",
    "SignerNotFound",
    "SignerRefused",
    "SignerUnauthorized",
    "SignerUnavailable",
    "StorageError",
    "TimestampRejected",
    "UnknownOperation",
    "UnknownRefusal",
    "ValidationError",
    "scrub",
]


class BastionError(Exception):
    """Base of every error Bastion raises on purpose."""


class ValidationError(BastionError, ValueError):
    """Input that is not what was expected; the message names both."""


class MarketRuleError(ValidationError):
    """A price, amount or notional that breaks a market's tick, lot or limit rules."""

    def __init__(self, message: str, *, rule: str, symbol: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.symbol = symbol


class ConfigError(ValidationError):
    """A configuration file, option or environment setting is wrong."""


class OrderStateError(BastionError):
    """An event that the order's state machine does not allow in its current state."""


class DuplicateFillError(OrderStateError):
    """A fill whose trade id has already been applied to the order."""


class StorageError(BastionError):
    """The database cannot be opened, migrated or written."""


class CustodyError(BastionError):
    """The signer, or a client talking to it, refused or could not do something."""


class ForbiddenEndpoint(CustodyError):
    """The signer's HTTP layer refused an exchange URL outside its allowlist; nothing was sent."""

    def __init__(self, message: str, *, exchange: str, method: str, path: str) -> None:
        super().__init__(message)
        self.exchange = exchange
        self.method = method
        self.path = path


class KeyRefused(CustodyError):
    """An API key that Bastion will not use: a dangerous permission, or no IP restriction."""

    def __init__(self, message: str, *, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons


class SignerUnavailable(CustodyError):
    """No signer answers on the socket: it is not running, or it stopped."""


class SignerNoAnswer(SignerUnavailable):
    """The request reached the signer, but no answer came back in time (or the connection broke
    while waiting): the operation may have run, or may still be running. Never report it as not done."""


class SignerRefused(CustodyError):
    """The signer answered with a refusal.

    ``kind`` names it: ``denied`` (the trade policy; ``rule`` and ``compared`` say which and
    why), ``unknown_op``, ``unauthorized``, ``bad_request``, ``not_found``, ``halted``, or an
    exchange error class name such as ``InsufficientFunds``. The typed client raises a
    subclass per kind (below); ``kind`` defaults to the subclass's own.
    """

    default_kind = "refused"

    def __init__(
        self,
        message: str,
        *,
        kind: str | None = None,
        rule: str | None = None,
        compared: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = self.default_kind if kind is None else kind
        self.rule = rule
        self.compared = dict(compared or {})


class PolicyDenied(SignerRefused):
    """The signer's trade policy denied the order; ``rule`` and ``compared`` say which and why."""

    default_kind = "denied"


class SignerBadRequest(SignerRefused):
    """A request parameter was missing, malformed or unknown; the message names it."""

    default_kind = "bad_request"


class SignerUnauthorized(SignerRefused):
    """The operation needs the vault passphrase, and it was missing or wrong."""

    default_kind = "unauthorized"


class SignerNotFound(SignerRefused):
    """The signer holds no key for the account named."""

    default_kind = "not_found"


class UnknownOperation(SignerRefused):
    """The operation is not part of the signer's RPC."""

    default_kind = "unknown_op"


class SignerInternalError(SignerRefused):
    """The signer failed while handling the request; whether it reached the exchange is unknown."""

    default_kind = "internal"


class UnknownRefusal(SignerRefused):
    """A refusal whose kind this client does not know (a newer signer); ``kind`` holds it."""


class ExchangeError(BastionError):
    """Something went wrong talking to an exchange."""

    def __init__(self, message: str, *, exchange: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.exchange = exchange
        self.code = code


class AuthenticationFailed(ExchangeError):
    """The exchange rejected the key or the signature."""


class PermissionRefused(ExchangeError):
    """The key is valid but may not do this."""


class TimestampRejected(ExchangeError):
    """The request's timestamp was outside the exchange's receive window."""


class BadSymbol(ExchangeError):
    """The exchange does not list the market."""


class OrderRejected(ExchangeError):
    """The exchange refused the order."""


class InsufficientFunds(OrderRejected):
    """Not enough free balance for the order."""


class FilterViolation(OrderRejected):
    """The order broke one of the market's filters (price, lot size, notional)."""


class DuplicateOrder(OrderRejected):
    """The client order id is already used by an open order."""


class OrderNotFound(ExchangeError):
    """The exchange knows no such order."""


class ExchangeUnavailable(ExchangeError):
    """A transient failure: retry later, with the same client order id."""


class RateLimited(ExchangeUnavailable):
    """The exchange is rate limiting us (HTTP 429/418)."""

    def __init__(
        self,
        message: str,
        *,
        exchange: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, exchange=exchange, code=code)
        self.retry_after = retry_after


class NetworkTimeout(ExchangeUnavailable):
    """No answer in time: the request may or may not have reached the exchange."""


class ExchangeDown(ExchangeUnavailable):
    """The exchange answered 5xx or is in maintenance."""


_SECRET_PATTERNS = [
    re.compile(r"(signature=)[0-9a-fA-F]+"),
    re.compile(r"((?:api[-_]?key|secret|passphrase|password|X-MBX-APIKEY)[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+", re.I),
]


def scrub(text: str, *secrets: str | None) -> str:
    """Return ``text`` with signatures, key-like fields and the given secrets masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "****")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1****", text)
    return text
