"""Who may reach what: accounts belong to web users; bots, deals and commands through their account.

Every look-up here takes the user's id and answers :class:`NotYours` both when the thing does
not exist and when it belongs to someone else, with the same words: changing an id in a URL
tells a user nothing about other users' accounts. The web's routers call these before any
other use case; the CLI (the operator) reaches everything.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bastion.errors import ValidationError
from bastion.storage import AccountRecord, BotRecord, BotRepository, CommandRecord, CommandRepository, DealRepository
from bastion.storage.records import DealRecord
from bastion.storage.repositories.users import UserRepository

__all__ = [
    "NotYours",
    "user_account",
    "user_account_named",
    "user_accounts",
    "user_bot",
    "user_bot_names",
    "user_command",
    "user_deal",
]


class NotYours(ValidationError):
    """No such account, bot, deal or command among the user's (it may not exist at all)."""


def user_accounts(sessions: sessionmaker[Session], user_id: int) -> list[AccountRecord]:
    """Return the accounts the user owns, by name."""
    with sessions() as session:
        return UserRepository(session).owned_accounts(user_id)


def _owned(session: Session, user_id: int, account_id: int) -> bool:
    return UserRepository(session).account_owner(account_id) == user_id


def user_account(sessions: sessionmaker[Session], user_id: int, account_id: int) -> AccountRecord:
    """Return the user's account with this id.

    Raises
    ------
    NotYours
        No account with this id is the user's.
    """
    with sessions() as session:
        for account in UserRepository(session).owned_accounts(user_id):
            if account.id == account_id:
                return account
    raise NotYours(f"you have no account with id {account_id}")


def user_account_named(sessions: sessionmaker[Session], user_id: int, name: str) -> AccountRecord:
    """Return the user's account called ``name`` (a bot config names its account).

    Raises
    ------
    NotYours
        None of the user's accounts has this name.
    """
    with sessions() as session:
        for account in UserRepository(session).owned_accounts(user_id):
            if account.name == name:
                return account
    raise NotYours(f"you have no account named {name[:64]!r}")


def user_bot(sessions: sessionmaker[Session], user_id: int, name: str) -> BotRecord:
    """Return the bot called ``name`` if its account is the user's.

    Raises
    ------
    NotYours
        No bot of this name trades on one of the user's accounts.
    """
    with sessions() as session:
        bot = BotRepository(session).get(name)
        if bot is not None and _owned(session, user_id, bot.account_id):
            return bot
    raise NotYours(f"you have no bot named {name[:64]!r}")


def user_bot_names(sessions: sessionmaker[Session], user_id: int) -> set[str]:
    """Return the names of the bots on the user's accounts."""
    with sessions() as session:
        owned = {a.id for a in UserRepository(session).owned_accounts(user_id)}
        return {b.name for b in BotRepository(session).all() if b.account_id in owned}


def user_deal(sessions: sessionmaker[Session], user_id: int, deal_id: int) -> DealRecord:
    """Return the deal with this id if its bot trades on one of the user's accounts.

    Raises
    ------
    NotYours
        No such deal among the user's.
    """
    with sessions() as session:
        deal = DealRepository(session).get(deal_id)
        bot = None if deal is None else BotRepository(session).get_by_id(deal.bot_id)
        if deal is not None and bot is not None and _owned(session, user_id, bot.account_id):
            return deal
    raise NotYours(f"you have no deal with id {deal_id}")


def user_command(sessions: sessionmaker[Session], user_id: int, command_id: int) -> CommandRecord:
    """Return a queued manual command if it acts on the user's bot or deal.

    Raises
    ------
    NotYours
        No such command among the user's.
    """
    with sessions() as session:
        command = CommandRepository(session).get(command_id)
        bot_id = None
        if command is not None:
            bot_id = command.bot_id
            if bot_id is None and command.deal_id is not None:
                deal = DealRepository(session).get(command.deal_id)
                bot_id = None if deal is None else deal.bot_id
        bot = None if bot_id is None else BotRepository(session).get_by_id(bot_id)
        if command is not None and bot is not None and _owned(session, user_id, bot.account_id):
            return command
    raise NotYours(f"you have no command with id {command_id}")
