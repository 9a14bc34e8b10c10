"""`/v2/watchlists`: the user's named watchlists (the same lists as /api/watchlists and the pages), each with its
symbols as full Alpaca assets; `GET /v2/watchlists:by_name` for alpaca-trade-api."""

import uuid

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from api.alpaca.errors import not_found
from api.alpaca.shapes import Asset, asset_id, ts
from api.deps import CurrentAccount, CurrentCaller, DbDep
from models.watchlist import NamedWatchlist
from services.infra.errors import DomainError
from services.market import symbols
from services.watchlists import watchlist

router = APIRouter()


class Watchlist(BaseModel):
    id: uuid.UUID
    account_id: uuid.UUID
    name: str
    created_at: str
    updated_at: str
    assets: list[Asset]


class WatchlistRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    symbols: list[str] | None = None


class SymbolRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    symbol: str = Field(min_length=1)


def _asset(symbol: str) -> Asset:
    listing = symbols.get(symbol)
    if listing is not None:
        return Asset.of(listing)
    # Watched, then delisted: still shown, as Alpaca shows an asset it no longer trades.
    return Asset(id=asset_id(symbol), symbol=symbol, name=symbol, status="inactive", tradable=False)


def _shaped(db: Session, user_id: uuid.UUID, account_id: uuid.UUID, found: NamedWatchlist) -> Watchlist:
    created, updated = watchlist.stamps(db, user_id, found.id)
    return Watchlist(
        id=found.id,
        account_id=account_id,  # lists belong to the user: every account of theirs sees the same ones
        name=found.name,
        created_at=ts(created),
        updated_at=ts(updated),
        assets=[_asset(symbol) for symbol in found.symbols],
    )


def _unknown_is_not_found(exc: DomainError) -> Exception:
    """Alpaca answers a symbol it does not list on a watchlist with 404 "asset not found"."""
    if exc.code == "UNKNOWN_SYMBOL":
        return not_found(f"asset not found for {', '.join((exc.details or {}).get('symbols', []))}")
    return exc


@router.get("/v2/watchlists")
def list_watchlists(caller: CurrentCaller, account_id: CurrentAccount, db: DbDep) -> list[Watchlist]:
    return [_shaped(db, caller.user.id, account_id, found) for found in watchlist.lists(db, caller.user.id)]


@router.post("/v2/watchlists")
def create_watchlist(body: WatchlistRequest, caller: CurrentCaller, account_id: CurrentAccount, db: DbDep) -> Watchlist:
    try:
        made = watchlist.create(db, caller.user.id, name=body.name or "", symbols=body.symbols or ())
    except DomainError as exc:
        raise _unknown_is_not_found(exc) from None
    return _shaped(db, caller.user.id, account_id, made)


@router.get("/v2/watchlists:by_name")
def get_watchlist_by_name(name: str, caller: CurrentCaller, account_id: CurrentAccount, db: DbDep) -> Watchlist:
    return _shaped(db, caller.user.id, account_id, watchlist.by_name(db, caller.user.id, name))


@router.get("/v2/watchlists/{watchlist_id}")
def get_watchlist(watchlist_id: str, caller: CurrentCaller, account_id: CurrentAccount, db: DbDep) -> Watchlist:
    return _shaped(db, caller.user.id, account_id, watchlist.get(db, caller.user.id, watchlist_id))


@router.put("/v2/watchlists/{watchlist_id}")
def update_watchlist(
    watchlist_id: str, body: WatchlistRequest, caller: CurrentCaller, account_id: CurrentAccount, db: DbDep
) -> Watchlist:
    """Rename the list and/or replace its symbols, in the order given."""
    try:
        changed = watchlist.update(db, caller.user.id, watchlist_id, name=body.name, symbols=body.symbols)
    except DomainError as exc:
        raise _unknown_is_not_found(exc) from None
    return _shaped(db, caller.user.id, account_id, changed)


@router.post("/v2/watchlists/{watchlist_id}")
def add_asset(
    watchlist_id: str, body: SymbolRequest, caller: CurrentCaller, account_id: CurrentAccount, db: DbDep
) -> Watchlist:
    """Append an asset (one already on the list stays where it is)."""
    try:
        changed = watchlist.add_symbol(db, caller.user.id, watchlist_id, body.symbol)
    except DomainError as exc:
        raise _unknown_is_not_found(exc) from None
    return _shaped(db, caller.user.id, account_id, changed)


@router.delete("/v2/watchlists/{watchlist_id}", status_code=204)
def delete_watchlist(watchlist_id: str, caller: CurrentCaller, db: DbDep) -> Response:
    watchlist.delete(db, caller.user.id, watchlist_id)
    return Response(status_code=204)


@router.delete("/v2/watchlists/{watchlist_id}/{symbol}")
def remove_asset(
    watchlist_id: str, symbol: str, caller: CurrentCaller, account_id: CurrentAccount, db: DbDep
) -> Watchlist:
    """200 with the list as it is now: alpaca-py parses the body (an empty 204 would crash it)."""
    try:
        changed = watchlist.remove_symbol(db, caller.user.id, watchlist_id, symbol)
    except DomainError as exc:
        raise _unknown_is_not_found(exc) from None
    return _shaped(db, caller.user.id, account_id, changed)
