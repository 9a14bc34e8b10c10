"""alpaca-py's StockHistoricalDataClient against Sherwood: latest quotes, trades and bars, snapshots, and
historical bars from the stored candles (timeframes, paging across symbols), plus alpaca-trade-api's
single-symbol routes."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import (
    StockBarsRequest,
    StockLatestBarRequest,
    StockLatestQuoteRequest,
    StockLatestTradeRequest,
    StockSnapshotRequest,
)
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from models.candle import DAY, MINUTE
from models.market import Candle
from services.infra.db import session_scope
from services.market import history

START = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)  # 10:00 in New York


def store(sherwood, resolution: str, symbol: str, first: datetime, count: int, step: timedelta, base="100") -> None:
    series = []
    for n in range(count):
        price = Decimal(base) + n
        series.append(
            Candle(
                t=first + n * step, open=price, high=price + 1, low=price - 1, close=price + Decimal("0.5"), volume=10
            )
        )
    with session_scope(sherwood.rt.engine) as db:
        history.save(db, resolution, {symbol: series})


@pytest.fixture
def data(sherwood, trader) -> StockHistoricalDataClient:
    sherwood.quote("AAPL", "200.00", "200.10", last="200.05")
    sherwood.quote("MSFT", "300.00", "300.10", last="300.05")
    return StockHistoricalDataClient(trader.key_id, trader.secret, url_override=sherwood.alpaca)


def test_latest_quotes_and_trades_are_the_live_quotes(data):
    quotes = data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=["AAPL", "MSFT"]))
    assert (quotes["AAPL"].bid_price, quotes["AAPL"].ask_price, quotes["MSFT"].ask_price) == (200.0, 200.1, 300.1)
    assert quotes["AAPL"].bid_size > 0 and quotes["AAPL"].timestamp > datetime.now(UTC) - timedelta(minutes=1)
    trades = data.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="AAPL", feed=DataFeed.IEX))
    assert trades["AAPL"].price == 200.05 and trades["AAPL"].size > 0
    unknown = data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=["AAPL", "NOPE"]))
    assert set(unknown) == {"AAPL"}


def test_the_latest_bar_is_there_even_before_a_minute_is_stored(data):
    bars = data.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols=["MSFT"]))
    assert bars["MSFT"].close == 300.05 and bars["MSFT"].trade_count is None and bars["MSFT"].vwap is None


def test_snapshots_carry_the_latest_quote_trade_and_bars(data):
    snapshots = data.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols=["AAPL", "MSFT"]))
    assert set(snapshots) == {"AAPL", "MSFT"}
    apple = snapshots["AAPL"]
    assert apple.latest_quote.ask_price == 200.1 and apple.latest_trade.price == 200.05
    assert apple.minute_bar.close == 200.05


def test_historical_minute_bars_from_stored_candles_in_any_timeframe(sherwood, data):
    store(sherwood, MINUTE, "AAPL", START, 10, timedelta(minutes=1))
    store(sherwood, MINUTE, "MSFT", START, 10, timedelta(minutes=1), base="300")
    window = {"start": START, "end": START + timedelta(minutes=9)}
    minutes = data.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols=["AAPL", "MSFT"], timeframe=TimeFrame.Minute, adjustment=Adjustment.ALL, **window
        )
    )
    apple = minutes["AAPL"]
    assert len(apple) == 10 and len(minutes["MSFT"]) == 10
    assert (apple[0].timestamp, apple[0].open, apple[0].high, apple[0].close, apple[0].volume) == (
        START,
        100,
        101,
        100.5,
        10,
    )
    five = data.get_stock_bars(
        StockBarsRequest(symbol_or_symbols="AAPL", timeframe=TimeFrame(5, TimeFrameUnit.Minute), **window)
    )["AAPL"]
    assert [(b.timestamp, b.open, b.high, b.low, b.close, b.volume) for b in five] == [
        (START, 100, 105, 99, 104.5, 50),
        (START + timedelta(minutes=5), 105, 110, 104, 109.5, 50),
    ]
    limited = data.get_stock_bars(
        StockBarsRequest(symbol_or_symbols=["AAPL", "MSFT"], timeframe=TimeFrame.Minute, limit=12, **window)
    )
    assert (len(limited["AAPL"]), len(limited["MSFT"])) == (10, 2)  # the limit counts bars across symbols


def test_bars_page_with_a_token_that_ends_null(sherwood, trader):
    first = START + timedelta(days=1)
    store(sherwood, MINUTE, "NVDA", first, 5, timedelta(minutes=1))
    store(sherwood, MINUTE, "TSLA", first, 5, timedelta(minutes=1))
    query = {
        "symbols": "TSLA,NVDA",
        "timeframe": "1Min",
        "start": first.isoformat(),
        "end": (first + timedelta(minutes=4)).isoformat(),
        "limit": 3,
    }
    seen, token, pages = [], None, 0
    while True:
        answer = httpx.get(
            f"{sherwood.alpaca}/v2/stocks/bars", params={**query, "page_token": token}, headers=trader.key
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"bars", "next_page_token"}
        seen += [(symbol, bar["t"]) for symbol, series in body["bars"].items() for bar in series]
        pages += 1
        token = body["next_page_token"]
        if token is None:
            break
    assert pages == 4 and len(seen) == 10 and [s for s, _ in seen] == ["NVDA"] * 5 + ["TSLA"] * 5
    desc = httpx.get(
        f"{sherwood.alpaca}/v2/stocks/NVDA/bars", params={**query, "sort": "desc", "limit": 2}, headers=trader.key
    )
    body = desc.json()
    assert body["symbol"] == "NVDA" and [b["o"] for b in body["bars"]] == [104, 103] and body["next_page_token"]


def test_daily_weekly_and_monthly_bars_from_daily_candles(sherwood, data):
    monday = datetime(2024, 2, 5, 5, tzinfo=UTC)  # New York midnight (EST all along)
    store(sherwood, DAY, "AMZN", monday, 10, timedelta(days=1))
    window = {"start": monday, "end": monday + timedelta(days=9)}
    days = data.get_stock_bars(StockBarsRequest(symbol_or_symbols="AMZN", timeframe=TimeFrame.Day, **window))["AMZN"]
    assert len(days) == 10 and days[0].timestamp == monday
    weeks = data.get_stock_bars(StockBarsRequest(symbol_or_symbols="AMZN", timeframe=TimeFrame.Week, **window))["AMZN"]
    assert [(w.timestamp, w.open, w.close, w.volume) for w in weeks] == [
        (monday, 100, 106.5, 70),
        (monday + timedelta(days=7), 107, 109.5, 30),
    ]
    months = data.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols="AMZN",
            timeframe=TimeFrame.Month,
            start=datetime(2024, 2, 1, 5, tzinfo=UTC),
            end=window["end"],
        )
    )["AMZN"]
    assert [(m.timestamp, m.open, m.high, m.volume) for m in months] == [
        (datetime(2024, 2, 1, 5, tzinfo=UTC), 100, 110, 100)
    ]


def test_empty_ranges_and_bad_requests(sherwood, trader, data):
    empty = data.get_stock_bars(
        StockBarsRequest(
            symbol_or_symbols="AAPL", timeframe=TimeFrame.Hour, start=datetime(2001, 1, 1), end=datetime(2001, 1, 2)
        )
    )
    assert empty.data == {}
    raw = httpx.get(
        f"{sherwood.alpaca}/v2/stocks/bars?symbols=AAPL&start=2001-01-01&end=2001-01-02", headers=trader.key
    )
    assert raw.json() == {"bars": {}, "next_page_token": None}
    for query in ("symbols=AAPL&timeframe=7Week", "symbols=AAPL&page_token=%%%", "timeframe=1Day"):
        answer = httpx.get(f"{sherwood.alpaca}/v2/stocks/bars?{query}", headers=trader.key)
        assert answer.status_code == 422 and answer.json()["code"] == 40010001, answer.text
    assert httpx.get(f"{sherwood.alpaca}/v2/stocks/quotes/latest?symbols=AAPL").status_code == 401


def test_single_symbol_routes_of_alpaca_trade_api(sherwood, trader, data):
    base = f"{sherwood.alpaca}/v2/stocks/AAPL"
    quote = httpx.get(f"{base}/quotes/latest", headers=trader.key).json()
    assert quote["symbol"] == "AAPL" and quote["quote"]["ap"] == 200.1
    assert httpx.get(f"{base}/trades/latest", headers=trader.key).json()["trade"]["p"] == 200.05
    assert httpx.get(f"{base}/bars/latest", headers=trader.key).json()["bar"]["c"] == 200.05
    snapshot = httpx.get(f"{base}/snapshot", headers=trader.key).json()
    assert snapshot["symbol"] == "AAPL" and snapshot["latestQuote"]["bp"] == 200.0
    assert httpx.get(f"{sherwood.alpaca}/v2/stocks/NOPE/snapshot", headers=trader.key).status_code == 422
