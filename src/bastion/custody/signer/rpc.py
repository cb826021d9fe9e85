"""The signer's typed RPC: one request type per operation, its answer type, and the error table.

Client and server share this module. A request is a frozen, keyword-only dataclass whose
fields are Bastion types (``Decimal`` money, :class:`~bastion.domain.OrderType`); its wire form
is the JSON ``params`` object of :mod:`~bastion.custody.signer.protocol` (decimals as strings,
never a float). Orders are addressed by (account, symbol, exchange order id or client order id):
``symbol`` is mandatory wherever an order is named, because exchanges number orders per symbol.

Stable API (the engine consumes it)::

    from bastion.custody.signer.client import AsyncSignerClient
    from bastion.custody.signer.rpc import PlaceOrderRequest, CancelOrderRequest, MyTradesRequest

    signer = AsyncSignerClient(layout.socket)
    order = await signer.place_order(PlaceOrderRequest(
        account="main", symbol="BTC/USDT", side="buy", type=OrderType.LIMIT,
        amount=Decimal("0.001"), price=Decimal("16000"), client_order_id="b1"))   # -> OrderSnapshot

    ==================  ==========================  ==================================
    client method       request                     answer
    ==================  ==========================  ==================================
    place_order         PlaceOrderRequest           OrderSnapshot
    cancel_order        CancelOrderRequest          OrderSnapshot
    get_order           GetOrderRequest             OrderSnapshot
    open_orders         OpenOrdersRequest           tuple[OrderSnapshot, ...]
    balances            BalancesRequest             dict[str, Balance]
    my_trades           MyTradesRequest             tuple[Trade, ...]
    key_status          KeyStatusRequest            tuple[KeyStatus, ...]
    ping                PingRequest                 Ping
    keys_add            KeysAddRequest              KeyAdded
    keys_check          KeysCheckRequest            tuple[KeyCheck, ...]
    keys_remove         KeysRemoveRequest           KeyRemoved
    policy_show         PolicyShowRequest           PolicyView
    policy_set          PolicySetRequest            PolicyView
    panic               PanicRequest                PanicReport
    ==================  ==========================  ==================================

``OrderSnapshot``, ``Trade`` and ``Balance`` are the exchange port's own records
(:mod:`bastion.exchanges.port`), so an engine handles the signer's answers and a simulated
venue's alike. ``client.request(req)`` is the generic form of every method.

Errors keep their class across the socket. The server sends a refusal as
``{"kind", "message", ...details}`` (:func:`error_to_wire`); the typed client methods raise
:func:`error_from_wire` of it: the exchange tree (``InsufficientFunds``, ``OrderNotFound``,
``NetworkTimeout`` ...), ``KeyRefused``, ``ForbiddenEndpoint``, ``ValidationError`` ... come back as
the same classes from :mod:`bastion.errors`, with their attributes; the signer's own refusals as
the :class:`~bastion.errors.SignerRefused` subclasses (``PolicyDenied`` with ``rule`` and
``compared``, ``SignerBadRequest``, ``SignerUnauthorized``, ``SignerNotFound``,
``UnknownOperation``, ``SignerInternalError``); a kind this client does not know becomes
``UnknownRefusal``. :func:`outcome_unknown` says whether a failed ``place_order`` may have
reached the exchange (retry it with the same client order id).
"""

from __future__ import annotations

import dataclasses
import enum
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Generic, Literal, Self, TypeVar, Union, cast, get_args, get_origin, get_type_hints

from bastion.custody.policy import OrderRequest, PolicyConfig
from bastion.custody.signer.leak import BalanceFinding, ForeignOrder
from bastion.domain import OrderType, Side
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
from bastion.exchanges.port import Balance, OrderSnapshot, Trade

__all__ = [
    "OPS",
    "AckFindingsRequest",
    "BalancesRequest",
    "CancelOrderRequest",
    "FindingsAcknowledged",
    "GetOrderRequest",
    "KeyAdded",
    "KeyCheck",
    "KeyRemoved",
    "KeyStatus",
    "KeyStatusRequest",
    "KeysAddRequest",
    "KeysCheckRequest",
    "KeysRemoveRequest",
    "MyTradesRequest",
    "OpenOrdersRequest",
    "PanicAccount",
    "PanicReport",
    "PanicRequest",
    "Ping",
    "PingRequest",
    "PlaceOrderRequest",
    "PolicySetRequest",
    "PolicyShowRequest",
    "PolicyUsageView",
    "PolicyView",
    "Request",
    "balances_from_wire",
    "balances_to_wire",
    "error_from_wire",
    "error_to_wire",
    "order_from_wire",
    "order_to_wire",
    "outcome_unknown",
    "policy_request",
    "to_wire",
    "trade_from_wire",
    "trade_to_wire",
]

