"""The signer's small types: refusals, options, per-account state, and JSON renderings."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.custody.audit import canonical_json
from bastion.custody.policy import (
    PolicyEngine,
    PolicyState,
    ReferenceMarket,
)
from bastion.custody.signer.leak import ForeignOrder, SentOrders
from bastion.custody.signer.rpc import balances_to_wire, error_to_wire, order_to_wire, trade_to_wire
from bastion.exchanges.ccxt.adapter import AsyncCcxtExchange
from bastion.exchanges.port import ApiRestrictions, Balance, OrderSnapshot, Trade
from bastion.storage import AccountState, ApiKeyRecord

log = logging.getLogger("bastion.signer")

__all__ = [
    "ACCOUNT_STATE",
    "POLICY_CONTEXT",
    "POLICY_FIELDS",
    "Account",
    "Refusal",
    "SignerOptions",
    "balance_json",
    "decimal_param",
    "fingerprint",
    "log",
    "order_json",
    "permissions_json",
    "plain",
    "policy_message",
    "public_key_hex",
    "read_public_key",
    "text_param",
    "trade_json",
    "utc",
    "wall_ms",
]

POLICY_CONTEXT = b"bastion.policy.v1\n"
ACCOUNT_STATE = {
    PolicyState.ACTIVE: AccountState.ACTIVE,
    PolicyState.REDUCING: AccountState.REDUCING,
    PolicyState.HALTED: AccountState.HALTED,
}
POLICY_FIELDS = frozenset(
    {
        "pairs",
        "max_order_notional",
        "max_daily_notional",
        "min_volume_24h",
        "quote_limits",
        "max_orders_per_minute",
        "max_deviation_pct",
        "max_reference_age_ms",
        "state",
        "denial_burst",
        "denial_window_ms",
    }
)


class Refusal(Exception):
    """A request the signer answers with ``ok: false`` (not a bug: the message goes to the caller)."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        rule: str | None = None,
        compared: Mapping[str, Any] | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.rule = rule
        self.compared = {k: str(v) for k, v in (compared or {}).items()}
        self.details = dict(details or {})

    @classmethod
    def from_error(cls, exc: BaseException) -> Refusal:
        """Return the refusal that carries ``exc`` to the client as its own class (see ``rpc``)."""
        error = error_to_wire(exc)
        kind, message = str(error.pop("kind")), str(error.pop("message"))
        rule, compared = error.pop("rule", None), error.pop("compared", None)
        return cls(kind, message, rule=rule, compared=compared, details=error)

    def to_json(self) -> dict[str, Any]:
        """Return the wire form of the refusal."""
        error: dict[str, Any] = {**self.details, "kind": self.kind, "message": self.message}
        if self.rule is not None:
            error["rule"] = self.rule
            error["compared"] = self.compared
        return error


@dataclass(frozen=True, slots=True, kw_only=True)
class SignerOptions:
    """Timings of the signer's background work.

    Parameters
    ----------
    poll_interval_s
        How often the leak detector reconciles each account with the exchange.
    recheck_interval_s
        How often each key's permissions are checked again (default 24 h).
    head_interval_s
        How often the audit head is signed when entries were added.
    reference_refresh_ms
        Reuse a fetched reference price for at most this long before fetching again.
    exchange_timeout_ms
        Timeout of each exchange request.
    """

    poll_interval_s: float = 60.0
    recheck_interval_s: float = 86_400.0
    head_interval_s: float = 30.0
    reference_refresh_ms: int = 2_000
    exchange_timeout_ms: int = 10_000


@dataclass(slots=True, kw_only=True)
class Account:
    """One account's live state inside the signer."""

    name: str
    account_id: int
    key: ApiKeyRecord
    exchange: AsyncCcxtExchange
    policy: PolicyEngine
    revision: int
    reason: str | None
    secrets: tuple[str, ...] = field(repr=False)
    sent: SentOrders = field(default_factory=SentOrders)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    references: dict[str, ReferenceMarket] = field(default_factory=dict)
    foreign: dict[str, ForeignOrder] = field(default_factory=dict)
    last_leak_check_ms: int = 0
    last_permission_check_ms: int = 0

    @property
    def paused(self) -> bool:
        return self.key.status == "paused"


def plain(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def order_json(order: OrderSnapshot) -> dict[str, Any]:
    """Return an order snapshot as JSON-ready data (decimals as strings); see ``rpc.order_to_wire``."""
    return order_to_wire(order)


def trade_json(trade: Trade) -> dict[str, Any]:
    """Return a trade as JSON-ready data; see ``rpc.trade_to_wire``."""
    return trade_to_wire(trade)


def balance_json(balances: Mapping[str, Balance]) -> dict[str, Any]:
    """Return balances as JSON-ready data; see ``rpc.balances_to_wire``."""
    return balances_to_wire(balances)


def permissions_json(perms: ApiRestrictions) -> dict[str, Any]:
    return {
        "can_read": perms.can_read,
        "can_trade_spot": perms.can_trade_spot,
        "can_withdraw": perms.can_withdraw,
        "can_internal_transfer": perms.can_internal_transfer,
        "can_universal_transfer": perms.can_universal_transfer,
        "ip_restricted": perms.ip_restricted,
    }


def fingerprint(api_key: str) -> str:
    """Return the short public fingerprint of an API key (SHA-256 of the key, 16 hex digits)."""
    return "SHA256:" + hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


def policy_message(account: str, config: Mapping[str, Any], reason: str | None, revision: int) -> bytes:
    """Return the bytes the signer signs for a policy row."""
    body = {"account": account, "config": dict(config), "reason": reason, "revision": revision}
    return POLICY_CONTEXT + canonical_json(body)


def decimal_param(params: Mapping[str, Any], name: str) -> Decimal | Any:
    """Return a decimal parameter; a malformed value is passed on for the policy to deny."""
    value = params.get(name)
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value


def text_param(params: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise Refusal("bad_request", f"parameter {name!r} must be a non-empty string, got {value!r}")
    return value


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def utc(ms: int) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC)


def public_key_hex(key: Ed25519PrivateKey) -> str:
    """Return the raw public key of ``key`` as hex."""
    return key.public_key().public_bytes_raw().hex()


def read_public_key(path: Path) -> str:
    """Return the hex public key stored at ``path``."""
    return path.read_text(encoding="utf-8").strip()
