"""A user's watched symbols, in the order they were added."""

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow
from models.user import CamelModel


class WatchlistItem(SQLModel, table=True):
    __tablename__ = "watchlist_items"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    symbol: str = Field(primary_key=True, max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WatchlistPublic(CamelModel):
    symbols: list[str]  # in the order they were added
