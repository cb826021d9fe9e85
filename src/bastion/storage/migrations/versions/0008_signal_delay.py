"""Delayed signals: ``signals.not_before_ms``, when a 3Commas DCA message with ``delay_seconds`` is due.

A pending signal with a ``not_before_ms`` in the future waits in the database (so an engine
restart does not lose it) and is handed to its bot only from that time on.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.add_column(sa.Column("not_before_ms", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("signals") as batch:
        batch.drop_column("not_before_ms")
