"""Public market data: listed symbols, latest quotes and price history."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.deps import DbDep
from api.errors import documented
from models.market import Candle, Quote
from models.types import utcnow
from services import runtime
from services.infra.errors import DomainError
from services.market import history as market_history
from services.market import symbols

router = APIRouter(prefix="/api", tags=["market data"])

Range = Literal["1D", "1W", "1M", "3M", "1Y", "ALL"]


class SymbolInfo(BaseModel):
    symbol: str
    name: str
    sector: str


class SymbolList(BaseModel):
    symbols: list[SymbolInfo]


class QuoteList(BaseModel):
    quotes: list[Quote]
    stale: bool  # true while this server hears nothing from the feed: the prices are the last known, not live


class History(BaseModel):
    symbol: str
    range: Range
    candles: list[Candle]


def _listed(names: list[str]) -> list[str]:
    wanted = [symbols.normalize(name) for name in names if name.strip()]
    unknown = [name for name in wanted if not symbols.is_listed(name)]
    if unknown:
        raise DomainError("UNKNOWN_SYMBOL", f"Not listed: {', '.join(unknown)}.", {"symbols": unknown})
    return list(dict.fromkeys(wanted))


@router.get("/symbols")
def list_symbols() -> SymbolList:
    """Every symbol that can be quoted and traded."""
    return SymbolList(symbols=[SymbolInfo(symbol=x.symbol, name=x.name, sector=x.sector) for x in symbols.listings()])


@router.get("/quotes", responses=documented(400))
async def quotes(
    symbols_param: Annotated[str | None, Query(alias="symbols", max_length=2000, description="e.g. AAPL,MSFT")] = None,
) -> QuoteList:
    """The latest quote of each requested symbol (all listed symbols when none are named)."""
    hub = runtime.current().hub
    names = _listed(symbols_param.split(",")) if symbols_param else None
    return QuoteList(quotes=hub.quotes(names), stale=hub.stale)


@router.get("/quotes/{symbol}/history", responses=documented(400))
def quote_history(symbol: str, db: DbDep, range_: Annotated[Range, Query(alias="range")] = "1D") -> History:
    """Candles for a price chart, at a resolution that fits the range (5 min for 1D, 1 h for 1W, days beyond)."""
    (name,) = _listed([symbol])
    clock = runtime.current().clock
    candles = market_history.history(db, name, range_, clock=clock, now=utcnow())
    return History(symbol=name, range=range_, candles=candles)
