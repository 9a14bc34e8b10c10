"""Stored price history: one-minute candles from the live tape and daily candles."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger
from sqlmodel import Field

from models.row import Row
from models.types import Price, UTCDateTime

MINUTE, DAY = "1m", "1d"


class CandleRow(Row, table=True):
    __tablename__ = "candles"

    symbol: str = Field(primary_key=True, max_length=10)
    resolution: str = Field(primary_key=True, max_length=3)  # MINUTE | DAY
    t: datetime = Field(primary_key=True, sa_type=UTCDateTime)
    open: Decimal = Field(sa_type=Price())
    high: Decimal = Field(sa_type=Price())
    low: Decimal = Field(sa_type=Price())
    close: Decimal = Field(sa_type=Price())
    volume: int = Field(sa_type=BigInteger)
