"""Alpaca's Market Data API v2 for stocks: latest quotes, trades and bars, snapshots and historical bars (with
`next_page_token` paging), from Sherwood's live quotes and stored candles. Numbers here are JSON numbers, as
Alpaca sends them; a symbol with no data is left out of a map, never null."""

import base64
import binascii
from collections.abc import Callable
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
from services.market.tape import Tick

router = APIRouter()

LOT = 100  # Sherwood's book has no depth or print sizes: quotes and trades are reported as round lots
EXCHANGE = "V"  # IEX, the feed alpaca-py asks for by default
DEFAULT_LIMIT, MAX_LIMIT = 1000, 10_000
LATEST_BAR_WINDOW = timedelta(minutes=15)


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def quote_json(timestamp_ms: int, bid: float, ask: float) -> dict[str, Any]:
    return {
        "t": _time(timestamp_ms),
        "bx": EXCHANGE,
        "bp": bid,
        "bs": LOT,
        "ax": EXCHANGE,
        "ap": ask,
        "as": LOT,
        "c": ["R"],
        "z": "C",
    }


def trade_json(timestamp_ms: int, price: float, size: int) -> dict[str, Any]:
    # The tick's time doubles as the trade id: unique per symbol, as Alpaca's ids are.
    return {"t": _time(timestamp_ms), "x": EXCHANGE, "p": price, "s": size, "c": ["@"], "i": timestamp_ms, "z": "C"}


def latest_quote_json(quote: Quote) -> dict[str, Any]:
    return quote_json(quote.timestamp, float(quote.bid), float(quote.ask))


def latest_trade_json(quote: Quote) -> dict[str, Any]:
    return trade_json(quote.timestamp, float(quote.last), LOT)


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
    return {"quotes": {s: latest_quote_json(q) for s, q in _latest_quotes(_listed(symbols_)).items()}}


@router.get("/v2/stocks/trades/latest")
def latest_trades(_caller: CurrentCaller, symbols_: Annotated[str | None, Query(alias="symbols")] = None):
    return {"trades": {s: latest_trade_json(q) for s, q in _latest_quotes(_listed(symbols_)).items()}}


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
        "latestTrade": latest_trade_json(quote) if quote else None,
        "latestQuote": latest_quote_json(quote) if quote else None,
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


def _token(symbol: str, t: datetime, skip: int) -> str:
    return base64.urlsafe_b64encode(f"{symbol}|{t.isoformat()}|{skip}".encode()).decode()


def _resume_at(token: str | None) -> tuple[str, datetime, int] | None:
    if not token:
        return None
    try:
        symbol, stamp, skip = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        return symbol, datetime.fromisoformat(stamp), int(skip)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid("invalid page_token") from None


Series = Callable[[str, datetime, datetime], list[tuple[datetime, dict[str, Any]]]]


def _page(
    names: list[str],
    series_of: Series,
    start: str | None,
    end: str | None,
    limit: int | None,
    page_token: str | None,
    sort: str,
) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
    """One page: symbols in order, each oldest first (`sort=desc`: newest first); `limit` counts items across
    all symbols; the token resumes at a symbol, a time and how many items of that time were already given."""
    if sort.lower() not in ("asc", "desc"):
        raise invalid(f"invalid sort: {sort}")
    size = limit or DEFAULT_LIMIT
    if not 1 <= size <= MAX_LIMIT:
        raise invalid(f"limit must be between 1 and {MAX_LIMIT}")
    now = utcnow()
    first = params.moment(start, "start") or midnight(now.astimezone(NEW_YORK).date())
    last = params.moment(end, "end") or now
    resume = _resume_at(page_token)
    newest_first = sort.lower() == "desc"
    page: dict[str, list[dict[str, Any]]] = {}
    taken = 0
    for name in sorted(names):
        if resume is not None and name < resume[0]:
            continue
        series = series_of(name, first, last)
        if newest_first:
            series.reverse()
        if resume is not None and name == resume[0]:
            _, at, skip = resume
            series = [item for item in series if (item[0] <= at if newest_first else item[0] >= at)]
            while skip and series and series[0][0] == at:
                series, skip = series[1:], skip - 1
        for i, (t, item) in enumerate(series):
            if taken == size:
                same = sum(1 for earlier, _ in series[:i] if earlier == t)
                return page, _token(name, t, same)
            page.setdefault(name, []).append(item)
            taken += 1
    return page, None


