"""Bot use cases: create, list, show, start, stop, delete, template and export.

The CLI (and later the web) call these; nothing above this layer touches a repository.

Pre-flight (:mod:`bastion.services.preflight`) runs at ``create`` and at ``start``: every order
the config can produce is sized at the current prices and checked against the account's policy
and free balance, which only the signer knows. ``start`` refuses when the signer does not answer
(a bot started blind could be denied order after order); ``create`` stores the bot with a
warning instead, because a stopped bot places nothing and ``start`` checks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bastion.bots.config import BotConfig
from bastion.bots.registry import load_config
from bastion.errors import ConfigError, SignerRefused, SignerUnavailable, ValidationError
from bastion.services import preflight
from bastion.services._db import session
from bastion.services.accounts import SignerCalls, account, market_snapshot, signer_client, signer_view
from bastion.services.engine_lock import EngineHolder
from bastion.storage.records import AccountRecord, BotRecord

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "TEMPLATES",
    "BotDetail",
    "BotState",
    "BotSummary",
    "Created",
    "Started",
    "bot_state",
    "check_bot",
    "config_fields",
    "create_bot",
    "delete_bot",
    "engine_running",
    "export_bot",
    "list_bots",
    "plan_bot",
    "read_config_file",
    "show_bot",
    "start_bot",
    "stop_all_bots",
    "template",
]

#: Template names for ``bastion bot template`` and the example file each prints.
TEMPLATES: dict[str, str] = {
    "dca": "dca.toml",
    "dca_rsi": "dca_rsi.toml",
    "grid": "grid.toml",
    "smart_trade": "smart_trade.toml",
    "signal": "signal.toml",
}

StateName = Literal["running", "stopping", "stopped", "paused", "error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BotState:
    """What a bot is doing, and why when that is not obvious (paused, error)."""

    name: StateName
    reason: str | None = None

    def __str__(self) -> str:
        return self.name if self.reason is None else f"{self.name} ({self.reason})"


@dataclass(frozen=True, slots=True, kw_only=True)
class BotSummary:
    """One line of ``bot list``."""

    name: str
    type: str
    account: str
    state: BotState
    open_deals: int
    closed_deals: int
    paper: bool = False
    """Its account is a paper account (orders matched in the engine, never sent)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BotDetail:
    """``bot show``: the summary, the config text and the values the bot saved."""

    summary: BotSummary
    config_toml: str
    saved_state: dict[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Created:
    """A stored bot, its webhook secret when it takes signals (shown once), and warnings."""

    name: str
    type: str
    account: str
    webhook_uuid: str | None
    webhook_secret: str | None
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Started:
    """A bot just enabled, with warnings (no engine running)."""

    name: str
    warnings: tuple[str, ...]


def bot_state(record: BotRecord) -> BotState:
    """Return a bot's state: the one place ``bot list`` and ``bot show`` read it from."""
    return BotState(name=_state_name(record.status), reason=record.status_reason)


def _state_name(status: str) -> StateName:
    names: dict[str, StateName] = {
        "running": "running",
        "stopping": "stopping",
        "stopped": "stopped",
        "paused": "paused",
        "error": "error",
    }
    if status not in names:
        raise ValidationError(f"bot status {status!r} is not one of {', '.join(names)}")
    return names[status]


# --------------------------------------------------------------------------- reading configs


def read_config_file(path: Path) -> str:
    """Return the text of a bot's TOML file.

    Raises
    ------
    ConfigError
        The file cannot be read.
    """
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def template(kind: str) -> str:
    """Return the commented example config of ``kind`` (a key of :data:`TEMPLATES`).

    Raises
    ------
    ValidationError
        ``kind`` is not a template name (the message lists them).
    """
    file = TEMPLATES.get(kind)
    if file is None:
        raise ValidationError(f"no template {kind!r}; expected one of {', '.join(TEMPLATES)}")
    return resources.files("bastion.examples").joinpath(file).read_text(encoding="utf-8")


def config_fields(kind: str) -> list[tuple[str, str, str]]:
    """Return (field, kind of value, default or ``required``) of bot type ``kind``'s TOML keys, in order.

    Read from the config class itself, so help built from it cannot drift from the loader.
    """
    import dataclasses
    import typing

    from bastion.bots.registry import config_class

    cls = config_class(kind)
    hints = typing.get_type_hints(cls)
    out = []
    for item in dataclasses.fields(cls):
        if item.default is not dataclasses.MISSING:
            default = _show_default(item.default)
        elif item.default_factory is not dataclasses.MISSING:
            default = _show_default(item.default_factory())
        else:
            default = "required"
        out.append((item.name, _type_name(hints[item.name]), default))
    return out


def _show_default(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(repr(v) for v in value) + "]"
    type_name = getattr(value, "type", None)
    if isinstance(type_name, str):
        return f"{{type = {type_name!r}}}"
    return str(value)


def _type_name(annotation: object) -> str:
    import types
    import typing
    from decimal import Decimal

    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        if all(isinstance(a, type) and dataclasses_is(a) for a in args):
            return "table"
        return " or ".join(_type_name(a) for a in args)
    if origin is tuple:
        return f"list of {_type_name(args[0])}" if args else "list"
    if annotation is Decimal:
        return "decimal"
    if isinstance(annotation, type):
        return "table" if dataclasses_is(annotation) else annotation.__name__
    return str(annotation)


def dataclasses_is(value: type) -> bool:
    """Whether ``value`` is a dataclass (a nested TOML table)."""
    import dataclasses

    return dataclasses.is_dataclass(value)


# --------------------------------------------------------------------------- pre-flight


def check_bot(
    config: BotConfig, *, signer: SignerCalls | None, require_signer: bool, open_deals: int = 0
) -> tuple[str, ...]:
    """Check ``config`` against its markets, its account's policy and free balance.

    ``open_deals`` (a restart): deals it already holds, whose funds are no longer free.

    Returns warnings (the signer did not answer and ``require_signer`` is False).

    Raises
    ------
    ValidationError
        The account is unknown, an order breaks the market's rules, or pre-flight found
        breaches (the message lists each with the numbers).
    SignerUnavailable
        ``require_signer`` and no signer answers.
    """
    record = account(config.account)
    snapshot = market_snapshot(record, config.pairs)
    config.check_markets(snapshot.markets, prices=snapshot.prices)
    bot_plan = preflight.plan(config, snapshot.markets, snapshot.prices)
    if record.paper:  # no signer and no policy: the paper venue's own balances
        from bastion.services.accounts import paper_free

        breaches = preflight.check(bot_plan, policy=None, balances=paper_free(record), open_deals=open_deals)
        if breaches:
            lines = "\n".join(f"  - {b}" for b in breaches)
            raise ValidationError(
                f"bot {config.name} would be refused on PAPER account {config.account}:\n{lines}\n"
                "make the orders smaller or fewer"
            )
        return ()
    try:
        view = signer_view(signer or signer_client(), config.account)
    except SignerUnavailable as exc:
        if require_signer:
            raise SignerUnavailable(
                f"cannot check bot {config.name} against account {config.account}'s policy and balance: {exc}"
            ) from None
        return (
            f"the signer did not answer, so the account's policy and free balance were not checked ({exc}); "
            "`bastion bot start` checks them and refuses until the signer answers",
        )
    except SignerRefused as exc:
        raise ValidationError(f"the signer cannot show account {config.account!r}: {exc}") from None
    breaches = preflight.check(bot_plan, policy=view.policy, balances=view.free, open_deals=open_deals)
    if breaches:
        lines = "\n".join(f"  - {b}" for b in breaches)
        raise ValidationError(
            f"bot {config.name} would be refused on account {config.account}:\n{lines}\n"
            "make the orders smaller or fewer, or change the policy with `bastion policy set`"
        )
    warnings = []
    if view.state != "active":
        reason = f": {view.reason}" if view.reason else ""
        warnings.append(f"account {config.account} is {view.state.upper()}{reason}; the signer denies its orders")
    return tuple(warnings)


# --------------------------------------------------------------------------- use cases


def create_bot(text: str, *, signer: SignerCalls | None = None) -> Created:
    """Parse, check (markets, policy, balance) and store a bot; it starts stopped.

    Raises
    ------
    ConfigError
        The TOML is invalid (the message names the key).
    ValidationError
        The name is taken, the account unknown, or the checks refuse it.
    """
    from bastion.services.accounts import learn_account
    from bastion.storage import AccountRepository, BotRepository

    config = load_config(text)
    learn_account(config.account)
    warnings = check_bot(config, signer=signer, require_signer=False)

    uuid = secret = None
    with session(write=True) as s:
        record = AccountRepository(s).get(config.account)
        assert record is not None  # check_bot found it
        stored = BotRepository(s).create(
            config.name, type=config.type, account_id=record.id, config_toml=text, enabled=False
        )
        if config.takes_signals:
            from bastion.storage.repositories.signals import SignalRepository

            uuid, secret = SignalRepository(s).create_secret(stored.id)
    return Created(
        name=config.name,
        type=config.type,
        account=config.account,
        webhook_uuid=uuid,
        webhook_secret=secret,
        warnings=warnings,
    )


def start_bot(name: str, *, signer: SignerCalls | None = None) -> Started:
    """Check the bot again (the signer must answer) and enable it; warn when no engine runs.

    Raises
    ------
    ValidationError
        No such bot, or the checks refuse it.
    SignerUnavailable
        No signer answers: the bot stays stopped.
    """
    record = _bot(name)
    config = load_config(record.config_toml)
    from bastion.storage import DealRepository, DealStatus

    with session() as s:
        open_deals = len(DealRepository(s).for_bot(record.id, status=DealStatus.OPEN))
    warnings = list(check_bot(config, signer=signer, require_signer=True, open_deals=open_deals))
    from bastion.storage import BotRepository

    with session(write=True) as s:
        BotRepository(s).set_enabled(name, True)
    holder = engine_running()
    if holder is None:
        warnings.append("no engine is running on this database: start one with `bastion engine`")
    return Started(name=name, warnings=tuple(warnings))


def stop_all_bots() -> int:
    """Disable every enabled bot (``bastion panic``); return how many were running."""
    from bastion.storage import BotRepository

    with session(write=True) as s:
        bots = BotRepository(s)
        enabled = bots.all(enabled=True)
        for bot in enabled:
            bots.set_enabled(bot.name, False)
        return len(enabled)


def delete_bot(name: str) -> None:
    """Delete a bot that never traded."""
    from bastion.storage import BotRepository

    with session(write=True) as s:
        BotRepository(s).delete(name)


def export_bot(name: str) -> str:
    """Return the bot's TOML config, as stored (``bot create --config`` takes it back)."""
    return _bot(name).config_toml


def list_bots() -> list[BotSummary]:
    """Return every bot with its state and deal counts, by name."""
    from bastion.storage import AccountRepository, BotRepository

    with session() as s:
        accounts = {a.id: a for a in AccountRepository(s).all()}
        return [_summary(s, bot, accounts) for bot in BotRepository(s).all()]


def show_bot(name: str) -> BotDetail:
    """Return one bot's summary, config text and saved state.

    Raises
    ------
    ValidationError
        No such bot.
    """
    from bastion.storage import AccountRepository, BotRepository

    with session() as s:
        record = BotRepository(s).get(name)
        if record is None:
            raise ValidationError(f"no bot named {name!r}")
        accounts = {a.id: a for a in AccountRepository(s).all()}
        return BotDetail(
            summary=_summary(s, record, accounts),
            config_toml=record.config_toml,
            saved_state=BotRepository(s).state(name),
        )


def engine_running() -> EngineHolder | None:
    """Return the engine running on this database (its pid, host and start), or None."""
    from bastion.custody.layout import HomeLayout
    from bastion.services.engine_lock import lock_path, running_engine
    from bastion.storage import database_url

    return running_engine(lock_path(database_url(), HomeLayout.from_env().home))


def _summary(s: Session, record: BotRecord, accounts: dict[int, AccountRecord]) -> BotSummary:
    from bastion.storage import DealRepository, DealStatus

    deals = DealRepository(s).for_bot(record.id)
    account = accounts.get(record.account_id)
    return BotSummary(
        name=record.name,
        type=record.type,
        account="?" if account is None else account.name,
        paper=account is not None and account.paper,
        state=bot_state(record),
        open_deals=sum(1 for d in deals if d.status is DealStatus.OPEN),
        closed_deals=sum(1 for d in deals if d.status is DealStatus.CLOSED),
    )


def _bot(name: str) -> BotRecord:
    from bastion.storage import BotRepository

    with session() as s:
        record = BotRepository(s).get(name)
    if record is None:
        raise ValidationError(f"no bot named {name!r}")
    return record


def plan_bot(text: str) -> preflight.Plan:
    """Return every order a bot config can place at the current prices (its ladder or grid), without storing it.

    The same parser and market checks as :func:`create_bot`; market data is public (no key).

    Raises
    ------
    ConfigError
        The TOML is invalid.
    ValidationError
        The account is unknown, or an order breaks the market's rules.
    """
    config = load_config(text)
    record = account(config.account)
    snapshot = market_snapshot(record, config.pairs)
    config.check_markets(snapshot.markets, prices=snapshot.prices)
    return preflight.plan(config, snapshot.markets, snapshot.prices)
