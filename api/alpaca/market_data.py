"""Alpaca's Market Data API v2 for stocks: latest quotes, trades and bars, snapshots and historical bars (with
`next_page_token` paging), from Sherwood's live quotes and stored candles. Numbers here are JSON numbers, as
Alpaca sends them; a symbol with no data is left out of a map, never null."""

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlmodel import Session

from api.alpaca import params
from api.alpaca.errors import invalid
from api.deps import CurrentCaller, DbDep
from models.candle import MINUTE
from models.market import Candle, Quote
from models.types import utcnow
from services import runtime
from services.market import history, symbols
from services.market.bars import TimeFrame, bars
from services.market.clock import NEW_YORK, midnight

router = APIRouter()

LOT = 100  # Sherwood's book has no depth or print sizes: quotes and trades are reported as round lots
EXCHANGE = "V"  # IEX, the feed alpaca-py asks for by default
DEFAULT_LIMIT, MAX_LIMIT = 1000, 10_000
LATEST_BAR_WINDOW = timedelta(minutes=15)


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def quote_json(quote: Quote) -> dict[str, Any]:
    return {
        "t": _time(quote.timestamp),
        "bx": EXCHANGE,
        "bp": float(quote.bid),
        "bs": LOT,
        "ax": EXCHANGE,
        "ap": float(quote.ask),
        "as": LOT,
        "c": ["R"],
        "z": "C",
    }


def trade_json(quote: Quote) -> dict[str, Any]:
    stamp = quote.timestamp
    return {"t": _time(stamp), "x": EXCHANGE, "p": float(quote.last), "s": LOT, "c": ["@"], "i": stamp, "z": "C"}


def bar_json(bar: Candle) -> dict[str, Any]:
    # Sherwood's candles keep no trade count or VWAP: the keys are there (alpaca-py requires them), null.
    return {
        "t": bar.t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "o": float(bar.open),
        "h": float(bar.high),
        "l": float(bar.low),
        "c": float(bar.close),
        "v": bar.volume,
        "n": None,
        "vw": None,
    }


def _listed(text: str | None) -> list[str]:
    wanted = params.names(text)
    if not wanted:
        raise invalid("symbols is required")
    return [name for name in wanted if symbols.is_listed(name)]


def _latest_quotes(names: list[str]) -> dict[str, Quote]:
    latest = runtime.current().hub.latest
    return {name: latest[name] for name in names if name in latest}


