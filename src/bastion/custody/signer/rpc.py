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
    seal_public_key     SealPublicKeyRequest        SealPublicKey
    keys_add_sealed     KeysAddSealedRequest        KeyAdded
    keys_check          KeysCheckRequest            tuple[KeyCheck, ...]
    keys_remove         KeysRemoveRequest           KeyRemoved
    policy_show         PolicyShowRequest           PolicyView
    policy_set          PolicySetRequest            PolicyView
    policy_loosen_sealed PolicyLoosenSealedRequest  PolicyView
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
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Generic, Self, TypeVar, cast

from bastion.custody.policy import OrderRequest, PolicyConfig
from bastion.custody.signer._refusals import error_from_wire, error_to_wire, outcome_unknown
from bastion.custody.signer._wire import (
    AnswerError,
    balances_from_wire,
    balances_to_wire,
    decode,
    order_from_wire,
    order_to_wire,
    record,
    to_wire,
    trade_from_wire,
    trade_to_wire,
)
from bastion.custody.signer.leak import BalanceFinding, ForeignOrder
from bastion.domain import OrderType, Side
from bastion.errors import SignerBadRequest
from bastion.exchanges.port import Balance, OrderSnapshot, Trade

__all__ = [
    "OPS",
    "AckFindingsRequest",
    "AnswerError",
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
    "KeysAddSealedRequest",
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
    "PolicyLoosenSealedRequest",
    "PolicySetRequest",
    "PolicyShowRequest",
    "PolicyUsageView",
    "PolicyView",
    "Request",
    "SealPublicKey",
    "SealPublicKeyRequest",
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


# ---------------------------------------------------------------------------------------- answers


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
        return record(cls, params, cls.op, answer=False)

    @classmethod
    def answer_from_wire(cls, data: Any) -> A:
        """Parse the ``result`` of this request's answer."""
        return cast(A, decode(cls.answer, data, cls.op, answer=True))

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
class SealPublicKey:
    """The signer's X25519 sealing key, for a page to seal an API key to (see ``custody.signer.sealing``)."""

    key_id: str
    public_key: str
    """The raw 32-byte X25519 public key, base64url without padding."""
    suite: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SealPublicKeyRequest(Request[SealPublicKey]):
    """The signer's current sealing key (a new one at every signer start)."""

    op: ClassVar[str] = "seal_public_key"
    answer: ClassVar[Any] = SealPublicKey


@dataclass(frozen=True, slots=True, kw_only=True)
class KeysAddSealedRequest(Request[KeyAdded]):
    """Add an account's key sealed to the signer's sealing key; the signer alone opens it.

    ``enc`` (the page's ephemeral X25519 public key) and ``ciphertext`` are base64url. The
    account, exchange, URL and ``allow_unrestricted_ip`` travel in clear and are bound to the
    ciphertext: any change in transit makes it fail to open. The same checks as ``keys_add``
    follow (permissions on the exchange, withdrawal refused, account without a key).
    """

    op: ClassVar[str] = "keys_add_sealed"
    answer: ClassVar[Any] = KeyAdded

    account: str
    exchange: str
    key_id: str
    enc: str
    ciphertext: str
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
class PolicyLoosenSealedRequest(Request[PolicyView]):
    """Change some policy fields with the vault passphrase sealed in the page (the web's loosening).

    ``changes_json`` is the JSON text of the changes exactly as the page sealed the passphrase
    with it; the account, that text, ``expected_revision`` and ``reason`` are bound to the
    ciphertext, so the blob opens for this one change of this account at this revision, once.
    ``requested_by`` is the web user the web process names (recorded in the audit log).
    """

    op: ClassVar[str] = "policy_loosen_sealed"
    answer: ClassVar[Any] = PolicyView

    account: str
    changes_json: str
    expected_revision: int
    key_id: str
    enc: str
    ciphertext: str
    reason: str | None = None
    requested_by: str | None = None


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

    requested_by: str | None = None
    """Who asked, as the caller names them (the web user behind a web panic); audited."""


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
        SealPublicKeyRequest,
        KeysAddSealedRequest,
        KeysCheckRequest,
        KeysRemoveRequest,
        AckFindingsRequest,
        PolicyShowRequest,
        PolicySetRequest,
        PolicyLoosenSealedRequest,
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
