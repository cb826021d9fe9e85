"""Accounts as the use cases need them: the record, its markets and prices, its signer view.

Public market data comes straight from the exchange (no key); the policy and the free balances
come from the signer (``policy_show`` and ``balances``), which alone holds the keys.

In the production layout the signer keeps its accounts (with the sealed keys and signed
policies) in its own database, which the engine's user cannot read. The engine and the CLI ask
the signer (``key_status``, an operation of the engine role) and keep the non-secret part
(name, exchange, URL) in the main database with :func:`sync_accounts`; bots refer to these rows.
In the development layout both are one database.
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
    from sqlalchemy.orm import Session, sessionmaker

    from bastion.custody.policy.config import PolicyConfig

__all__ = [
    "AccountRow",
    "MarketSnapshot",
    "SignerCalls",
    "SignerView",
    "account",
    "account_exchanges",
    "account_rows",
    "add_paper_account",
    "learn_account",
    "market_snapshot",
    "paper_free",
    "signer_client",
    "signer_view",
    "stored_keys",
    "sync_accounts",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountRow:
    """One line of ``account list``: PAPER accounts' balances come from their simulated exchange."""

    name: str
    exchange: str
    url: str | None
    mode: str
    state: str
    balances: Mapping[str, Decimal]


def add_paper_account(
    name: str, exchange: str, *, url: str | None = None, balances: Mapping[str, Decimal]
) -> AccountRecord:
    """Add a paper account: its orders are matched in the engine against the exchange's public data.

    The exchange is asked for its markets first (public, no key), so a wrong id or URL fails here.

    Raises
    ------
    ValidationError
        The name is taken or malformed, a balance is negative, no balance is given, or the
        exchange does not answer (the message says which).
    """
    from bastion.exchanges.ccxt.adapter import CcxtExchange
    from bastion.storage import AccountRepository

    if not balances:
        raise ValidationError("a paper account needs a starting balance such as --balance USDT=10000")
    bad = [f"{a}={v}" for a, v in balances.items() if not v.is_finite() or v < 0]
    if bad:
        raise ValidationError(f"paper balances must be non-negative amounts, got {', '.join(bad)}")
    with session() as s:
        if AccountRepository(s).get(name) is not None:
            raise ValidationError(f"account name {name!r} is already taken; expected a new name")
    try:
        client = CcxtExchange(exchange, url=url)
    except Exception as exc:  # an unknown ccxt id
        raise ValidationError(f"--exchange {exchange!r}: {exc}") from None
    try:
        client.load_markets()
    except Exception as exc:
        where = f" at {url}" if url else ""
        raise ValidationError(f"exchange {exchange}{where} did not answer with its markets: {exc}") from None
    finally:
        client.close()
    document = {"balances": {a: [format(v, "f"), "0"] for a, v in sorted(balances.items())}, "markets": {}}
    with session(write=True) as s:
        return AccountRepository(s).create(name, exchange, url=url, paper=document)


def paper_free(record: AccountRecord) -> dict[str, Decimal]:
    """A paper account's free balances, as its simulated exchange holds them."""
    from bastion.storage import AccountRepository

    with session() as s:
        document = AccountRepository(s).paper_document(record.id) or {}
    return {a: Decimal(free) for a, (free, _) in document.get("balances", {}).items()}


def account_rows() -> list[AccountRow]:
    """Every account Bastion knows, live or PAPER (paper ones with their balances)."""
    from bastion.storage import AccountRepository

    with session() as s:
        records = AccountRepository(s).all()
        documents = {r.id: AccountRepository(s).paper_document(r.id) for r in records if r.paper}
    rows = []
    for r in records:
        document = documents.get(r.id) or {}
        balances = {a: Decimal(free) + Decimal(locked) for a, (free, locked) in document.get("balances", {}).items()}
        rows.append(
            AccountRow(
                name=r.name,
                exchange=r.exchange,
                url=r.url,
                mode="PAPER" if r.paper else "live",
                state=r.state.value,
                balances=balances,
            )
        )
    return rows


def market_snapshot(record: AccountRecord, symbols: Iterable[str]) -> MarketSnapshot:
    """Return the rules of every market of the account's exchange and the last price of ``symbols``."""
    from bastion.exchanges.ccxt.adapter import CcxtExchange

    exchange = CcxtExchange(record.exchange, url=record.url)
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
    from bastion.custody.layout import HomeLayout
    from bastion.storage import AccountRepository, ApiKeyRepository, create_engine_for, session_factory, upgrade

    engine = create_engine_for(HomeLayout.from_env().custody_database_url())  # the signer's own database
    try:
        upgrade(engine)
        with session_factory(engine).begin() as s:
            keys = ApiKeyRepository(s).all()
            states = {a.name: a.state.value for a in AccountRepository(s).all()}
    finally:
        engine.dispose()
    return keys, states


def sync_accounts(sessions: sessionmaker[Session], statuses: Iterable[Mapping[str, Any]]) -> list[str]:
    """Create or update the accounts the signer reported; return the names created or changed.

    Parameters
    ----------
    sessions
        The main database.
    statuses
        The signer's ``key_status`` answer: one mapping per account with ``account``,
        ``exchange`` and ``url``.

    Raises
    ------
    ValidationError
        An account here is on another exchange than the signer's account of the same name.
    """
    from bastion.storage import AccountRepository

    changed: list[str] = []
    with sessions.begin() as session:
        accounts = AccountRepository(session)
        for status in statuses:
            name, exchange, url = status.get("account"), status.get("exchange"), status.get("url")
            if not isinstance(name, str) or not isinstance(exchange, str):
                raise ValidationError(f"the signer's key_status lacks account or exchange: {sorted(status)}")
            url = url if isinstance(url, str) else None
            existing = accounts.get(name)
            if existing is None:
                accounts.create(name, exchange, url=url)
                changed.append(name)
            elif existing.exchange != exchange:
                raise ValidationError(
                    f"account {name!r} is on {existing.exchange!r} here but on {exchange!r} in the signer; "
                    "expected the same exchange"
                )
            elif existing.url != url:
                accounts.set_url(name, url)
                changed.append(name)
    return changed


def learn_account(name: str) -> None:
    """Learn an account this database does not know from the signer (production layout).

    The signer alone holds the accounts' keys; ``key_status`` gives their name, exchange and
    URL, which :func:`sync_accounts` keeps here. A signer that does not answer changes nothing:
    the caller then says that the account has no key.
    """
    from bastion.errors import SignerRefused, SignerUnavailable
    from bastion.services._db import open_database
    from bastion.storage import AccountRepository

    with session() as s:
        if AccountRepository(s).get(name) is not None:
            return
    from bastion.custody.layout import HomeLayout
    from bastion.custody.signer.client import SignerClient

    try:
        with SignerClient(HomeLayout.from_env().socket, timeout=10) as signer:
            statuses = signer.call("key_status")
    except (SignerRefused, SignerUnavailable):
        return
    engine, sessions = open_database()
    try:
        sync_accounts(sessions, statuses)
    finally:
        engine.dispose()
