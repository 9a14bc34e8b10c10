"""API keys: key pairs that trade one account of their user

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel

import models.types


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

When = models.types.UTCDateTime
Text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("name", Text(length=50), nullable=False),
        sa.Column("key_id", Text(length=20), nullable=False),
        sa.Column("secret_hash", Text(length=64), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("last_used_at", When(), nullable=True),
        sa.Column("revoked_at", When(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_api_keys_key_id", "api_keys", ["key_id"], unique=True)
    op.create_index("ix_api_keys_user", "api_keys", ["user_id"])
    op.create_index("ix_api_keys_account", "api_keys", ["account_id"])


def downgrade() -> None:
    op.drop_table("api_keys")