def _bars_of(db: Session, timeframe: str) -> Series:
    try:
        frame = TimeFrame.parse(timeframe)
    except ValueError as exc:
        raise invalid(str(exc)) from None
    rt, now = runtime.current(), utcnow()

    def series(name: str, first: datetime, last: datetime):
        found = bars(db, name, frame, start=first, end=last, clock=rt.clock, now=now)
        return [(bar.t, bar_json(bar)) for bar in found]

    return series


def _ticks_of(render: Callable[[Tick], dict[str, Any] | None]) -> Series:
    tape = runtime.current().tape

    def series(name: str, first: datetime, last: datetime):
        ticks = tape.ticks(name, int(first.timestamp() * 1000), int(last.timestamp() * 1000))
        rendered = ((datetime.fromtimestamp(t.timestamp / 1000, tz=UTC), render(t)) for t in ticks)
        return [(t, item) for t, item in rendered if item is not None]

    return series


def tick_quote(tick: Tick) -> dict[str, Any]:
    return quote_json(tick.timestamp, tick.bid, tick.ask)


def tick_trade(tick: Tick) -> dict[str, Any] | None:
    """A tick that reports a trade (the day volume grew): its print."""
    return None if tick.printed is None else trade_json(tick.timestamp, tick.last, tick.printed)


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
    page, token = _page(_listed(symbols_), _bars_of(db, timeframe), start, end, limit, page_token, sort)
    return {"bars": page, "next_page_token": token}


@router.get("/v2/stocks/trades")
def historical_trades(
    _caller: CurrentCaller,
    symbols_: Annotated[str | None, Query(alias="symbols")] = None,
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    page_token: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query()] = "asc",
):
    """Trades within the recent window Sherwood keeps (the last 20 minutes); older ranges are empty pages."""
    page, token = _page(_listed(symbols_), _ticks_of(tick_trade), start, end, limit, page_token, sort)
    return {"trades": page, "next_page_token": token}


@router.get("/v2/stocks/quotes")
def historical_quotes(
    _caller: CurrentCaller,
    symbols_: Annotated[str | None, Query(alias="symbols")] = None,
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    page_token: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query()] = "asc",
):
    """Quotes within the recent window Sherwood keeps (the last 20 minutes); older ranges are empty pages."""
    page, token = _page(_listed(symbols_), _ticks_of(tick_quote), start, end, limit, page_token, sort)
    return {"quotes": page, "next_page_token": token}


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
    page, token = _page([name], _bars_of(db, timeframe), start, end, limit, page_token, sort)
    return {"bars": page.get(name, []), "symbol": name, "next_page_token": token}


@router.get("/v2/stocks/{symbol}/trades")
def symbol_trades(
    symbol: str,
    _caller: CurrentCaller,
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    page_token: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query()] = "asc",
):
    name = _one(symbol)
    page, token = _page([name], _ticks_of(tick_trade), start, end, limit, page_token, sort)
    return {"trades": page.get(name, []), "symbol": name, "next_page_token": token}


@router.get("/v2/stocks/{symbol}/quotes")
def symbol_quotes(
    symbol: str,
    _caller: CurrentCaller,
    start: Annotated[str | None, Query()] = None,
    end: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    page_token: Annotated[str | None, Query()] = None,
    sort: Annotated[str, Query()] = "asc",
):
    name = _one(symbol)
    page, token = _page([name], _ticks_of(tick_quote), start, end, limit, page_token, sort)
    return {"quotes": page.get(name, []), "symbol": name, "next_page_token": token}


@router.get("/v2/stocks/{symbol}/quotes/latest")
def symbol_latest_quote(symbol: str, _caller: CurrentCaller):
    name = _one(symbol)
    quote = _latest_quotes([name]).get(name)
    return {"symbol": name, "quote": latest_quote_json(quote) if quote else None}


@router.get("/v2/stocks/{symbol}/trades/latest")
def symbol_latest_trade(symbol: str, _caller: CurrentCaller):
    name = _one(symbol)
    quote = _latest_quotes([name]).get(name)
    return {"symbol": name, "trade": latest_trade_json(quote) if quote else None}


@router.get("/v2/stocks/{symbol}/bars/latest")
def symbol_latest_bar(symbol: str, _caller: CurrentCaller, db: DbDep):
    name = _one(symbol)
    bar = _latest_bar(db, name, _latest_quotes([name]).get(name), utcnow())
    return {"symbol": name, "bar": bar_json(bar) if bar else None}


@router.get("/v2/stocks/{symbol}/snapshot")
def symbol_snapshot(symbol: str, _caller: CurrentCaller, db: DbDep):
    name = _one(symbol)
    return {"symbol": name, **_snapshot(db, name, _latest_quotes([name]).get(name), utcnow())}
