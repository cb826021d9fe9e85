"""SQLAlchemy ORM models: the database schema in Python.

Only the repositories in :mod:`bastion.storage.repositories` use these classes; everything
above storage works with domain types and records. Create a schema with
:func:`bastion.storage.db.upgrade` (Alembic), never ``metadata.create_all``: the migrations
also install what models cannot express (the append-only triggers on ``events``).

Every change here needs a new migration in ``migrations/versions``; ``tests/storage``
compares the two.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bastion.storage.types import BigId, DecimalText, UtcDateTime

__all__ = [
    "AccountPolicyRow",
    "AccountRow",
    "ApiKeyRow",
    "Base",
    "BotRow",
    "CandleRow",
    "CommandRow",
    "DealRow",
    "EventRow",
    "FillRow",
    "MarketRow",
    "OrderRow",
    "PaperAccountRow",
    "PasskeyRow",
    "SignalRow",
    "SignalSecretRow",
    "UserRow",
    "WebSessionRow",
]

#: Deterministic constraint names, so that later migrations (SQLite batch mode) can find them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonDocument = JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of every Bastion table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads it as a class attribute)
        Decimal: DecimalText(),
        datetime: UtcDateTime(),
        dict[str, Any]: JsonDocument,
    }


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class AccountRow(Base):
    """An exchange account; ``state`` gates what its bots may do."""

    __tablename__ = "accounts"
    __table_args__ = (_one_of("state", ("active", "reducing", "halted"), "state"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    exchange: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    url: Mapped[str | None] = mapped_column(String(512))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)


class PaperAccountRow(Base):
    """A paper account's simulated exchange: balances, open and recent orders (a JSON document).

    An account with this row is a paper account: its orders are matched in the engine by the
    simulator's matching core against the exchange's public candles, never sent anywhere.
    """

    __tablename__ = "paper_accounts"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    document: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class ApiKeyRow(Base):
    """An account's exchange API key: sealed by the vault to this row, never stored in clear.

    ``key_hint`` (last four characters) and ``fingerprint`` identify the key to the user.
    The sealed blobs' associated data is (account name, exchange, ``key_id``, ``version``).
    """

    __tablename__ = "api_keys"
    __table_args__ = (_one_of("status", ("active", "paused"), "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    exchange: Mapped[str] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(Text)
    key_hint: Mapped[str] = mapped_column(String(8))
    fingerprint: Mapped[str] = mapped_column(String(64))
    sealed_api_key: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    sealed_password: Mapped[bytes | None] = mapped_column(LargeBinary)
    allow_unrestricted_ip: Mapped[bool] = mapped_column(Boolean)
    permissions: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)
    checked_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AccountPolicyRow(Base):
    """An account's trade policy and state, signed by the signer's Ed25519 key.

    Only the signer writes it; a row whose signature does not verify (edited by anything
    else) makes the signer halt the account.
    """

    __tablename__ = "account_policies"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    config: Mapped[dict[str, Any]]
    reason: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]
    signature: Mapped[str] = mapped_column(String(128))


class MarketRow(Base):
    """A market's precision, limits and fees as the exchange reported them."""

    __tablename__ = "markets"
    __table_args__ = (UniqueConstraint("exchange", "symbol"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(64))
    base: Mapped[str] = mapped_column(String(32))
    quote: Mapped[str] = mapped_column(String(32))
    tick_size: Mapped[Decimal]
    lot_step: Mapped[Decimal]
    min_amount: Mapped[Decimal | None]
    max_amount: Mapped[Decimal | None]
    min_price: Mapped[Decimal | None]
    max_price: Mapped[Decimal | None]
    min_notional: Mapped[Decimal | None]
    max_notional: Mapped[Decimal | None]
    maker_fee: Mapped[Decimal]
    taker_fee: Mapped[Decimal]
    updated_at: Mapped[datetime]


class CandleRow(Base):
    """One OHLCV candle; the key is (exchange, symbol, timeframe, open time in ms)."""

    __tablename__ = "candles"

    exchange: Mapped[str] = mapped_column(String(32), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(8), primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    open: Mapped[Decimal]
    high: Mapped[Decimal]
    low: Mapped[Decimal]
    close: Mapped[Decimal]
    volume: Mapped[Decimal | None]


class BotRow(Base):
    """A bot and its configuration (TOML text)."""

    __tablename__ = "bots"
    __table_args__ = (_one_of("status", ("running", "stopping", "stopped", "paused", "error"), "status"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    config_toml: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    state: Mapped[dict[str, Any] | None]
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(Text)


class DealRow(Base):
    """A DCA deal: the base order, its safety orders and the take-profit that closes it."""

    __tablename__ = "deals"
    __table_args__ = (
        _one_of("status", ("open", "closed", "cancelled"), "status"),
        _one_of("direction", ("long", "short"), "direction"),
        Index(None, "bot_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"))
    pair: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    base_order_price: Mapped[Decimal | None]
    safety_orders_filled: Mapped[int] = mapped_column(Integer)
    avg_price: Mapped[Decimal | None]
    take_profit_price: Mapped[Decimal | None]
    close_price: Mapped[Decimal | None]
    amount: Mapped[Decimal]
    cost_quote: Mapped[Decimal]
    profit_quote: Mapped[Decimal | None]
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    state: Mapped[dict[str, Any] | None]
    outcome: Mapped[str | None] = mapped_column(String(32))


class OrderRow(Base):
    """An order's fixed parameters plus its current status (rebuilt from events on load)."""

    __tablename__ = "orders"
    __table_args__ = (
        _one_of("side", ("buy", "sell"), "side"),
        _one_of("type", ("limit", "market"), "type"),
        _one_of(
            "status",
            ("initialized", "accepted", "partially_filled", "filled", "cancelled", "rejected", "expired"),
            "status",
        ),
        Index(None, "account_id", "status"),
        UniqueConstraint("account_id", "symbol", "exchange_order_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    exchange_order_id: Mapped[str | None] = mapped_column(String(64), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    bot_id: Mapped[int | None] = mapped_column(ForeignKey("bots.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(16))
    price: Mapped[Decimal | None]
    amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    leg: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))


class FillRow(Base):
    """One execution of an order; a trade id is unique per account and symbol."""

    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("account_id", "symbol", "trade_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    symbol: Mapped[str] = mapped_column(String(64))
    trade_id: Mapped[str] = mapped_column(String(64))
    price: Mapped[Decimal]
    amount: Mapped[Decimal]
    fee: Mapped[Decimal]
    fee_currency: Mapped[str] = mapped_column(String(16))
    is_maker: Mapped[bool] = mapped_column(Boolean)
    ts_ms: Mapped[int] = mapped_column(BigInteger)


class SignalSecretRow(Base):
    """A signal bot's webhook identity: its public uuid and the SHA-256 of its secret (never the secret)."""

    __tablename__ = "signal_secrets"

    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class SignalRow(Base):
    """A signal received for a bot; ``digest`` (of the payload) refuses a replay."""

    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("bot_id", "digest"),
        _one_of("status", ("pending", "handled", "refused"), "status"),
        _one_of("action", ("enter_long", "exit_long", "enter_short", "exit_short"), "action"),
        Index(None, "bot_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bot_id: Mapped[int] = mapped_column(ForeignKey("bots.id"))
    digest: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    pair: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal | None]
    currency_type: Mapped[str] = mapped_column(String(8))
    trigger_price: Mapped[Decimal | None]
    sent_ms: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    #: A delayed signal (3Commas ``delay_seconds``) is not handed to its bot before this time.
    not_before_ms: Mapped[int | None] = mapped_column(BigInteger)


class CommandRow(Base):
    """A manual command (close a deal, stop a bot, ...) waiting for the engine, then its result."""

    __tablename__ = "commands"
    __table_args__ = (_one_of("status", ("pending", "done", "failed"), "status"), Index(None, "status"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    bot_id: Mapped[int | None] = mapped_column(ForeignKey("bots.id"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class EventRow(Base):
    """One entry of the append-only event log (UPDATE and DELETE are refused by triggers)."""

    __tablename__ = "events"
    __table_args__ = (Index(None, "aggregate_type", "aggregate_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ts: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    aggregate_type: Mapped[str] = mapped_column(String(32))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]


class UserRow(Base):
    """A person who logs in to the web dashboard: Argon2id password hash, role, anti-phishing phrase.

    ``totp_sealed`` is the TOTP secret sealed (AES-GCM) with the web process's own key, bound to
    the user's id; ``totp_last_step`` is the last time step accepted, so a code is never accepted twice.
    """

    __tablename__ = "users"
    __table_args__ = (_one_of("role", ("admin", "trader", "viewer"), "role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    phrase: Mapped[str] = mapped_column(String(128))
    totp_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_confirmed: Mapped[bool] = mapped_column(Boolean)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class WebSessionRow(Base):
    """A login session of the web dashboard; only the SHA-256 of its random id is stored.

    ``stage`` is ``password`` after the password step while a second factor is still due, then
    ``full``; ``factor_at`` is when a second factor was last given (step-up freshness).
    ``challenge`` is the pending WebAuthn challenge (base64url) and what it is for.
    """

    __tablename__ = "web_sessions"
    __table_args__ = (_one_of("stage", ("password", "full"), "stage"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    factor_at: Mapped[datetime | None]
    challenge: Mapped[str | None] = mapped_column(String(128))
    challenge_kind: Mapped[str | None] = mapped_column(String(16))
    challenge_at: Mapped[datetime | None]


class PasskeyRow(Base):
    """A WebAuthn credential (passkey) of a user: its id, COSE public key and signature counter."""

    __tablename__ = "passkey_credentials"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger)
    transports: Mapped[str | None] = mapped_column(String(256))
    label: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
