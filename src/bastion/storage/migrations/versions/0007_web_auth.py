"""Web login: users (Argon2id password hashes, TOTP sealed), sessions, passkeys; accounts belong to users.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("phrase", sa.String(128), nullable=False),
        sa.Column("totp_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("totp_confirmed", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("name", name="uq_users_name"),
        sa.CheckConstraint("role IN ('admin', 'trader', 'viewer')", name="ck_users_role"),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", ID, nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("factor_at", TIMESTAMP, nullable=True),
        sa.Column("challenge", sa.String(128), nullable=True),
        sa.Column("challenge_kind", sa.String(16), nullable=True),
        sa.Column("challenge_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_web_sessions"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_web_sessions_user_id_users"),
        sa.UniqueConstraint("token_sha256", name="uq_web_sessions_token_sha256"),
        sa.CheckConstraint("stage IN ('password', 'full')", name="ck_web_sessions_stage"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_table(
        "passkey_credentials",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("credential_id", sa.String(1400), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.String(256), nullable=True),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_passkey_credentials"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_passkey_credentials_user_id_users"),
        sa.UniqueConstraint("credential_id", name="uq_passkey_credentials_credential_id"),
    )
    op.create_index("ix_passkey_credentials_user_id", "passkey_credentials", ["user_id"])
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("owner_user_id", ID, nullable=True))
        batch.create_foreign_key("fk_accounts_owner_user_id_users", "users", ["owner_user_id"], ["id"])
        batch.create_index("ix_accounts_owner_user_id", ["owner_user_id"])


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_owner_user_id")
        batch.drop_constraint("fk_accounts_owner_user_id_users", type_="foreignkey")
        batch.drop_column("owner_user_id")
    op.drop_index("ix_passkey_credentials_user_id", table_name="passkey_credentials")
    op.drop_table("passkey_credentials")
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    op.drop_table("users")
