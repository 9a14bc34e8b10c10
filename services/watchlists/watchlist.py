"""A user's named watchlists: each a list of listed symbols kept in the order they were added; the lists in the
order they were made. The first list is "the" watchlist of `/api/watchlist`, the stock page's button and a new
user's starter symbols. Every front door (the REST API, the pages, the Alpaca surface) serves these functions."""

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete as delete_rows
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from models.types import utcnow
from models.watchlist import MAX_NAME, NamedWatchlist, Watchlist, WatchlistItem
from services.infra.errors import DomainError
from services.market import symbols as listed

MAX_LISTS = 20
MAX_SYMBOLS = 100
FIRST_LIST = "My First List"  # Robinhood's name for a new user's list
DEFAULT_SYMBOLS = ("AAPL", "MSFT", "NVDA", "TSLA", "SPY")  # what a new user sees before choosing


def _refusal(field: str, message: str) -> DomainError:
    return DomainError("VALIDATION_ERROR", message, [{"field": field, "message": message}])


def _not_found() -> DomainError:
    return DomainError("WATCHLIST_NOT_FOUND", "There is no such watchlist.")


def _unknown(symbols: list[str]) -> DomainError:
    return DomainError(
        "UNKNOWN_SYMBOL",
        f"{', '.join(symbols)} {'is' if len(symbols) == 1 else 'are'} not listed.",
        {"symbols": symbols},
    )


def _stamps(after: datetime | None, count: int) -> list[datetime]:
    """Strictly increasing times after `after`, so a list keeps its order even with clocks that differ."""
    start = utcnow() if after is None else max(utcnow(), after + timedelta(microseconds=1))
    return [start + timedelta(microseconds=i) for i in range(count)]


def _lists(db: Session, user_id: uuid.UUID) -> list[Watchlist]:
    query = select(Watchlist).where(Watchlist.user_id == user_id)
    return list(db.exec(query.order_by(Watchlist.created_at, Watchlist.id)))


def _items(db: Session, watchlist_id: uuid.UUID) -> list[WatchlistItem]:
    query = select(WatchlistItem).where(WatchlistItem.watchlist_id == watchlist_id)
    return list(db.exec(query.order_by(WatchlistItem.created_at, WatchlistItem.symbol)))


def _public(db: Session, row: Watchlist) -> NamedWatchlist:
    return NamedWatchlist(id=row.id, name=row.name, symbols=[item.symbol for item in _items(db, row.id)])


def _own(db: Session, user_id: uuid.UUID, watchlist_id: str | uuid.UUID, *, lock: bool = False) -> Watchlist:
    """The user's list of that id; another user's, or an id that cannot name one, is not found."""
    try:
        key = watchlist_id if isinstance(watchlist_id, uuid.UUID) else uuid.UUID(watchlist_id)
    except ValueError:
        raise _not_found() from None
    query = select(Watchlist).where(Watchlist.id == key, Watchlist.user_id == user_id)
    row = db.exec(query.with_for_update() if lock else query).first()
    if row is None:
        raise _not_found()
    return row


def _listed(symbols: Iterable[str]) -> list[str]:
    """The symbols as the list will hold them: canonical, each once, in the given order; all of them listed."""
    wanted = list(dict.fromkeys(listed.normalize(s) for s in symbols))
    unknown = [s for s in wanted if not listed.is_listed(s)]
    if unknown:
        raise _unknown(unknown)
    if len(wanted) > MAX_SYMBOLS:
        raise _refusal("symbols", f"A watchlist holds at most {MAX_SYMBOLS} symbols.")
    return wanted


def _check_name(db: Session, user_id: uuid.UUID, name: str, *, besides: uuid.UUID | None = None) -> None:
    if not name.strip() or len(name) > MAX_NAME:  # the API's schema says so too; the pages call here directly
        raise _refusal("name", f"Give the list a name of 1 to {MAX_NAME} characters.")
    taken = (
        select(func.count())
        .select_from(Watchlist)
        .where(Watchlist.user_id == user_id, func.lower(Watchlist.name) == name.lower(), Watchlist.id != besides)
    )
    if db.exec(taken).one():
        raise _refusal("name", f"You already have a list named {name}.")


def _fill(db: Session, watchlist_id: uuid.UUID, symbols: list[str], after: datetime | None = None) -> None:
    for symbol, stamp in zip(symbols, _stamps(after, len(symbols)), strict=True):
        db.add(WatchlistItem(watchlist_id=watchlist_id, symbol=symbol, created_at=stamp))


def lists(db: Session, user_id: uuid.UUID) -> list[NamedWatchlist]:
    """The user's lists, oldest first, each with its symbols."""
    return [_public(db, row) for row in _lists(db, user_id)]


def get(db: Session, user_id: uuid.UUID, watchlist_id: str | uuid.UUID) -> NamedWatchlist:
    return _public(db, _own(db, user_id, watchlist_id))


def by_name(db: Session, user_id: uuid.UUID, name: str) -> NamedWatchlist:
    """The user's list of that name (names are unique regardless of case)."""
    query = select(Watchlist).where(Watchlist.user_id == user_id, func.lower(Watchlist.name) == name.lower())
    row = db.exec(query).first()
    if row is None:
        raise _not_found()
    return _public(db, row)