A = TypeVar("A")

# ---------------------------------------------------------------------------------------- codec


class AnswerError(ValidationError):
    """An answer from the signer that is not the shape this client expects (a version mismatch)."""


def _bad(where: str, value: Any, expected: str, *, answer: bool) -> BastionError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    if answer:
        return AnswerError(f"the signer's answer has {where} = {shown}; expected {expected}")
    return SignerBadRequest(f"parameter {where} must be {expected}, got {shown}")


def to_wire(value: Any) -> Any:
    """Return ``value`` as JSON-ready data: Decimals as plain strings, enums as values, records as objects."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, PolicyConfig):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_wire(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, float):
        raise TypeError("a float cannot travel in a signer frame; use Decimal")
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _decode(hint: Any, value: Any, where: str, *, answer: bool) -> Any:
    origin = get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        args = get_args(hint)
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _decode(inner, value, where, answer=answer)
    if origin is Literal:
        if value not in get_args(hint):
            raise _bad(where, value, " or ".join(repr(a) for a in get_args(hint)), answer=answer)
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _bad(where, value, "a list", answer=answer)
        item = get_args(hint)[0]
        return tuple(_decode(item, v, f"{where}[{i}]", answer=answer) for i, v in enumerate(value))
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise _bad(where, value, "an object with string keys", answer=answer)
        args = get_args(hint)
        inner = args[1] if args else Any
        return {k: _decode(inner, v, f"{where}.{k}", answer=answer) for k, v in value.items()}
    if hint is Decimal:
        return _decimal(value, where, answer=answer)
    if hint is bool:
        if not isinstance(value, bool):
            raise _bad(where, value, "true or false", answer=answer)
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _bad(where, value, "a non-negative integer", answer=answer)
        return value
    if hint is str:
        if not isinstance(value, str) or (not answer and not value):
            raise _bad(where, value, "a non-empty string" if not answer else "a string", answer=answer)
        return value
    if hint is PolicyConfig:
        if not isinstance(value, Mapping):
            raise _bad(where, value, "a policy object", answer=answer)
        try:
            return PolicyConfig.from_mapping(value)
        except ConfigError as exc:
            raise _bad(where, value, f"a valid policy ({exc})", answer=answer) from None
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            raise _bad(where, value, " or ".join(repr(m.value) for m in hint), answer=answer) from None
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _record(hint, value, where, answer=answer)
    raise TypeError(f"no wire codec for {hint!r} at {where}")  # a programming error in this module


def _decimal(value: Any, where: str, *, answer: bool) -> Decimal:
    expected = "a decimal string such as '0.001'"
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise _bad(where, value, expected, answer=answer) from None
    else:
        raise _bad(where, value, expected, answer=answer)
    if not number.is_finite():
        raise _bad(where, value, "a finite " + expected[2:], answer=answer)
    return number


R = TypeVar("R")


def _record(cls: type[R], data: Any, where: str, *, answer: bool) -> R:
    """Build the dataclass ``cls`` from a JSON object; a request refuses unknown fields, an answer ignores them."""
    if not isinstance(data, Mapping):
        raise _bad(where, data, f"an object ({cls.__name__})", answer=answer)
    hints = _hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(str(k) for k in data if k not in names)
    if unknown and not answer:
        raise SignerBadRequest(
            f"{where} does not take {', '.join(unknown)}; it takes {', '.join(names) or 'no parameters'}"
        )
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        value = data.get(f.name)
        if value is None:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                hint = hints[f.name]
                if get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint):
                    kwargs[f.name] = None
                    continue
                if answer:
                    raise AnswerError(f"the signer's answer has no {where}.{f.name}")
                raise SignerBadRequest(f"{where} needs {f.name!r} ({_describe(hints[f.name])})")
            continue
        try:
            kwargs[f.name] = _decode(hints[f.name], value, f"{where}.{f.name}" if answer else f.name, answer=answer)
        except (SignerBadRequest, AnswerError) as exc:
            if f.repr:
                raise
            # a secret field: say what was expected, never echo the value
            raise type(exc)(f"{'parameter ' if not answer else ''}{f.name} is malformed (value not shown)") from None
    try:
        return cls(**kwargs)
    except ValidationError as exc:
        if answer:
            raise AnswerError(f"the signer's answer has an invalid {where}: {exc}") from None
        raise SignerBadRequest(str(exc)) from None


def _describe(hint: Any) -> str:
    if hint is Decimal:
        return "a decimal string"
    if hint is str:
        return "a non-empty string"
    if get_origin(hint) is Literal:
        return " or ".join(repr(a) for a in get_args(hint))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return " or ".join(repr(m.value) for m in hint)
    return getattr(hint, "__name__", str(hint))


# ---------------------------------------------------------------------------------------- records


def order_to_wire(order: OrderSnapshot) -> dict[str, Any]:
    """Return an order snapshot as the signer sends it (decimals as strings)."""
    return cast(dict[str, Any], to_wire(order))


def order_from_wire(data: Any) -> OrderSnapshot:
    """Return the order snapshot in a signer answer."""
    return _record(OrderSnapshot, data, "order", answer=True)


def trade_to_wire(trade: Trade) -> dict[str, Any]:
    """Return a trade as the signer sends it."""
    return cast(dict[str, Any], to_wire(trade))


def trade_from_wire(data: Any) -> Trade:
    """Return the trade in a signer answer."""
    return _record(Trade, data, "trade", answer=True)


def balances_to_wire(balances: Mapping[str, Balance]) -> dict[str, Any]:
    """Return balances as ``{currency: {free, used, total}}``."""
    return {
        c: {"free": to_wire(b.free), "used": to_wire(b.used), "total": to_wire(b.total)} for c, b in balances.items()
    }


def balances_from_wire(data: Any) -> dict[str, Balance]:
    """Return the balances in a signer answer."""
    if not isinstance(data, Mapping):
        raise AnswerError(f"the signer's balances answer must be an object, got {type(data).__name__}")
    out = {}
    for currency, entry in data.items():
        if not isinstance(entry, Mapping):
            raise AnswerError(f"the signer's balance of {currency} must be an object, got {entry!r}")
        out[str(currency)] = Balance(
            str(currency),
            _decimal(entry.get("free"), f"balances.{currency}.free", answer=True),
            _decimal(entry.get("used"), f"balances.{currency}.used", answer=True),
        )
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Ping:
    """The signer is alive: its pid and the accounts it holds keys for."""

    pid: int
    accounts: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyStatus:
    """One account's key and state as the signer holds them (never a secret)."""

    account: str
    exchange: str
    key_hint: str
    fingerprint: str
    status: str
    status_reason: str | None
    state: str
    state_reason: str | None
    permissions: dict[str, Any]
    last_permission_check_ms: int | None
    last_leak_check_ms: int | None
    foreign_orders: tuple[ForeignOrder, ...] = ()
    balance_findings: tuple[BalanceFinding, ...] = ()
    orders_sent: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyAdded:
    """A key the signer checked, sealed and stored."""

    account: str
    exchange: str
    key_hint: str
    fingerprint: str
    permissions: dict[str, Any]
    policy: PolicyConfig


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyCheck:
    """The outcome of re-checking one key: permissions, leaks, and what to do."""

    account: str
    exchange: str
    state: str
    state_reason: str | None = None
    permissions: dict[str, Any] | None = None
    refused_reasons: tuple[str, ...] = ()
    paused: bool = False
    error: str | None = None
    foreign_orders: tuple[ForeignOrder, ...] = ()
    balance_findings: tuple[BalanceFinding, ...] = ()
    revoke: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyRemoved:
    """A key the signer forgot, with the steps to revoke it on the exchange."""

    account: str
    removed: bool
    revoke: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyUsageView:
    """How much of its budget an account used."""

    orders_last_minute: int
    notional_24h: dict[str, Decimal]
    denials_in_window: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyView:
    """An account's policy, state and usage."""

    account: str
    policy: PolicyConfig
    state: str
    reason: str | None
    revision: int
    usage: PolicyUsageView


