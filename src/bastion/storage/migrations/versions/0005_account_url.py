"""Accounts carry their exchange URL (not a secret), so the engine never reads the custody tables.

In the production layout the sealed keys live in the signer's own database; the engine learns an
account's name, exchange and URL from the signer's ``key_status`` and keeps them here.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("accounts", sa.Column("url", sa.String(512), nullable=True))
    op.execute("UPDATE accounts SET url = (SELECT api_keys.url FROM api_keys WHERE api_keys.account_id = accounts.id)")


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("url")
