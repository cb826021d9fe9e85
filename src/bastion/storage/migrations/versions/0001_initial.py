"""Initial schema: accounts, markets, candles, bots, deals, orders, fills, events.

Revision ID: 0001
Revises:

Money columns are TEXT on SQLite (canonical decimal strings; TEXT affinity, so SQLite never
turns them into floats) and unconstrained NUMERIC on PostgreSQL. The events table is
append-only: triggers refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DECIMAL = sa.Text().with_variant(postgresql.NUMERIC(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

ORDER_STATUSES = "'initialized', 'accepted', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired'"

SQLITE_TRIGGERS = [
    """CREATE TRIGGER events_no_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE refused'); END""",
    """CREATE TRIGGER events_no_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE refused'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE FUNCTION bastion_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'events are append-only: % refused', TG_OP;
       END $$""",
    """CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION bastion_events_append_only()""",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION bastion_events_append_only()""",
]


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("exchange", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("name", name="uq_accounts_name"),
        sa.CheckConstraint("state IN ('active', 'reducing', 'halted')", name="ck_accounts_state"),
    )
    op.create_table(
        "markets",
        sa.Column("id", ID, nullable=False),
        sa.Column("exchange", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("base", sa.String(32), nullable=False),
        sa.Column("quote", sa.String(32), nullable=False),
        sa.Column("tick_size", DECIMAL, nullable=False),
        sa.Column("lot_step", DECIMAL, nullable=False),
        sa.Column("min_amount", DECIMAL, nullable=True),
        sa.Column("max_amount", DECIMAL, nullable=True),
        sa.Column("min_price", DECIMAL, nullable=True),
        sa.Column("max_price", DECIMAL, nullable=True),
        sa.Column("min_notional", DECIMAL, nullable=True),
        sa.Column("max_notional", DECIMAL, nullable=True),
        sa.Column("maker_fee", DECIMAL, nullable=False),
        sa.Column("taker_fee", DECIMAL, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_markets"),
        sa.UniqueConstraint("exchange", "symbol", name="uq_markets_exchange_symbol"),
    )
    op.create_table(
        "candles",
        sa.Column("exchange", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("open", DECIMAL, nullable=False),
        sa.Column("high", DECIMAL, nullable=False),
        sa.Column("low", DECIMAL, nullable=False),
        sa.Column("close", DECIMAL, nullable=False),
        sa.Column("volume", DECIMAL, nullable=True),
        sa.PrimaryKeyConstraint("exchange", "symbol", "timeframe", "ts_ms", name="pk_candles"),
    )
    op.create_table(
        "bots",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("config_toml", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bots"),
        sa.UniqueConstraint("name", name="uq_bots_name"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_bots_account_id_accounts"),
    )
    op.create_index("ix_bots_account_id", "bots", ["account_id"])
    op.create_table(
        "deals",
        sa.Column("id", ID, nullable=False),
        sa.Column("bot_id", ID, nullable=False),
        sa.Column("pair", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("base_order_price", DECIMAL, nullable=True),
        sa.Column("safety_orders_filled", sa.Integer(), nullable=False),
        sa.Column("avg_price", DECIMAL, nullable=True),
        sa.Column("take_profit_price", DECIMAL, nullable=True),
        sa.Column("close_price", DECIMAL, nullable=True),
        sa.Column("amount", DECIMAL, nullable=False),
        sa.Column("cost_quote", DECIMAL, nullable=False),
        sa.Column("profit_quote", DECIMAL, nullable=True),
        sa.Column("opened_at", TIMESTAMP, nullable=False),
        sa.Column("closed_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deals"),
        sa.ForeignKeyConstraint(["bot_id"], ["bots.id"], name="fk_deals_bot_id_bots"),
        sa.CheckConstraint("status IN ('open', 'closed', 'cancelled')", name="ck_deals_status"),
        sa.CheckConstraint("direction IN ('long', 'short')", name="ck_deals_direction"),
    )
    op.create_index("ix_deals_bot_id_status", "deals", ["bot_id", "status"])
    op.create_table(
        "orders",
        sa.Column("id", ID, nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("exchange_order_id", sa.String(64), nullable=True),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("bot_id", ID, nullable=True),
        sa.Column("deal_id", ID, nullable=True),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("price", DECIMAL, nullable=True),
        sa.Column("amount", DECIMAL, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
        sa.UniqueConstraint("client_order_id", name="uq_orders_client_order_id"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_orders_account_id_accounts"),
        sa.ForeignKeyConstraint(["bot_id"], ["bots.id"], name="fk_orders_bot_id_bots"),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name="fk_orders_deal_id_deals"),
        sa.CheckConstraint("side IN ('buy', 'sell')", name="ck_orders_side"),
        sa.CheckConstraint("type IN ('limit', 'market')", name="ck_orders_type"),
        sa.CheckConstraint(f"status IN ({ORDER_STATUSES})", name="ck_orders_status"),
    )
    op.create_index("ix_orders_account_id_status", "orders", ["account_id", "status"])
    op.create_index("ix_orders_bot_id", "orders", ["bot_id"])
    op.create_index("ix_orders_deal_id", "orders", ["deal_id"])
    op.create_index("ix_orders_exchange_order_id", "orders", ["exchange_order_id"])
    op.create_table(
        "fills",
        sa.Column("id", ID, nullable=False),
        sa.Column("order_id", ID, nullable=False),
        sa.Column("account_id", ID, nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("trade_id", sa.String(64), nullable=False),
        sa.Column("price", DECIMAL, nullable=False),
        sa.Column("amount", DECIMAL, nullable=False),
        sa.Column("fee", DECIMAL, nullable=False),
        sa.Column("fee_currency", sa.String(16), nullable=False),
        sa.Column("is_maker", sa.Boolean(), nullable=False),
        sa.Column("ts_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_fills"),
        sa.UniqueConstraint("account_id", "symbol", "trade_id", name="uq_fills_account_id_symbol_trade_id"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_fills_order_id_orders"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_fills_account_id_accounts"),
    )
    op.create_index("ix_fills_order_id", "fills", ["order_id"])
    op.create_table(
        "events",
        sa.Column("id", ID, nullable=False),
        sa.Column("ts", TIMESTAMP, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("aggregate_type", sa.String(32), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_aggregate_type_aggregate_id_id", "events", ["aggregate_type", "aggregate_id", "id"])

    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS if dialect == "postgresql" else ():
        op.execute(statement)


def downgrade() -> None:
    # Dropping the events table drops its triggers; the PostgreSQL function goes separately.
    op.drop_table("events")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION bastion_events_append_only()")
    op.drop_table("fills")
    op.drop_table("orders")
    op.drop_table("deals")
    op.drop_table("bots")
    op.drop_table("candles")
    op.drop_table("markets")
    op.drop_table("accounts")
