"""A user's named watchlists, each a list of symbols kept in the order they were added."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator
from pydantic import Field as PydanticField
from sqlmodel import Field

from models.order import Symbol
from models.row import Row
from models.types import UTCDateTime, utcnow
from models.user import CamelModel, PlainText

MAX_NAME = 64


class Watchlist(Row, table=True):
    __tablename__ = "watchlists"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    name: str = Field(max_length=MAX_NAME)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)  # the lists' order: oldest first


class WatchlistItem(Row, table=True):
    __tablename__ = "watchlist_symbols"

    watchlist_id: uuid.UUID = Field(foreign_key="watchlists.id", primary_key=True, ondelete="CASCADE")
    symbol: str = Field(primary_key=True, max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _name(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("must not be blank")
    return text


ListName = Annotated[PlainText, PydanticField(min_length=1, max_length=MAX_NAME), AfterValidator(_name)]


class WatchlistCreate(CamelModel):
    name: ListName
    symbols: list[Symbol] = PydanticField(default_factory=list)


class WatchlistUpdate(CamelModel):
    name: ListName | None = None
    symbols: list[Symbol] | None = None  # replaces the list's symbols, in this order


class WatchlistPublic(CamelModel):
    """The singular `/api/watchlist`: the symbols of the user's first list."""

    symbols: list[str]  # in the order they were added


class NamedWatchlist(CamelModel):
    id: uuid.UUID
    name: str
    symbols: list[str]


class WatchlistEnvelope(CamelModel):
    watchlist: NamedWatchlist


class WatchlistList(CamelModel):
    watchlists: list[NamedWatchlist]