def stamps(db: Session, user_id: uuid.UUID, watchlist_id: uuid.UUID) -> tuple[datetime, datetime]:
    """When the list was made and when it last changed as far as its rows tell: its newest symbol's addition
    (a rename or a removal leaves no trace)."""
    row = _own(db, user_id, watchlist_id)
    newest = db.exec(select(func.max(WatchlistItem.created_at)).where(WatchlistItem.watchlist_id == row.id)).one()
    return row.created_at, max(row.created_at, newest) if newest is not None else row.created_at


def create(db: Session, user_id: uuid.UUID, *, name: str, symbols: Iterable[str] = ()) -> NamedWatchlist:
    """A new list at the end of the user's lists."""
    wanted = _listed(symbols)
    existing = _lists(db, user_id)
    if len(existing) >= MAX_LISTS:  # a soft cap: two creations at the same instant may both get in
        raise _refusal("name", f"You can keep at most {MAX_LISTS} watchlists; delete one first.")
    _check_name(db, user_id, name)
    (stamp,) = _stamps(existing[-1].created_at if existing else None, 1)
    row = Watchlist(user_id=user_id, name=name, created_at=stamp)
    db.add(row)
    db.flush()
    _fill(db, row.id, wanted)
    db.commit()
    return _public(db, row)


def update(
    db: Session,
    user_id: uuid.UUID,
    watchlist_id: str | uuid.UUID,
    *,
    name: str | None = None,
    symbols: Iterable[str] | None = None,
) -> NamedWatchlist:
    """Rename a list and/or replace its symbols (in the order given)."""
    wanted = None if symbols is None else _listed(symbols)
    row = _own(db, user_id, watchlist_id, lock=True)
    if name is not None and name != row.name:
        _check_name(db, user_id, name, besides=row.id)
        row.name = name
        db.add(row)
    if wanted is not None:
        db.execute(delete_rows(WatchlistItem).where(WatchlistItem.watchlist_id == row.id))
        _fill(db, row.id, wanted)
    db.commit()
    return _public(db, row)


def delete(db: Session, user_id: uuid.UUID, watchlist_id: str | uuid.UUID) -> None:
    row = _own(db, user_id, watchlist_id, lock=True)
    db.execute(delete_rows(WatchlistItem).where(WatchlistItem.watchlist_id == row.id))
    db.delete(row)
    db.commit()


def add_symbol(db: Session, user_id: uuid.UUID, watchlist_id: str | uuid.UUID, symbol: str) -> NamedWatchlist:
    """Watch a listed symbol at the end of a list (again: no change)."""
    symbol = listed.normalize(symbol)
    if not listed.is_listed(symbol):
        raise _unknown([symbol])
    row = _own(db, user_id, watchlist_id)
    items = _items(db, row.id)
    if symbol not in (item.symbol for item in items):
        if len(items) >= MAX_SYMBOLS:  # a soft cap: two adds at the same instant may both get in
            raise _refusal("symbol", f"A watchlist holds at most {MAX_SYMBOLS} symbols; remove one first.")
        _fill(db, row.id, [symbol], items[-1].created_at if items else None)
        try:
            db.commit()
        except IntegrityError:  # the same symbol added at the same moment elsewhere: already watched
            db.rollback()
    return _public(db, row)


def remove_symbol(db: Session, user_id: uuid.UUID, watchlist_id: str | uuid.UUID, symbol: str) -> NamedWatchlist:
    """Stop watching a symbol on a list; one not on it is fine, but a name that is neither on it nor listed is
    refused like a typo. (A watched symbol that is no longer listed can still be removed.)"""
    symbol = listed.normalize(symbol)
    row = _own(db, user_id, watchlist_id)
    query = delete_rows(WatchlistItem).where(WatchlistItem.watchlist_id == row.id, WatchlistItem.symbol == symbol)
    result = db.execute(query)
    db.commit()
    if result.rowcount == 0 and not listed.is_listed(symbol):
        raise _unknown([symbol])
    return _public(db, row)


# The first list: `/api/watchlist` and the stock page's button.


def _first(db: Session, user_id: uuid.UUID) -> Watchlist | None:
    query = select(Watchlist).where(Watchlist.user_id == user_id)
    return db.exec(query.order_by(Watchlist.created_at, Watchlist.id).limit(1)).first()


def add_defaults(db: Session, user_id: uuid.UUID) -> None:
    """Seed a new user's first list; part of the caller's transaction (registration), which commits."""
    row = Watchlist(user_id=user_id, name=FIRST_LIST, created_at=utcnow())
    db.add(row)
    db.flush()
    _fill(db, row.id, list(DEFAULT_SYMBOLS))


def symbols(db: Session, user_id: uuid.UUID) -> list[str]:
    """The first list's symbols, oldest first (none when the user has no list)."""
    first = _first(db, user_id)
    return [] if first is None else [item.symbol for item in _items(db, first.id)]


def add(db: Session, user_id: uuid.UUID, symbol: str) -> list[str]:
    """Watch a listed symbol on the first list, made anew if the user deleted every list; returns its symbols."""
    first = _first(db, user_id)
    if first is None:
        return create(db, user_id, name=FIRST_LIST, symbols=[symbol]).symbols
    return add_symbol(db, user_id, first.id, symbol).symbols


def remove(db: Session, user_id: uuid.UUID, symbol: str) -> list[str]:
    """Stop watching a symbol on the first list."""
    first = _first(db, user_id)
    if first is None:
        if not listed.is_listed(symbol):
            raise _unknown([listed.normalize(symbol)])
        return []
    return remove_symbol(db, user_id, first.id, symbol).symbols
