"""A user's watchlist: listed symbols, kept in the order they were added."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.types import utcnow
from models.watchlist import WatchlistItem
from services.infra.errors import DomainError
from services.market import symbols as listed

MAX_SYMBOLS = 100
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "NVDA", "TSLA", "SPY")  # what a new user sees before choosing


def _items(db: Session, user_id: uuid.UUID) -> list[WatchlistItem]:
    query = select(WatchlistItem).where(WatchlistItem.user_id == user_id)
    return list(db.exec(query.order_by(WatchlistItem.created_at, WatchlistItem.symbol)))


def symbols(db: Session, user_id: uuid.UUID) -> list[str]:
    """The watched symbols, oldest first."""
    return [item.symbol for item in _items(db, user_id)]


def _stamps(after: datetime | None, count: int) -> list[datetime]:
    """Strictly increasing times after `after`, so the list keeps its order even with clocks that differ."""
    start = utcnow() if after is None else max(utcnow(), after + timedelta(microseconds=1))
    return [start + timedelta(microseconds=i) for i in range(count)]


def add_defaults(db: Session, user_id: uuid.UUID) -> None:
    """Seed a new user's list; part of the caller's transaction (registration), which commits."""
    stamps = _stamps(None, len(DEFAULT_SYMBOLS))
    for symbol, stamp in zip(DEFAULT_SYMBOLS, stamps, strict=True):
        db.add(WatchlistItem(user_id=user_id, symbol=symbol, created_at=stamp))


def _unknown(symbol: str) -> DomainError:
    return DomainError("UNKNOWN_SYMBOL", f"{symbol} is not listed.", {"symbols": [symbol]})


def add(db: Session, user_id: uuid.UUID, symbol: str) -> list[str]:
    """Watch a listed symbol (again: no change); returns the list."""
    symbol = listed.normalize(symbol)
    if not listed.is_listed(symbol):
        raise _unknown(symbol)
    items = _items(db, user_id)
    if symbol in (item.symbol for item in items):
        return [item.symbol for item in items]
    if len(items) >= MAX_SYMBOLS:  # a soft cap: two adds at the same instant may both get in
        message = f"A watchlist holds at most {MAX_SYMBOLS} symbols; remove one first."
        raise DomainError("VALIDATION_ERROR", message, [{"field": "symbol", "message": message}])
    (stamp,) = _stamps(items[-1].created_at if items else None, 1)
    db.add(WatchlistItem(user_id=user_id, symbol=symbol, created_at=stamp))
    try:
        db.commit()
    except IntegrityError:  # the same symbol added at the same moment elsewhere: already watched
        db.rollback()
    return symbols(db, user_id)


def remove(db: Session, user_id: uuid.UUID, symbol: str) -> list[str]:
    """Stop watching a symbol; one not on the list is fine, but a name that is neither watched nor listed is
    refused like a typo. (A watched symbol that is no longer listed can still be removed.)"""
    symbol = listed.normalize(symbol)
    result = db.execute(delete(WatchlistItem).where(WatchlistItem.user_id == user_id, WatchlistItem.symbol == symbol))
    db.commit()
    if result.rowcount == 0 and not listed.is_listed(symbol):
        raise _unknown(symbol)
    return symbols(db, user_id)
