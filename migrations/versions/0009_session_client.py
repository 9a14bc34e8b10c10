"""Sessions remember the browser (its User-Agent) and the address that logged in, for the sessions list

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:00:00
"""

import sqlalchemy as sa
from alembic import op

import sqlmodel


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Text = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("user_agent", Text(length=300), nullable=True))
        batch.add_column(sa.Column("client_address", Text(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("client_address")
        batch.drop_column("user_agent")
