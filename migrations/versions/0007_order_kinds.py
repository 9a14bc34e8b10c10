"""More order kinds: notional, trailing stops, ioc/fok, order classes with legs, replace; sells reserve shares
of their own

A resting sell used to hold back exactly its unfilled quantity; a notional sell (amount / bid + 5 %) and two exit
legs sharing one set of shares cannot say that, so each order now records the shares it reserves
(`reserved_quantity`), filled in here for the sells already resting.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 14:00:00
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel

import models.types


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Money, Quantity, Price = (models.types.ScaledDecimal(n) for n in (2, 6, 4))
Text = sqlmodel.sql.sqltypes.AutoString

_WIDER_CHECKS = {  # the new values of the enums in models/order.py
    "ck_orders_type": "order_type IN ('market', 'limit', 'stop', 'stop_limit', 'trailing_stop')",
    "ck_orders_status": "status IN ('pending', 'held', 'filled', 'canceled', 'expired', 'rejected', 'replaced')",
    "ck_orders_tif": "time_in_force IN ('day', 'gtc', 'ioc', 'fok')",
}
_NEW_CHECKS = {
    "ck_orders_class": "order_class IN ('simple', 'bracket', 'oco', 'oto')",
    "ck_orders_quantity_or_notional": "quantity IS NOT NULL OR notional IS NOT NULL",
    "ck_orders_reserved_quantity_nonnegative": "reserved_quantity >= 0",
}
_REFERENCES = ("parent_id", "replaces", "replaced_by")


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("order_type", existing_type=Text(length=10), type_=Text(length=13), existing_nullable=False)
        batch.alter_column("quantity", existing_type=Quantity, nullable=True)
        batch.add_column(sa.Column("notional", Money, nullable=True))
        batch.add_column(sa.Column("trail_price", Price, nullable=True))
        batch.add_column(sa.Column("trail_percent", Money, nullable=True))
        batch.add_column(sa.Column("high_water_mark", Price, nullable=True))
        batch.add_column(sa.Column("order_class", Text(length=7), nullable=False, server_default=sa.text("'simple'")))
        for column in _REFERENCES:
            batch.add_column(sa.Column(column, sa.Uuid(), nullable=True))
            batch.create_foreign_key(f"fk_orders_{column}", "orders", [column], ["id"])
        batch.add_column(sa.Column("reserved_quantity", Quantity, nullable=False, server_default=sa.text("0")))
        for name, condition in _WIDER_CHECKS.items():
            batch.drop_constraint(name, type_="check")
            batch.create_check_constraint(name, sa.text(condition))
        for name, condition in _NEW_CHECKS.items():
            batch.create_check_constraint(name, sa.text(condition))
    # The defaults only filled the existing rows: the application always writes these columns.
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("order_class", existing_type=Text(length=7), server_default=None)
        batch.alter_column("reserved_quantity", existing_type=Quantity, server_default=None)
    op.execute(
        "UPDATE orders SET reserved_quantity = quantity - filled_quantity WHERE status = 'pending' AND side = 'sell'"
    )
    op.create_index("ix_orders_parent", "orders", ["parent_id"])


def downgrade() -> None:
    raise NotImplementedError("orders of the new kinds cannot be expressed in the old columns")
