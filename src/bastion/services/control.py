"""Manual control of deals and bots: the use cases the CLI and the web share.

The engine is another process, so a command is queued (``commands`` table) and the engine
applies it as a core event at its next step and records the result; :func:`wait` polls for it.
What can be checked here is checked before queuing, and refused with a clear message: the deal
or bot exists, amounts and prices are positive, a new config parses, keeps the bot's name, type
and account, and does not change fields that shape the open deals while deals are open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session, sessionmaker

from bastion.bots.registry import load_config
from bastion.engine.core.edits import changed_fields, refused_fields
from bastion.engine.core.model import StopMode
from bastion.errors import ValidationError
from bastion.storage import (
    BotRecord,
    BotRepository,
    CommandRecord,
    CommandRepository,
    CommandStatus,
    DealRepository,
    DealStatus,
)

__all__ = [
    "CommandRecord",
    "CommandStatus",
    "add_funds",
    "cancel_deal",
    "close_deal",
    "edit_bot",
    "stop_bot",
    "submit",
    "wait",
]


def _positive(value: Decimal | str | None, option: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(f"{option} must be a decimal number, got {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise ValidationError(f"{option} must be a positive number, got {value!r}")
    return number


def _open_deal(session: Session, deal_id: int) -> None:
    deal = DealRepository(session).get(deal_id)
    if deal is None:
        raise ValidationError(f"no deal with id {deal_id}; see `bastion deal list`")
    if deal.status is not DealStatus.OPEN:
        raise ValidationError(f"deal {deal_id} is already {deal.status.value}; expected an open deal")


def _bot(session: Session, name: str) -> BotRecord:
    bot = BotRepository(session).get(name)
    if bot is None:
        raise ValidationError(f"no bot named {name!r}; see `bastion bot list`")
    return bot


def close_deal(
    sessions: sessionmaker[Session], deal_id: int, *, limit_price: Decimal | str | None = None
) -> CommandRecord:
    """Queue closing a deal: cancel its orders, then sell at market (or at ``limit_price``)."""
    limit = _positive(limit_price, "--limit")
    with sessions.begin() as session:
        _open_deal(session, deal_id)
        payload = {"limit_price": None if limit is None else str(limit)}
        return CommandRepository(session).enqueue("close_deal", deal_id=deal_id, payload=payload)


def cancel_deal(sessions: sessionmaker[Session], deal_id: int) -> CommandRecord:
    """Queue cancelling a deal: its orders are cancelled, the assets stay on the account."""
    with sessions.begin() as session:
        _open_deal(session, deal_id)
        return CommandRepository(session).enqueue("cancel_deal", deal_id=deal_id, payload={})


def add_funds(
    sessions: sessionmaker[Session], deal_id: int, *, amount: Decimal | str, price: Decimal | str | None = None
) -> CommandRecord:
    """Queue adding ``amount`` (base) to a DCA deal, at market or at the limit ``price``."""
    size = _positive(amount, "--amount")
    limit = _positive(price, "--price")
    with sessions.begin() as session:
        _open_deal(session, deal_id)
        payload = {"amount": str(size), "price": None if limit is None else str(limit)}
        return CommandRepository(session).enqueue("add_funds", deal_id=deal_id, payload=payload)


def stop_bot(sessions: sessionmaker[Session], name: str, *, deals: StopMode | str = StopMode.KEEP) -> CommandRecord:
    """Stop a bot: it opens no new deal; its open deals are kept (managed until they end), cancelled or closed."""
    try:
        mode = StopMode(deals)
    except ValueError:
        raise ValidationError(f"--deals must be one of keep, cancel, close; got {deals!r}") from None
    with sessions.begin() as session:
        bot = _bot(session, name)
        BotRepository(session).set_enabled(name, False)
        return CommandRepository(session).enqueue("stop_bot", bot_id=bot.id, payload={"deals": mode.value})


def edit_bot(sessions: sessionmaker[Session], name: str, config_toml: str) -> CommandRecord:
    """Queue a new config for a bot, refusing (naming them) fields that may not change now.

    Raises
    ------
    ConfigError
        The new config is invalid (the message names the key).
    ValidationError
        No such bot, or the edit changes fields it may not change now.
    """
    new = load_config(config_toml)
    with sessions.begin() as session:
        bot = _bot(session, name)
        old = load_config(bot.config_toml)
        if type(new) is not type(old):
            raise ValidationError(f"bot {name} is a {bot.type} bot; the new config has type {new.type!r}")
        open_deals = DealRepository(session).for_bot(bot.id, status=DealStatus.OPEN)
        changed = changed_fields(old, new)
        refused = refused_fields(bot.type, changed, deals_open=bool(open_deals))
        if refused:
            when = "never change" if not open_deals else f"cannot change while {len(open_deals)} deal(s) are open"
            raise ValidationError(f"bot {name}: {', '.join(refused)} {when}; nothing changed")
        if not changed:
            raise ValidationError(f"bot {name}: the new config changes nothing")
        return CommandRepository(session).enqueue("edit_bot", bot_id=bot.id, payload={"config_toml": config_toml})


def wait(
    sessions: sessionmaker[Session],
    command_id: int,
    *,
    timeout_s: float = 10.0,
    poll_s: float = 0.2,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> CommandRecord:
    """Wait until the engine has applied the command (or ``timeout_s`` passed); return it as it is."""
    deadline = monotonic() + timeout_s
    while True:
        with sessions() as session:
            command = CommandRepository(session).get(command_id)
        if command is None:
            raise ValidationError(f"no command with id {command_id}")
        if command.status is not CommandStatus.PENDING or monotonic() >= deadline:
            return command
        sleep(poll_s)


def submit(queue: Callable[[sessionmaker[Session]], CommandRecord], *, wait_s: float) -> tuple[int, CommandRecord]:
    """Queue one command on the configured database and wait up to ``wait_s`` for the engine's result.

    Return the command's id and the command as it then is (still PENDING when no engine applied it).
    """
    from bastion.services._db import open_database

    engine, sessions = open_database()
    try:
        command_id = queue(sessions).id
        return command_id, wait(sessions, command_id, timeout_s=wait_s)
    finally:
        engine.dispose()
