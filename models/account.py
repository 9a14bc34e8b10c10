"""Money: the cash account, share positions and the append-only cash ledger."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from models.types import Money, Quantity, UTCDateTime, utcnow


class Account(SQLModel, table=True):
    """One per user. Buying power is cash minus what resting buy orders reserve."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("cash >= 0", name="ck_accounts_cash_nonnegative"),
        CheckConstraint("reserved_cash >= 0", name="ck_accounts_reserved_nonnegative"),
        CheckConstraint("reserved_cash <= cash", name="ck_accounts_reserved_within_cash"),
    )

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    cash: Decimal = Field(sa_type=Money())
    reserved_cash: Decimal = Field(default=Decimal("0"), sa_type=Money())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Position(SQLModel, table=True):
    """Shares of one symbol held by one user; cost basis in cents so money is conserved exactly."""

    __tablename__ = "positions"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="ck_positions_quantity_nonnegative"),
        CheckConstraint("reserved_quantity >= 0", name="ck_positions_reserved_nonnegative"),
        CheckConstraint("reserved_quantity <= quantity", name="ck_positions_reserved_within_held"),
        CheckConstraint("cost_basis >= 0", name="ck_positions_cost_basis_nonnegative"),
    )

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    symbol: str = Field(primary_key=True, max_length=10)
    quantity: Decimal = Field(default=Decimal("0"), sa_type=Quantity())
    reserved_quantity: Decimal = Field(default=Decimal("0"), sa_type=Quantity())
    cost_basis: Decimal = Field(default=Decimal("0"), sa_type=Money())
    realized_pnl: Decimal = Field(default=Decimal("0"), sa_type=Money())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LedgerEntry(SQLModel, table=True):
    """Every movement of cash, never updated or deleted: balances must always equal its sum."""

    __tablename__ = "cash_ledger"

    id: int | None = Field(default=None, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    amount: Decimal = Field(sa_type=Money())
    kind: str = Field(max_length=20)  # deposit | buy | sell
    order_id: uuid.UUID | None = Field(default=None, foreign_key="orders.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
