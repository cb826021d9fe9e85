"""Accounts as the bot use cases need them: the record, its markets and prices, its signer view.

Public market data comes straight from the exchange (no key); the policy and the free balances
come from the signer (``policy_show`` and ``balances``), which alone holds the keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from bastion.domain import Market
from bastion.errors import ValidationError
from bastion.services._db import session
from bastion.storage.records import AccountRecord

if TYPE_CHECKING:
    from bastion.custody.policy.config import PolicyConfig

__all__ = [
    "MarketSnapshot",
    "SignerCalls",
    "SignerView",
    "account",
    "account_exchanges",
    "market_snapshot",
    "remove_stored_key",
    "signer_client",
    "signer_view",
    "stored_keys",
]


class SignerCalls(Protocol):
    """What the use cases need of a signer client (:class:`~bastion.custody.signer.SignerClient`)."""

    def call(self, op: str, **params: Any) -> Any:
        """Send one request and return its result."""
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketSnapshot:
    """The rules and current prices of some markets of an account's exchange."""

    markets: Mapping[str, Market]
    prices: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignerView:
    """An account as the signer sees it: its policy, its state and its free balances."""

    policy: PolicyConfig
    state: str
    reason: str | None
    free: Mapping[str, Decimal]


def account(name: str) -> AccountRecord:
    """Return the account called ``name``.

    Raises
    ------
    ValidationError
        No such account (the message says how to add its key).
    """
    from bastion.storage import AccountRepository

    with session() as s:
        record = AccountRepository(s).get(name)
    if record is None:
        raise ValidationError(f"account {name!r} has no key yet; add one with `bastion keys add --account {name}`")
    return record


def market_snapshot(record: AccountRecord, symbols: Iterable[str]) -> MarketSnapshot:
    """Return the rules of every market of the account's exchange and the last price of ``symbols``."""
    from sqlalchemy import select

    from bastion.exchanges.ccxt.adapter import CcxtExchange
    from bastion.storage.models import ApiKeyRow

    with session() as s:
        url = s.scalar(select(ApiKeyRow.url).where(ApiKeyRow.account_id == record.id))
    exchange = CcxtExchange(record.exchange, url=url)
    try:
        markets = exchange.load_markets()
        prices = {}
        for symbol in symbols:
            if symbol in markets:
                last = exchange.fetch_ticker(symbol).last
                if last is not None:
                    prices[symbol] = last
    finally:
        exchange.close()
    return MarketSnapshot(markets=markets, prices=prices)


def signer_client() -> SignerCalls:
    """Return a client of this home's signer (connects on first call)."""
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.client import SignerClient

    return SignerClient(HomeLayout.from_env().socket, timeout=60)


def signer_view(signer: SignerCalls, account_name: str) -> SignerView:
    """Ask the signer for the account's policy (``policy_show``) and free balances (``balances``).

    Raises
    ------
    SignerUnavailable
        No signer answers.
    SignerRefused
        The signer does not know the account.
    """
    from bastion.custody.policy.config import PolicyConfig

    shown = signer.call("policy_show", account=account_name)
    balances = signer.call("balances", account=account_name)
    return SignerView(
        policy=PolicyConfig.from_mapping(shown["policy"]),
        state=str(shown["state"]),
        reason=shown.get("reason"),
        free={str(c): Decimal(str(b["free"])) for c, b in balances.items()},
    )


def account_exchanges() -> list[str]:
    """Return the exchanges of the accounts Bastion knows, sorted (for ``panic``'s revoke steps)."""
    from bastion.storage import AccountRepository

    with session() as s:
        return sorted({a.exchange for a in AccountRepository(s).all()})


def stored_keys() -> tuple[list[Any], dict[str, str]]:
    """Return the stored keys' public records (never a secret) and each account's state."""
    from bastion.storage import AccountRepository, ApiKeyRepository

    with session() as s:
        keys = ApiKeyRepository(s).all()
        states = {a.name: a.state.value for a in AccountRepository(s).all()}
    return keys, states


def remove_stored_key(name: str) -> str:
    """Delete the account's stored (sealed) key while the signer is down; return its exchange.

    Raises
    ------
    ValidationError
        The account has no stored key.
    """
    from bastion.storage import AccountRepository, ApiKeyRepository

    with session(write=True) as s:
        record = AccountRepository(s).get(name)
        if record is None or not ApiKeyRepository(s).remove(record.id):
            raise ValidationError(f"account {name!r} has no stored key")
        return record.exchange
