"""price history candles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 04:58:01.433702
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel

import models.types


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candles",
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("t", models.types.UTCDateTime(), nullable=False),
        sa.Column("open", models.types.ScaledDecimal(4), nullable=False),
        sa.Column("high", models.types.ScaledDecimal(4), nullable=False),
        sa.Column("low", models.types.ScaledDecimal(4), nullable=False),
        sa.Column("close", models.types.ScaledDecimal(4), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "resolution", "t"),
    )


def downgrade() -> None:
    op.drop_table("candles")
