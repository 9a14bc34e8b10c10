"""order expiry and rejection reason

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 05:04:53.571839
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel

import models.types


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("expires_at", models.types.UTCDateTime(), nullable=True))
    op.add_column("orders", sa.Column("reject_reason", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    op.create_index("ix_orders_status_expires", "orders", ["status", "expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_orders_status_expires", table_name="orders")
    op.drop_column("orders", "reject_reason")
    op.drop_column("orders", "expires_at")
