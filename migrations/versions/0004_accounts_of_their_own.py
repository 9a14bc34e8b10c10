"""accounts of their own: a user holds several; orders, positions, the ledger, idempotency records and equity
snapshots belong to an account

Every user's one account becomes their default personal account, with the user's id as its id, so every row that
pointed at the user now points at that account with the same value. Each table is rebuilt (new table, rows copied,
old dropped, new renamed): the same steps on PostgreSQL and SQLite, which cannot re-point a foreign key in place.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 16:40:00
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel

import models.types


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Money, Quantity, Price = (models.types.ScaledDecimal(n) for n in (2, 6, 4))
When = models.types.UTCDateTime
Text = sqlmodel.sql.sqltypes.AutoString


def _accounts(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", Text(length=50), nullable=False),
        sa.Column("kind", Text(length=8), nullable=False),
        sa.Column("league_id", sa.Uuid(), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("starting_cash", Money, nullable=False),
        sa.Column("cash", Money, nullable=False),
        sa.Column("reserved_cash", Money, nullable=False),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.Column("closed_at", When(), nullable=True),
        sa.CheckConstraint("cash >= 0", name="ck_accounts_cash_nonnegative"),
        sa.CheckConstraint("reserved_cash <= cash", name="ck_accounts_reserved_within_cash"),
        sa.CheckConstraint("reserved_cash >= 0", name="ck_accounts_reserved_nonnegative"),
        sa.CheckConstraint("kind IN ('personal', 'league')", name="ck_accounts_kind"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )


def _orders(name: str, accounts: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", Text(length=10), nullable=False),
        sa.Column("side", Text(length=4), nullable=False),
        sa.Column("order_type", Text(length=10), nullable=False),
        sa.Column("quantity", Quantity, nullable=False),
        sa.Column("limit_price", Price, nullable=True),
        sa.Column("stop_price", Price, nullable=True),
        sa.Column("time_in_force", Text(length=3), nullable=False),
        sa.Column("status", Text(length=10), nullable=False),
        sa.Column("filled_quantity", Quantity, nullable=False),
        sa.Column("avg_fill_price", Price, nullable=True),
        sa.Column("reserved_cash", Money, nullable=False),
        sa.Column("triggered_at", When(), nullable=True),
        sa.Column("expires_at", When(), nullable=True),
        sa.Column("reject_reason", Text(length=200), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.Column("filled_at", When(), nullable=True),
        sa.CheckConstraint("order_type IN ('market', 'limit', 'stop', 'stop_limit')", name="ck_orders_type"),
        sa.CheckConstraint("side IN ('buy', 'sell')", name="ck_orders_side"),
        sa.CheckConstraint(
            "status IN ('pending', 'filled', 'canceled', 'expired', 'rejected')", name="ck_orders_status"
        ),
        sa.CheckConstraint("time_in_force IN ('day', 'gtc')", name="ck_orders_tif"),
        sa.CheckConstraint("filled_quantity >= 0 AND filled_quantity <= quantity", name="ck_orders_filled_within"),
        sa.CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
        sa.CheckConstraint("reserved_cash >= 0", name="ck_orders_reserved_nonnegative"),
        sa.ForeignKeyConstraint(["account_id"], [f"{accounts}.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )


def _positions(name: str, accounts: str) -> None:
    op.create_table(
        name,
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", Text(length=10), nullable=False),
        sa.Column("quantity", Quantity, nullable=False),
        sa.Column("reserved_quantity", Quantity, nullable=False),
        sa.Column("cost_basis", Money, nullable=False),
        sa.Column("realized_pnl", Money, nullable=False),
        sa.Column("updated_at", When(), nullable=False),
        sa.CheckConstraint("cost_basis >= 0", name="ck_positions_cost_basis_nonnegative"),
        sa.CheckConstraint("quantity >= 0", name="ck_positions_quantity_nonnegative"),
        sa.CheckConstraint("reserved_quantity <= quantity", name="ck_positions_reserved_within_held"),
        sa.CheckConstraint("reserved_quantity >= 0", name="ck_positions_reserved_nonnegative"),
        sa.ForeignKeyConstraint(["account_id"], [f"{accounts}.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "symbol"),
    )


def _ledger(name: str, accounts: str, orders: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("kind", Text(length=20), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], [f"{orders}.id"]),
        sa.ForeignKeyConstraint(["account_id"], [f"{accounts}.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )


def _idempotency(name: str, accounts: str, orders: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("key", Text(length=255), nullable=False),
        sa.Column("request_hash", Text(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.Text(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", When(), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], [f"{orders}.id"]),
        sa.ForeignKeyConstraint(["account_id"], [f"{accounts}.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),
    )


def _snapshots(name: str, accounts: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Uuid(), nullable=False),
        sa.Column("t", When(), nullable=False),
        sa.Column("equity", Money, nullable=False),
        sa.ForeignKeyConstraint(["account_id"], [f"{accounts}.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )


# table -> (columns copied as they are, the old column that becomes account_id)
_COPIED = {
    "orders": (
        "id, symbol, side, order_type, quantity, limit_price, stop_price, time_in_force, status, filled_quantity, "
        "avg_fill_price, reserved_cash, triggered_at, expires_at, reject_reason, created_at, updated_at, filled_at"
    ),
    "positions": "symbol, quantity, reserved_quantity, cost_basis, realized_pnl, updated_at",
    "cash_ledger": "id, amount, kind, order_id, created_at",
    "idempotency_records": "id, key, request_hash, response_status, response_body, order_id, created_at",
    "equity_snapshots": "id, t, equity",
}
_SERIAL = ("cash_ledger", "idempotency_records", "equity_snapshots")


def upgrade() -> None:
    _accounts("accounts_new")
    # The opening deposit is the starting cash (0 for a user who opened with none); the name is Robinhood's.
    op.execute(
        """
        INSERT INTO accounts_new (id, user_id, name, kind, league_id, is_default, starting_cash, cash, reserved_cash,
                                  created_at, updated_at, closed_at)
        SELECT a.user_id, a.user_id, 'Individual', 'personal', NULL, TRUE,
               COALESCE((SELECT SUM(l.amount) FROM cash_ledger l WHERE l.user_id = a.user_id AND l.kind = 'deposit'), 0),
               a.cash, a.reserved_cash, u.created_at, a.updated_at, NULL
        FROM accounts a JOIN users u ON u.id = a.user_id
        """
    )
    _orders("orders_new", "accounts_new")
    _positions("positions_new", "accounts_new")
    _ledger("cash_ledger_new", "accounts_new", "orders_new")
    _idempotency("idempotency_records_new", "accounts_new", "orders_new")
    _snapshots("equity_snapshots_new", "accounts_new")
    for table, columns in _COPIED.items():
        op.execute(f"INSERT INTO {table}_new (account_id, {columns}) SELECT user_id, {columns} FROM {table}")  # noqa: S608
    for table in ("idempotency_records", "cash_ledger", "equity_snapshots", "positions", "orders", "accounts"):
        op.drop_table(table)
    for table in ("accounts", *_COPIED):
        op.rename_table(f"{table}_new", table)
    if op.get_bind().dialect.name == "postgresql":
        # Copied ids keep their values: each id sequence continues after the highest one.
        for table in _SERIAL:
            op.execute(f"ALTER SEQUENCE {table}_new_id_seq RENAME TO {table}_id_seq")
            op.execute(f"SELECT setval('{table}_id_seq', COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")  # noqa: S608
    op.create_index("ix_accounts_user", "accounts", ["user_id"])
    op.create_index(
        "uq_accounts_one_default",
        "accounts",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )
    op.create_index("ix_orders_status_symbol", "orders", ["status", "symbol"])
    op.create_index("ix_orders_status_expires", "orders", ["status", "expires_at"])
    op.create_index("ix_orders_account_created", "orders", ["account_id", "created_at"])
    op.create_index("ix_cash_ledger_account", "cash_ledger", ["account_id"])
    op.create_index("ix_idempotency_records_created_at", "idempotency_records", ["created_at"])
    op.create_index("ix_equity_account_t", "equity_snapshots", ["account_id", "t"])


def downgrade() -> None:
    raise NotImplementedError("accounts of their own cannot be folded back into one per user")
