"""leagues and their members: competitions whose members trade league accounts of their own

Self-contained: two new tables, nothing else altered (accounts already carry kind and league_id).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel

import models.types


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Money, Price = models.types.ScaledDecimal(2), models.types.ScaledDecimal(4)
When = models.types.UTCDateTime
Text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "leagues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("name", Text(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("starting_cash", Money, nullable=False),
        sa.Column("starts_at", When(), nullable=False),
        sa.Column("ends_at", When(), nullable=False),
        sa.Column("join_until", When(), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=True),
        sa.Column("max_position_percent", Money, nullable=True),
        sa.Column("allow_fractional", sa.Boolean(), nullable=False),
        sa.Column("order_types", sa.JSON(), nullable=True),
        sa.Column("min_price", Price, nullable=True),
        sa.Column("visibility", Text(length=7), nullable=False),
        sa.Column("invite_code", Text(length=16), nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.Column("settled_at", When(), nullable=True),
        sa.Column("final_standings", sa.JSON(), nullable=True),
        sa.CheckConstraint("starting_cash > 0", name="ck_leagues_starting_cash_positive"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_leagues_ends_after_start"),
        sa.CheckConstraint("visibility IN ('private', 'public')", name="ck_leagues_visibility"),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_leagues_invite_code", "leagues", ["invite_code"], unique=True)
    op.create_index("ix_leagues_owner", "leagues", ["owner_id"])
    op.create_index("ix_leagues_ends_at", "leagues", ["ends_at"])
    op.create_table(
        "league_members",
        sa.Column("league_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("joined_at", When(), nullable=False),
        sa.Column("left_at", When(), nullable=True),
        sa.Column("removed_at", When(), nullable=True),
        sa.ForeignKeyConstraint(["league_id"], ["leagues.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("league_id", "user_id"),
    )
    op.create_index("ix_league_members_user", "league_members", ["user_id"])
    op.create_index("ix_league_members_account", "league_members", ["account_id"])


def downgrade() -> None:
    op.drop_table("league_members")
    op.drop_table("leagues")
