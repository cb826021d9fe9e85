"""Bodies of the data API. Money is a decimal string (``"25.10"``), never a JSON number."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccountOut",
    "AddFunds",
    "Alert",
    "AuditEntryOut",
    "AuditHead",
    "AuditPage",
    "AuditVerified",
    "BotConfigIn",
    "BotDetailOut",
    "BotOut",
    "CloseDeal",
    "CommandOut",
    "CreatedOut",
    "DealDetailOut",
    "DealOut",
    "KeyStatusOut",
    "OrderOut",
    "PlanOut",
    "PlannedOrderOut",
    "PolicyChange",
    "PolicyOut",
    "StartedOut",
    "StopBot",
    "UserOut",
]

Money = str | None
_DECIMAL = r"^[0-9]{1,20}(\.[0-9]{1,18})?$"


class AccountOut(BaseModel):
    """One of the user's exchange accounts (its keys live in the signer only)."""

    id: int
    name: str
    exchange: str
    state: Literal["active", "reducing", "halted"]
    url: str | None


class PolicyOut(BaseModel):
    """The account's trade policy and state, as the signer holds it."""

    account: str
    state: str
    reason: str | None
    policy: dict[str, Any]
    revision: int | None = Field(default=None, description="The policy's revision (a sealed loosening is bound to it)")


class PolicyChange(BaseModel):
    """Policy fields to change (the signer's names, e.g. ``max_order_notional``)."""

    model_config = ConfigDict(extra="forbid")

    changes: dict[str, Any] = Field(min_length=1, max_length=16)
    reason: str | None = Field(default=None, max_length=200)


class SealedLoosening(BaseModel):
    """A policy change with the vault passphrase sealed in the page to the signer's key (see seal.js).

    The signer opens the passphrase only for this account, exactly this ``changes_json`` text, this
    ``expected_revision`` and ``reason``, and only once; the web process relays it unopened.
    """

    model_config = ConfigDict(extra="forbid")

    changes_json: str = Field(
        min_length=2, max_length=4096, description="The changes as the JSON text the page sealed the passphrase with"
    )
    expected_revision: int = Field(ge=0, le=2**53, description="The policy revision the page showed")
    reason: str | None = Field(default=None, max_length=200)
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$", description="The key id of the sealing key the page used")
    enc: str = Field(pattern=r"^[A-Za-z0-9_-]{43}=?$", description="The page's ephemeral X25519 key, base64url")
    ciphertext: str = Field(pattern=r"^[A-Za-z0-9_-]{24,5464}={0,2}$",
                            description="AES-256-GCM output (ciphertext and tag), base64url")  # fmt: skip


class BotOut(BaseModel):
    """One line of the bot list."""

    name: str
    type: str
    account: str
    state: Literal["running", "stopping", "stopped", "paused", "error"]
    reason: str | None
    open_deals: int
    closed_deals: int


class BotDetailOut(BotOut):
    """A bot with its TOML config and the values it saved."""

    config_toml: str
    saved_state: dict[str, str]


class BotConfigIn(BaseModel):
    """A bot config as TOML text (the same format and checks as ``bastion bot create --config``)."""

    model_config = ConfigDict(extra="forbid")

    config_toml: str = Field(min_length=1, max_length=64 * 1024)


class CreatedOut(BaseModel):
    """A stored bot; a signal bot's webhook secret is shown here once and never again."""

    name: str
    type: str
    account: str
    webhook_uuid: str | None
    webhook_secret: str | None
    warnings: list[str]


class StartedOut(BaseModel):
    """A bot just enabled, with warnings."""

    name: str
    warnings: list[str]


class StopBot(BaseModel):
    """What happens to the open deals of a stopped bot."""

    model_config = ConfigDict(extra="forbid")

    deals: Literal["keep", "cancel", "close"] = "keep"


class CommandOut(BaseModel):
    """A manual command queued for the engine, and its result once applied."""

    id: int
    kind: str
    status: Literal["pending", "done", "failed"]
    result: str | None
    bot: str | None = None
    deal: int | None = None


class DealOut(BaseModel):
    """One deal (the fields of ``bastion deal list --json``)."""

    id: int
    bot: str | None
    pair: str
    status: str
    direction: str
    base_order_price: Money
    safety_orders_filled: int
    avg_price: Money
    take_profit_price: Money
    close_price: Money
    amount: Money
    profit_quote: Money
    opened_at: str | None
    closed_at: str | None


class OrderOut(BaseModel):
    """One order of a deal."""

    client_order_id: str
    exchange_order_id: str | None
    bot: str | None
    deal: int | None
    pair: str
    side: str
    type: str
    price: Money
    amount: Money
    filled: Money
    status: str


class DealDetailOut(BaseModel):
    """A deal and its orders."""

    deal: DealOut
    orders: list[OrderOut]


class CloseDeal(BaseModel):
    """Close at market, or at a limit price."""

    model_config = ConfigDict(extra="forbid")

    limit_price: str | None = Field(default=None, pattern=_DECIMAL)


class AddFunds(BaseModel):
    """Buy ``amount`` (base) more for the deal, at market or at ``price``."""

    model_config = ConfigDict(extra="forbid")

    amount: str = Field(pattern=_DECIMAL)
    price: str | None = Field(default=None, pattern=_DECIMAL)


class UserOut(BaseModel):
    """A web user (admins see them; never a secret)."""

    name: str
    role: Literal["admin", "trader", "viewer"]
    totp: bool
    accounts: list[str]


class KeyStatusOut(BaseModel):
    """An account's key as the signer sees it (never the key itself: its last four characters)."""

    account: str
    exchange: str
    key_hint: str
    status: str
    status_reason: str | None
    state: str
    state_reason: str | None
    permissions: dict[str, Any] | None
    last_permission_check_ms: int | None
    last_leak_check_ms: int | None
    foreign_orders: int
    balance_findings: int


class Alert(BaseModel):
    """Something on one of your accounts that needs a look."""

    account: str
    kind: Literal["leak", "policy", "key", "signer"]
    severity: Literal["critical", "warning"]
    message: str


class AuditEntryOut(BaseModel):
    """One audit log entry (hash-chained; never a secret)."""

    seq: int
    ts_ms: int
    kind: str
    payload: dict[str, Any]
    hash: str


class AuditHead(BaseModel):
    """The latest head the signer signed."""

    seq: int
    hash: str
    ts_ms: int


class AuditPage(BaseModel):
    """Entries of your accounts, oldest first, and the signed head."""

    entries: list[AuditEntryOut]
    head: AuditHead | None


class AuditVerified(BaseModel):
    """The result of verifying the whole log against the signer's key."""

    ok: bool
    entries: int
    head_seq: int | None
    head_hash: str | None
    unsigned_entries: int
    failure: str | None


class PlannedOrderOut(BaseModel):
    """One order the bot can place: which, where, and the money it needs (quote)."""

    what: str
    symbol: str
    side: Literal["buy", "sell"]
    amount: str
    price: str
    notional: str


class PlanOut(BaseModel):
    """Every order a config can place at today's prices, per pair one full deal, before it is saved."""

    max_deals: int
    deals: dict[str, list[PlannedOrderOut]]
    deal_notional: dict[str, str]
