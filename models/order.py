"""Orders and the idempotency records that make placing one safe to retry."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import Money, Price, Quantity, UTCDateTime, utcnow


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="ck_orders_quantity_positive"),
        CheckConstraint("filled_quantity >= 0 AND filled_quantity <= quantity", name="ck_orders_filled_within"),
        CheckConstraint("reserved_cash >= 0", name="ck_orders_reserved_nonnegative"),
        CheckConstraint("side IN ('buy', 'sell')", name="ck_orders_side"),
        CheckConstraint("order_type IN ('market', 'limit', 'stop', 'stop_limit')", name="ck_orders_type"),
        CheckConstraint("time_in_force IN ('day', 'gtc')", name="ck_orders_tif"),
        CheckConstraint("status IN ('pending', 'filled', 'canceled', 'expired', 'rejected')", name="ck_orders_status"),
        Index("ix_orders_user_created", "user_id", "created_at"),
        Index("ix_orders_status_symbol", "status", "symbol"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    symbol: str = Field(max_length=10)
    side: str = Field(max_length=4)
    order_type: str = Field(max_length=10)
    quantity: Decimal = Field(sa_type=Quantity())
    limit_price: Decimal | None = Field(default=None, sa_type=Price())
    stop_price: Decimal | None = Field(default=None, sa_type=Price())
    time_in_force: str = Field(default="day", max_length=3)
    status: str = Field(default="pending", max_length=10)
    filled_quantity: Decimal = Field(default=Decimal("0"), sa_type=Quantity())
    avg_fill_price: Decimal | None = Field(default=None, sa_type=Price())
    reserved_cash: Decimal = Field(default=Decimal("0"), sa_type=Money())
    triggered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    filled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to an X-Idempotency-Key, written in the same transaction as its order."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE")
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    response_status: int
    response_body: str = Field(sa_type=Text)
    order_id: uuid.UUID | None = Field(default=None, foreign_key="orders.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
