"""Named watchlists: a user keeps several lists; the single list each user had becomes their first, "My First List"

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 15:00:00
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import sqlmodel

import models.types


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

FIRST_LIST = "My First List"


def upgrade() -> None:
    watchlists = op.create_table(
        "watchlists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_watchlists_user_id"), "watchlists", ["user_id"], unique=False)
    op.create_table(
        "watchlist_symbols",
        sa.Column("watchlist_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["watchlist_id"], ["watchlists.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("watchlist_id", "symbol"),
    )
    # Every user gets a first list (also one who had emptied theirs: it was still their watchlist), holding
    # the symbols they watched, in their order.
    users = sa.table("users", sa.column("id", sa.Uuid()))
    now = datetime.now(UTC)
    user_ids = op.get_bind().execute(sa.select(users.c.id)).scalars().all()
    op.bulk_insert(
        watchlists,
        [{"id": uuid.uuid4(), "user_id": user_id, "name": FIRST_LIST, "created_at": now} for user_id in user_ids],
    )
    op.execute(
        "INSERT INTO watchlist_symbols (watchlist_id, symbol, created_at)"
        " SELECT w.id, i.symbol, i.created_at FROM watchlist_items i JOIN watchlists w ON w.user_id = i.user_id"
    )
    op.drop_table("watchlist_items")


def downgrade() -> None:
    op.create_table(
        "watchlist_items",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "symbol"),
    )
    # Back to one list a user: their first one's symbols.
    op.execute(
        "INSERT INTO watchlist_items (user_id, symbol, created_at)"
        " SELECT w.user_id, s.symbol, s.created_at FROM watchlist_symbols s JOIN watchlists w ON w.id = s.watchlist_id"
        " WHERE w.id = (SELECT f.id FROM watchlists f WHERE f.user_id = w.user_id ORDER BY f.created_at, f.id LIMIT 1)"
    )
    op.drop_table("watchlist_symbols")
    op.drop_index(op.f("ix_watchlists_user_id"), table_name="watchlists")
    op.drop_table("watchlists")
