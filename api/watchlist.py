"""`/api/watchlists`: a user's named lists of symbols; `/api/watchlist`: the first of them, by symbol."""

from fastapi import APIRouter, Response, status

from api.deps import CurrentCaller, DbDep
from api.errors import documented
from models.watchlist import WatchlistCreate, WatchlistEnvelope, WatchlistList, WatchlistPublic, WatchlistUpdate
from services.watchlists import watchlist

router = APIRouter(prefix="/api/watchlist", tags=["watchlist"])
lists_router = APIRouter(prefix="/api/watchlists", tags=["watchlist"])


@router.get("", responses=documented(401))
def get_watchlist(caller: CurrentCaller, db: DbDep) -> WatchlistPublic:
    """The symbols of your first list."""
    return WatchlistPublic(symbols=watchlist.symbols(db, caller.user.id))


@router.put("/{symbol}", responses=documented(400, 401))
def watch(symbol: str, caller: CurrentCaller, db: DbDep) -> WatchlistPublic:
    """Add a listed symbol (any case) to the end of your first list; adding one already there changes nothing."""
    return WatchlistPublic(symbols=watchlist.add(db, caller.user.id, symbol))


@router.delete("/{symbol}", responses=documented(400, 401))
def unwatch(symbol: str, caller: CurrentCaller, db: DbDep) -> WatchlistPublic:
    """Remove a symbol from your first list; one that is not on it leaves it as it is."""
    return WatchlistPublic(symbols=watchlist.remove(db, caller.user.id, symbol))


@lists_router.get("", responses=documented(401))
def list_watchlists(caller: CurrentCaller, db: DbDep) -> WatchlistList:
    """Your lists, in the order you made them, each with its symbols in the order added."""
    return WatchlistList(watchlists=watchlist.lists(db, caller.user.id))


@lists_router.post("", status_code=status.HTTP_201_CREATED, responses=documented(400, 401))
def create_watchlist(body: WatchlistCreate, caller: CurrentCaller, db: DbDep) -> WatchlistEnvelope:
    """A new list (at most 20, names unique regardless of case), optionally with symbols (at most 100)."""
    made = watchlist.create(db, caller.user.id, name=body.name, symbols=body.symbols)
    return WatchlistEnvelope(watchlist=made)


@lists_router.get("/{watchlist_id}", responses=documented(401, 404))
def get_named_watchlist(watchlist_id: str, caller: CurrentCaller, db: DbDep) -> WatchlistEnvelope:
    return WatchlistEnvelope(watchlist=watchlist.get(db, caller.user.id, watchlist_id))


@lists_router.patch("/{watchlist_id}", responses=documented(400, 401, 404))
def update_watchlist(watchlist_id: str, body: WatchlistUpdate, caller: CurrentCaller, db: DbDep) -> WatchlistEnvelope:
    """Rename a list and/or replace its symbols with the ones given, in that order."""
    changed = watchlist.update(db, caller.user.id, watchlist_id, name=body.name, symbols=body.symbols)
    return WatchlistEnvelope(watchlist=changed)


@lists_router.delete("/{watchlist_id}", status_code=status.HTTP_204_NO_CONTENT, responses=documented(401, 404))
def delete_watchlist(watchlist_id: str, caller: CurrentCaller, db: DbDep) -> Response:
    watchlist.delete(db, caller.user.id, watchlist_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
