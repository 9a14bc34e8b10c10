"""Equity over time, for the portfolio chart."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Index
from sqlmodel import Field

from models.row import Row
from models.types import Money, UTCDateTime


class EquitySnapshot(Row, table=True):
    __tablename__ = "equity_snapshots"
    __table_args__ = (Index("ix_equity_account_t", "account_id", "t"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: uuid.UUID = Field(foreign_key="accounts.id", ondelete="CASCADE")
    t: datetime = Field(sa_type=UTCDateTime)
    equity: Decimal = Field(sa_type=Money())