@dataclass(frozen=True, slots=True, kw_only=True)
class PanicAccount:
    """What ``panic`` did on one account."""

    account: str
    exchange: str
    cancelled: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()
    open_orders_left: int | None = None
    revoke: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PanicReport:
    """What ``panic`` did: per account, and the signer's own state (stopping)."""

    accounts: tuple[PanicAccount, ...]
    signer: str


# ---------------------------------------------------------------------------------------- requests


class Request(Generic[A]):
    """Base of every request type: ``op``, the answer's type, and the wire conversions."""

    __slots__ = ()

    op: ClassVar[str]
    answer: ClassVar[Any]

    def to_wire(self) -> dict[str, Any]:
        """Return the request's ``params`` object (absent values left out)."""
        return {
            f.name: to_wire(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if getattr(self, f.name) is not None
        }

    @classmethod
    def from_wire(cls, params: Mapping[str, Any]) -> Self:
        """Parse a request's ``params``; raise :class:`~bastion.errors.SignerBadRequest` naming what is wrong."""
        return _record(cls, params, cls.op, answer=False)

    @classmethod
    def answer_from_wire(cls, data: Any) -> A:
        """Parse the ``result`` of this request's answer."""
        return cast(A, _decode(cls.answer, data, cls.op, answer=True))

    @classmethod
    def answer_to_wire(cls, answer: A) -> Any:
        """Return an answer as the signer sends it."""
        return to_wire(answer)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaceOrderRequest(Request[OrderSnapshot]):
    """Place one order. ``amount`` is base; a market order may give ``quote_amount`` instead."""

    op: ClassVar[str] = "place_order"
    answer: ClassVar[Any] = OrderSnapshot

    account: str
    symbol: str
    side: Side
    type: OrderType
    client_order_id: str
    amount: Decimal | None = None
    price: Decimal | None = None
    quote_amount: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _OrderAddress:
    account: str
    symbol: str
    exchange_order_id: str | None = None
    client_order_id: str | None = None

    def __post_init__(self) -> None:
        if self.exchange_order_id is None and self.client_order_id is None:
            raise SignerBadRequest(
                f"an order on {self.symbol} is named by exchange_order_id or client_order_id; neither was given"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrderRequest(_OrderAddress, Request[OrderSnapshot]):
    """Cancel one order (allowed in every account state)."""

    op: ClassVar[str] = "cancel_order"
    answer: ClassVar[Any] = OrderSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class GetOrderRequest(_OrderAddress, Request[OrderSnapshot]):
    """Fetch one order as the exchange reports it."""

    op: ClassVar[str] = "get_order"
    answer: ClassVar[Any] = OrderSnapshot


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenOrdersRequest(Request[tuple[OrderSnapshot, ...]]):
    """List the account's open orders: one market, or all with ``symbol=None``."""

    op: ClassVar[str] = "open_orders"
    answer: ClassVar[Any] = tuple[OrderSnapshot, ...]

    account: str
    symbol: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BalancesRequest(Request[dict[str, Balance]]):
    """The account's non-zero balances."""

    op: ClassVar[str] = "balances"
    answer: ClassVar[Any] = dict[str, Balance]

    account: str

    @classmethod
    def answer_from_wire(cls, data: Any) -> dict[str, Balance]:
        """Parse ``{currency: {free, used, total}}``."""
        return balances_from_wire(data)

    @classmethod
    def answer_to_wire(cls, answer: dict[str, Balance]) -> Any:
        """Return balances as ``{currency: {free, used, total}}``."""
        return balances_to_wire(answer)


@dataclass(frozen=True, slots=True, kw_only=True)
class MyTradesRequest(Request[tuple[Trade, ...]]):
    """The account's own trades in one market, or those of one order (``exchange_order_id`` alone)."""

    op: ClassVar[str] = "my_trades"
    answer: ClassVar[Any] = tuple[Trade, ...]

    account: str
    symbol: str
    exchange_order_id: str | None = None
    since_ms: int | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.exchange_order_id is not None and (self.since_ms is not None or self.limit is not None):
            raise SignerBadRequest("give exchange_order_id alone: since_ms and limit apply to a whole market")


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyStatusRequest(Request[tuple[KeyStatus, ...]]):
    """Each key's status, or one account's."""

    op: ClassVar[str] = "key_status"
    answer: ClassVar[Any] = tuple[KeyStatus, ...]

    account: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PingRequest(Request[Ping]):
    """Is the signer alive."""

    op: ClassVar[str] = "ping"
    answer: ClassVar[Any] = Ping


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysAddRequest(Request[KeyAdded]):
    """Add an account's key; the vault passphrase is required. Secrets have no repr."""

    op: ClassVar[str] = "keys_add"
    answer: ClassVar[Any] = KeyAdded

    account: str
    exchange: str
    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)
    url: str | None = None
    allow_unrestricted_ip: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysCheckRequest(Request[tuple[KeyCheck, ...]]):
    """Re-check permissions and reconcile orders now, for one account or all."""

    op: ClassVar[str] = "keys_check"
    answer: ClassVar[Any] = tuple[KeyCheck, ...]

    account: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysRemoveRequest(Request[KeyRemoved]):
    """Forget an account's key."""

    op: ClassVar[str] = "keys_remove"
    answer: ClassVar[Any] = KeyRemoved

    account: str
    passphrase: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyShowRequest(Request[PolicyView]):
    """An account's policy, state and usage."""

    op: ClassVar[str] = "policy_show"
    answer: ClassVar[Any] = PolicyView

    account: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicySetRequest(Request[PolicyView]):
    """Change some policy fields; a loosening change needs the vault passphrase."""

    op: ClassVar[str] = "policy_set"
    answer: ClassVar[Any] = PolicyView

    account: str
    changes: dict[str, Any]
    reason: str | None = None
    expected_revision: int | None = None
    passphrase: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingsAcknowledged:
    """What acknowledging an account's leak findings recorded."""

    account: str
    acknowledged: tuple[ForeignOrder, ...] = ()
    acknowledged_balance_changes: tuple[BalanceFinding, ...] = ()
    state: str
    resume: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AckFindingsRequest(Request[FindingsAcknowledged]):
    """Acknowledge the leak detector's findings on an account (needs the vault passphrase)."""

    op: ClassVar[str] = "ack_findings"
    answer: ClassVar[Any] = FindingsAcknowledged

    account: str
    passphrase: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class PanicRequest(Request[PanicReport]):
    """Cancel every open order on every account, purge the secrets and stop the signer."""

    op: ClassVar[str] = "panic"
    answer: ClassVar[Any] = PanicReport


#: Every operation's request type, by op name.
OPS: dict[str, type[Request[Any]]] = {
    cls.op: cls
    for cls in (
        PlaceOrderRequest,
        CancelOrderRequest,
        GetOrderRequest,
        OpenOrdersRequest,
        BalancesRequest,
        MyTradesRequest,
        KeyStatusRequest,
        PingRequest,
        KeysAddRequest,
        KeysCheckRequest,
        KeysRemoveRequest,
        AckFindingsRequest,
        PolicyShowRequest,
        PolicySetRequest,
        PanicRequest,
    )
}


def policy_request(params: Mapping[str, Any], *, account: str) -> OrderRequest:
    """Return a ``place_order``'s params as the policy's request, for the signer.

    Unknown parameters are refused (:class:`~bastion.errors.SignerBadRequest`). Malformed values
    are passed on as they are: the policy answers them with a ``bad_request`` denial, which is
    audited and counts toward the account's denial burst (a compromised engine sending garbage is
    halted like one sending oversized orders).
    """
    names = [f.name for f in dataclasses.fields(PlaceOrderRequest)]
    unknown = sorted(str(k) for k in params if k not in names)
    if unknown:
        raise SignerBadRequest(f"place_order does not take {', '.join(unknown)}; it takes {', '.join(names)}")

    def number(name: str) -> Any:
        value = params.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            try:
                return Decimal(value)
            except InvalidOperation:
                return value
        return value

    return OrderRequest(
        account=account,
        symbol=params.get("symbol"),  # type: ignore[arg-type]  # judged by the policy
        side=params.get("side"),  # type: ignore[arg-type]
        type=params.get("type"),  # type: ignore[arg-type]
        amount=number("amount"),
        price=number("price"),
        quote_amount=number("quote_amount"),
        client_order_id=params.get("client_order_id"),  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------- errors

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
