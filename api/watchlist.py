"""`/api/watchlist`: the symbols a user watches, in the order added."""

from fastapi import APIRouter

from api.deps import CurrentCaller, DbDep
from api.errors import documented
from models.watchlist import WatchlistPublic
from services.watchlists import watchlist

router = APIRouter(prefix="/api/watchlist", tags=["watchlist"])


@router.get("", responses=documented(401))
def get_watchlist(caller: CurrentCaller, db: DbDep) -> WatchlistPublic:
    return WatchlistPublic(symbols=watchlist.symbols(db, caller.user.id))


@router.put("/{symbol}", responses=documented(400, 401))
def watch(symbol: str, caller: CurrentCaller, db: DbDep) -> WatchlistPublic:
    """Add a listed symbol (any case) to the end of the list; adding one already there changes nothing."""
    return WatchlistPublic(symbols=watchlist.add(db, caller.user.id, symbol))


@router.delete("/{symbol}", responses=documented(400, 401))
def unwatch(symbol: str, caller: CurrentCaller, db: DbDep) -> WatchlistPublic:
    """Remove a symbol; one that is not on the list leaves it as it is."""
    return WatchlistPublic(symbols=watchlist.remove(db, caller.user.id, symbol))
