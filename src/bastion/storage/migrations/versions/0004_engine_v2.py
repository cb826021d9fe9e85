"""Engine v2: bot status and its reason, deal outcome, order role, order identity, the command queue.

An order's identity on an exchange is (account, symbol, exchange order id): exchanges number
orders per symbol. Manual commands (close/cancel a deal, add funds, stop/start/edit a bot) wait
in ``commands`` until the engine applies them and records the result.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BOT_STATUSES = "status IN ('running', 'stopping', 'stopped', 'paused', 'error')"


def upgrade() -> None:
    with op.batch_alter_table("bots") as batch:
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default="stopped"))
        batch.add_column(sa.Column("status_reason", sa.Text(), nullable=True))
    op.execute("UPDATE bots SET status = 'running' WHERE enabled")
    with op.batch_alter_table("bots") as batch:
        batch.alter_column("status", server_default=None)
        batch.create_check_constraint("status", BOT_STATUSES)
    with op.batch_alter_table("deals") as batch:
        batch.add_column(sa.Column("outcome", sa.String(32), nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=True))
        batch.create_unique_constraint(
            "uq_orders_account_id_symbol_exchange_order_id", ["account_id", "symbol", "exchange_order_id"]
        )
    op.create_table(
        "commands",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("bot_id", ID, nullable=True),
        sa.Column("deal_id", ID, nullable=True),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("done_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_commands"),
        sa.ForeignKeyConstraint(["bot_id"], ["bots.id"], name="fk_commands_bot_id_bots"),
        sa.ForeignKeyConstraint(["deal_id"], ["deals.id"], name="fk_commands_deal_id_deals"),
        sa.CheckConstraint("status IN ('pending', 'done', 'failed')", name="ck_commands_status"),
    )
    op.create_index("ix_commands_status", "commands", ["status"])


def downgrade() -> None:
    op.drop_index("ix_commands_status", table_name="commands")
    op.drop_table("commands")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("uq_orders_account_id_symbol_exchange_order_id", type_="unique")
        batch.drop_column("role")
    with op.batch_alter_table("deals") as batch:
        batch.drop_column("outcome")
    with op.batch_alter_table("bots") as batch:
        batch.drop_constraint("status", type_="check")
        batch.drop_column("status_reason")
        batch.drop_column("status")