def _latest_bar(db: Session, symbol: str, quote: Quote | None, now: datetime) -> Candle | None:
    """The newest stored minute bar; before the first one is stored, the current minute from the last quote."""
    recent = history.stored(db, symbol, MINUTE, now - LATEST_BAR_WINDOW, None)
    if recent:
        return recent[-1]
    if quote is None:
        return None
    minute = datetime.fromtimestamp(quote.timestamp // 60_000 * 60, tz=UTC)
    price = quote.last
    return Candle(t=minute, open=price, high=price, low=price, close=price, volume=0)


@router.get("/v2/stocks/quotes/latest")
def latest_quotes(_caller: CurrentCaller, symbols_: Annotated[str | None, Query(alias="symbols")] = None):
    return {"quotes": {s: quote_json(q) for s, q in _latest_quotes(_listed(symbols_)).items()}}


@router.get("/v2/stocks/trades/latest")
def latest_trades(_caller: CurrentCaller, symbols_: Annotated[str | None, Query(alias="symbols")] = None):
    return {"trades": {s: trade_json(q) for s, q in _latest_quotes(_listed(symbols_)).items()}}


@router.get("/v2/stocks/bars/latest")
def latest_bars(_caller: CurrentCaller, db: DbDep, symbols_: Annotated[str | None, Query(alias="symbols")] = None):
    names, now = _listed(symbols_), utcnow()
    quotes = _latest_quotes(names)
    found = {name: _latest_bar(db, name, quotes.get(name), now) for name in names}
    return {"bars": {name: bar_json(bar) for name, bar in found.items() if bar is not None}}


def _snapshot(db: Session, symbol: str, quote: Quote | None, now: datetime) -> dict[str, Any]:
    rt = runtime.current()
    days = bars(db, symbol, TimeFrame(1, "Day"), start=now - timedelta(days=10), end=now, clock=rt.clock, now=now)
    today = midnight(rt.clock.trading_day(now))
    daily = days[-1] if days and days[-1].t == today else None
    previous = [bar for bar in days if bar.t < today]
    minute = _latest_bar(db, symbol, quote, now)
    return {
        "latestTrade": trade_json(quote) if quote else None,
        "latestQuote": quote_json(quote) if quote else None,
        "minuteBar": bar_json(minute) if minute else None,
        "dailyBar": bar_json(daily) if daily else None,
        "prevDailyBar": bar_json(previous[-1]) if previous else None,
    }


@router.get("/v2/stocks/snapshots")
def snapshots(_caller: CurrentCaller, db: DbDep, symbols_: Annotated[str | None, Query(alias="symbols")] = None):
    """Symbol-keyed at the top level, as alpaca-py reads it (no other key)."""
    names, now = _listed(symbols_), utcnow()
    quotes = _latest_quotes(names)
    return {name: _snapshot(db, name, quotes.get(name), now) for name in names}


def _token(symbol: str, t: datetime) -> str:
    return base64.urlsafe_b64encode(f"{symbol}|{t.isoformat()}".encode()).decode()


def _resume_at(token: str | None) -> tuple[str, datetime] | None:
    if not token:
        return None
    try:
        symbol, _, stamp = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        return symbol, datetime.fromisoformat(stamp)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid("invalid page_token") from None


def _bars_page(
    db: Session,
    names: list[str],
    timeframe: str,
    start: str | None,
    end: str | None,
    limit: int | None,
    page_token: str | None,
    sort: str,
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    """One page of bars: symbols in order, each oldest first (`sort=desc`: newest first); `limit` counts bars
    across all symbols; the token resumes at a symbol and a bar's time."""
    try:
        frame = TimeFrame.parse(timeframe)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    if sort.lower() not in ("asc", "desc"):
        raise invalid(f"invalid sort: {sort}")
    size = limit or DEFAULT_LIMIT
    if not 1 <= size <= MAX_LIMIT:
        raise invalid(f"limit must be between 1 and {MAX_LIMIT}")
    rt, now = runtime.current(), utcnow()
    first = params.moment(start, "start") or midnight(now.astimezone(NEW_YORK).date())
    last = params.moment(end, "end") or now
    resume = _resume_at(page_token)
    page: dict[str, list[dict[str, Any]]] = {}
    taken = 0
    for name in sorted(names):
        if resume is not None and name < resume[0]:
            continue
        series = bars(db, name, frame, start=first, end=last, clock=rt.clock, now=now)
        if sort.lower() == "desc":
            series.reverse()
        if resume is not None and name == resume[0]:
            after = resume[1]
            series = [b for b in series if (b.t >= after if sort.lower() == "asc" else b.t <= after)]
        for bar in series:
            if taken == size:
                return page, _token(name, bar.t)
            page.setdefault(name, []).append(bar_json(bar))
            taken += 1
    return page, None


@router.get("/v2/stocks/bars")
def historical_bars(
    _caller: CurrentCaller,
    db: DbDep,
    symbols_: Annotated[str | None, Query(alias="symbols")] = None,
    timeframe: Annotated[str, Query()] = "1Day",
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    page_token: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query()] = "asc",
):
    """Bars from the stored candles (`adjustment`, `feed`, `asof` and `currency` are accepted and change nothing:
    Sherwood's market has no splits or dividends and one feed)."""
    page, token = _bars_page(db, _listed(symbols_), timeframe, start, end, limit, page_token, sort)
    return {"bars": page, "next_page_token": token}


# alpaca-trade-api's single-symbol routes.


def _one(symbol: str) -> str:
    name = symbols.normalize(symbol)
    if not symbols.is_listed(name):
        raise invalid(f"invalid symbol: {symbol}")
    return name


@router.get("/v2/stocks/{symbol}/bars")
def symbol_bars(
    symbol: str,
    _caller: CurrentCaller,
    db: DbDep,
    timeframe: Annotated[str, Query()] = "1Day",
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    page_token: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query()] = "asc",
):
    name = _one(symbol)
    page, token = _bars_page(db, [name], timeframe, start, end, limit, page_token, sort)
    return {"bars": page.get(name, []), "symbol": name, "next_page_token": token}


@router.get("/v2/stocks/{symbol}/quotes/latest")
def symbol_latest_quote(symbol: str, _caller: CurrentCaller):
    name = _one(symbol)
    quote = _latest_quotes([name]).get(name)
    return {"symbol": name, "quote": quote_json(quote) if quote else None}


@router.get("/v2/stocks/{symbol}/trades/latest")
def symbol_latest_trade(symbol: str, _caller: CurrentCaller):
    name = _one(symbol)
    quote = _latest_quotes([name]).get(name)
    return {"symbol": name, "trade": trade_json(quote) if quote else None}


@router.get("/v2/stocks/{symbol}/bars/latest")
def symbol_latest_bar(symbol: str, _caller: CurrentCaller, db: DbDep):
    name = _one(symbol)
    bar = _latest_bar(db, name, _latest_quotes([name]).get(name), utcnow())
    return {"symbol": name, "bar": bar_json(bar) if bar else None}


@router.get("/v2/stocks/{symbol}/snapshot")
def symbol_snapshot(symbol: str, _caller: CurrentCaller, db: DbDep):
    name = _one(symbol)
    return {"symbol": name, **_snapshot(db, name, _latest_quotes([name]).get(name), utcnow())}
