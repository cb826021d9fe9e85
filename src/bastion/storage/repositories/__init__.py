"""Repositories: one per aggregate, each working inside the caller's session.

::

    with factory.begin() as session:          # one transaction
        account = AccountRepository(session).create("main", "binance")
        OrderRepository(session).save(order, account_id=account.id)
"""

from bastion.storage.repositories._base import Clock, utc_now
from bastion.storage.repositories.accounts import AccountRepository
from bastion.storage.repositories.bots import BotRepository
from bastion.storage.repositories.candles import CandleRepository
from bastion.storage.repositories.commands import CommandRecord, CommandRepository, CommandStatus
from bastion.storage.repositories.custody import ApiKeyRecord, ApiKeyRepository, PolicyRecord, PolicyRepository
from bastion.storage.repositories.deals import DealRepository
from bastion.storage.repositories.events import EventRepository
from bastion.storage.repositories.markets import MarketRepository
from bastion.storage.repositories.orders import OrderRepository
from bastion.storage.repositories.signals import ReplayedSignal, SignalRecord, SignalRepository, SignalStatus

__all__ = [
    "AccountRepository",
    "ApiKeyRecord",
    "ApiKeyRepository",
    "BotRepository",
    "CandleRepository",
    "Clock",
    "CommandRecord",
    "CommandRepository",
    "CommandStatus",
    "DealRepository",
    "EventRepository",
    "MarketRepository",
    "OrderRepository",
    "PolicyRecord",
    "PolicyRepository",
    "ReplayedSignal",
    "SignalRecord",
    "SignalRepository",
    "SignalStatus",
    "utc_now",
]
