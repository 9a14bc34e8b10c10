"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 04:32:43.840446
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel

import models.types


revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column(
            "password_hash",
            sqlmodel.sql.sqltypes.AutoString(length=255),
            nullable=False,
        ),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_users_email_lower",
        "users",
        [sa.literal_column("lower(email)")],
        unique=True,
    )
    op.create_table(
        "accounts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("cash", models.types.ScaledDecimal(2), nullable=False),
        sa.Column("reserved_cash", models.types.ScaledDecimal(2), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("cash >= 0", name="ck_accounts_cash_nonnegative"),
        sa.CheckConstraint("reserved_cash <= cash", name="ck_accounts_reserved_within_cash"),
        sa.CheckConstraint("reserved_cash >= 0", name="ck_accounts_reserved_nonnegative"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "equity_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("t", models.types.UTCDateTime(), nullable=False),
        sa.Column("equity", models.types.ScaledDecimal(2), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_equity_user_t", "equity_snapshots", ["user_id", "t"], unique=False)
    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("side", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
        sa.Column("order_type", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("quantity", models.types.ScaledDecimal(6), nullable=False),
        sa.Column("limit_price", models.types.ScaledDecimal(4), nullable=True),
        sa.Column("stop_price", models.types.ScaledDecimal(4), nullable=True),
        sa.Column("time_in_force", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("filled_quantity", models.types.ScaledDecimal(6), nullable=False),
        sa.Column("avg_fill_price", models.types.ScaledDecimal(4), nullable=True),
        sa.Column("reserved_cash", models.types.ScaledDecimal(2), nullable=False),
        sa.Column("triggered_at", models.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("filled_at", models.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "order_type IN ('market', 'limit', 'stop', 'stop_limit')",
            name="ck_orders_type",
        ),
        sa.CheckConstraint("side IN ('buy', 'sell')", name="ck_orders_side"),
        sa.CheckConstraint(
            "status IN ('pending', 'filled', 'canceled', 'expired', 'rejected')",
            name="ck_orders_status",
        ),
        sa.CheckConstraint("time_in_force IN ('day', 'gtc')", name="ck_orders_tif"),
        sa.CheckConstraint(
            "filled_quantity >= 0 AND filled_quantity <= quantity",
            name="ck_orders_filled_within",
        ),
        sa.CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
        sa.CheckConstraint("reserved_cash >= 0", name="ck_orders_reserved_nonnegative"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_orders_status_symbol", "orders", ["status", "symbol"], unique=False)
    op.create_index("ix_orders_user_created", "orders", ["user_id", "created_at"], unique=False)
    op.create_table(
        "positions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("quantity", models.types.ScaledDecimal(6), nullable=False),
        sa.Column("reserved_quantity", models.types.ScaledDecimal(6), nullable=False),
        sa.Column("cost_basis", models.types.ScaledDecimal(2), nullable=False),
        sa.Column("realized_pnl", models.types.ScaledDecimal(2), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("cost_basis >= 0", name="ck_positions_cost_basis_nonnegative"),
        sa.CheckConstraint("quantity >= 0", name="ck_positions_quantity_nonnegative"),
        sa.CheckConstraint("reserved_quantity <= quantity", name="ck_positions_reserved_within_held"),
        sa.CheckConstraint("reserved_quantity >= 0", name="ck_positions_reserved_nonnegative"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "symbol"),
    )
    op.create_table(
        "price_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("condition", sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
        sa.Column("price", models.types.ScaledDecimal(4), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=9), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("triggered_at", models.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint("condition IN ('above', 'below')", name="ck_alerts_condition"),
        sa.CheckConstraint("status IN ('active', 'triggered')", name="ck_alerts_status"),
        sa.CheckConstraint("price > 0", name="ck_alerts_price_positive"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alerts_status_symbol", "price_alerts", ["status", "symbol"], unique=False)
    op.create_index(op.f("ix_price_alerts_user_id"), "price_alerts", ["user_id"], unique=False)
    op.create_table(
        "sessions",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_sessions_expires_at"), "sessions", ["expires_at"], unique=False)
    op.create_index(op.f("ix_sessions_user_id"), "sessions", ["user_id"], unique=False)
    op.create_table(
        "watchlist_items",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "symbol"),
    )
    op.create_table(
        "cash_ledger",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("amount", models.types.ScaledDecimal(2), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_cash_ledger_user_id"), "cash_ledger", ["user_id"], unique=False)
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),
    )
    op.create_index(
        op.f("ix_idempotency_records_created_at"),
        "idempotency_records",
        ["created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_idempotency_records_created_at"), table_name="idempotency_records")
    op.drop_table("idempotency_records")
    op.drop_index(op.f("ix_cash_ledger_user_id"), table_name="cash_ledger")
    op.drop_table("cash_ledger")
    op.drop_table("watchlist_items")
    op.drop_index(op.f("ix_sessions_user_id"), table_name="sessions")
    op.drop_index(op.f("ix_sessions_expires_at"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("ix_price_alerts_user_id"), table_name="price_alerts")
    op.drop_index("ix_alerts_status_symbol", table_name="price_alerts")
    op.drop_table("price_alerts")
    op.drop_table("positions")
    op.drop_index("ix_orders_user_created", table_name="orders")
    op.drop_index("ix_orders_status_symbol", table_name="orders")
    op.drop_table("orders")
    op.drop_index("ix_equity_user_t", table_name="equity_snapshots")
    op.drop_table("equity_snapshots")
    op.drop_table("accounts")
    op.drop_index("uq_users_email_lower", table_name="users")
    op.drop_table("users")
