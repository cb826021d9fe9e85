"""Engine: saved bot and deal state, order legs, signal bots' webhook secrets and received signals.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DECIMAL = sa.Text().with_variant(postgresql.NUMERIC(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("bots", sa.Column("state", JSON, nullable=True))
    op.add_column("deals", sa.Column("state", JSON, nullable=True))
    op.add_column("orders", sa.Column("leg", sa.String(64), nullable=True))
    op.create_table(
        "signal_secrets",
        sa.Column("bot_id", ID, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("bot_id", name="pk_signal_secrets"),
        sa.ForeignKeyConstraint(["bot_id"], ["bots.id"], name="fk_signal_secrets_bot_id_bots"),
        sa.UniqueConstraint("uuid", name="uq_signal_secrets_uuid"),
    )
    op.create_table(
        "signals",
        sa.Column("id", ID, nullable=False),
        sa.Column("bot_id", ID, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("pair", sa.String(64), nullable=False),
        sa.Column("amount", DECIMAL, nullable=True),
        sa.Column("currency_type", sa.String(8), nullable=False),
        sa.Column("trigger_price", DECIMAL, nullable=True),
        sa.Column("sent_ms", sa.BigInteger(), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_signals"),
        sa.ForeignKeyConstraint(["bot_id"], ["bots.id"], name="fk_signals_bot_id_bots"),
        sa.UniqueConstraint("bot_id", "digest", name="uq_signals_bot_id_digest"),
        sa.CheckConstraint("status IN ('pending', 'handled', 'refused')", name="ck_signals_status"),
        sa.CheckConstraint(
            "action IN ('enter_long', 'exit_long', 'enter_short', 'exit_short')", name="ck_signals_action"
        ),
    )
    op.create_index("ix_signals_bot_id_status", "signals", ["bot_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_signals_bot_id_status", table_name="signals")
    op.drop_table("signals")
    op.drop_table("signal_secrets")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("leg")
    with op.batch_alter_table("deals") as batch:
        batch.drop_column("state")
    with op.batch_alter_table("bots") as batch:
        batch.drop_column("state")
