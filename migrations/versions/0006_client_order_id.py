"""Orders carry the client's own id (Alpaca's client_order_id), unique per account for the account's life

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-10 10:00:00
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("client_order_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
    # NULLs never collide, so orders placed without one need no id of their own.
    op.create_index("uq_orders_account_client_order_id", "orders", ["account_id", "client_order_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_orders_account_client_order_id", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("client_order_id")
