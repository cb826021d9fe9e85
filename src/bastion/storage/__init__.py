"""Storage: SQLAlchemy models, repositories and Alembic migrations (SQLite or PostgreSQL).

Open a database and bring it to the current schema::

    from bastion.storage import create_engine_for, database_url, session_factory, upgrade

    engine = create_engine_for(database_url())
    upgrade(engine)
    factory = session_factory(engine)
    with factory.begin() as session:
        orders = OrderRepository(session).open_orders(account_id)

Repositories hand out domain types (``Order``, ``Market``) or frozen records, never rows.
Money is stored exactly (:class:`~bastion.storage.types.DecimalText`).
"""

from bastion.storage.db import (
    bastion_home,
    create_engine_for,
    current_revision,
    database_url,
    downgrade,
    head_revision,
    mask_url,
    session_factory,
    upgrade,
)
from bastion.storage.records import (
    AccountRecord,
    AccountState,
    BotRecord,
    DealRecord,
    DealStatus,
    EventRecord,
    UpsertCounts,
)
from bastion.storage.repositories import (
    AccountRepository,
    ApiKeyRecord,
    ApiKeyRepository,
    BotRepository,
    CandleRepository,
    Clock,
    CommandRecord,
    CommandRepository,
    CommandStatus,
    DealRepository,
    EventRepository,
    MarketRepository,
    OrderRepository,
    PolicyRecord,
    PolicyRepository,
    ReplayedSignal,
    SignalRecord,
    SignalRepository,
    SignalStatus,
    utc_now,
)
from bastion.storage.types import ColumnValueError, DecimalText, UtcDateTime

__all__ = [
    "AccountRecord",
    "AccountRepository",
    "AccountState",
    "ApiKeyRecord",
    "ApiKeyRepository",
    "BotRecord",
    "BotRepository",
    "CandleRepository",
    "Clock",
    "ColumnValueError",
    "CommandRecord",
    "CommandRepository",
    "CommandStatus",
    "DealRecord",
    "DealRepository",
    "DealStatus",
    "DecimalText",
    "EventRecord",
    "EventRepository",
    "MarketRepository",
    "OrderRepository",
    "PolicyRecord",
    "PolicyRepository",
    "ReplayedSignal",
    "SignalRecord",
    "SignalRepository",
    "SignalStatus",
    "UpsertCounts",
    "UtcDateTime",
    "bastion_home",
    "create_engine_for",
    "current_revision",
    "database_url",
    "downgrade",
    "head_revision",
    "mask_url",
    "session_factory",
    "upgrade",
    "utc_now",
]
