"""Paper accounts: a simulated exchange per account (balances, open and recent orders) as a document.

An account with a ``paper_accounts`` row is a paper account: the engine matches its orders in
process against the exchange's public candles and never sends them.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "paper_accounts",
        sa.Column("account_id", ID, nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_paper_accounts"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name="fk_paper_accounts_account_id_accounts"),
    )


def downgrade() -> None:
    op.drop_table("paper_accounts")
