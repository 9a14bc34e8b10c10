"""Price alerts: fire once when the last price crosses a level."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field

from models.order import PriceText, Symbol, TickPrice
from models.row import Row
from models.types import Price, UTCDateTime, utcnow
from models.user import CamelModel


class PriceAlert(Row, table=True):
    __tablename__ = "price_alerts"
    __table_args__ = (
        CheckConstraint("condition IN ('above', 'below')", name="ck_alerts_condition"),
        CheckConstraint("status IN ('active', 'triggered')", name="ck_alerts_status"),
        CheckConstraint("price > 0", name="ck_alerts_price_positive"),
        Index("ix_alerts_status_symbol", "status", "symbol"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    symbol: str = Field(max_length=10)
    condition: str = Field(max_length=5)
    price: Decimal = Field(sa_type=Price())
    status: str = Field(default="active", max_length=9)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    triggered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


Condition = Literal["above", "below"]  # above: fires when last >= price; below: when last <= price


class AlertCreate(CamelModel):
    symbol: Symbol
    condition: Condition
    price: TickPrice


class AlertPublic(CamelModel):
    id: uuid.UUID
    symbol: str
    condition: Condition
    price: PriceText
    status: Literal["active", "triggered"]
    created_at: datetime
    triggered_at: datetime | None

    @classmethod
    def of(cls, alert: PriceAlert) -> "AlertPublic":
        return cls.model_validate(alert, from_attributes=True)


class AlertEnvelope(CamelModel):
    alert: AlertPublic


class AlertList(CamelModel):
    alerts: list[AlertPublic]
