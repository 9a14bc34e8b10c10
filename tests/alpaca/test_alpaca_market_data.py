"""alpaca-py's StockHistoricalDataClient against Sherwood: latest quotes, trades and bars, snapshots, and
historical bars from the stored candles (timeframes, paging across symbols), plus alpaca-trade-api's
single-symbol routes."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from alpaca.data.enums import Adjustment, DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.requests import (
    StockBarsRequest,
    StockLatestBarRequest,
    StockLatestQuoteRequest,
    StockLatestTradeRequest,
    StockQuotesRequest,
    StockSnapshotRequest,
    StockTradesRequest,
)
from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from models.candle import DAY, MINUTE
from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from tests.alpaca.candles import store
from tests.support.api import wait_until
from tests.support.factories import quote as make_quote

START = datetime(2024, 5, 1, 14, 0, tzinfo=UTC)  # 10:00 in New York


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
    # Stored candles keep no trade count or VWAP: `n` and `vw` are sent as null (alpaca-py requires the keys).
    assert {(b.trade_count, b.vwap) for b in apple} == {(None, None)}
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


def tick(sherwood, symbol: str, last: str, volume: int):
    """A quote with this day volume through the bus, as the feed sends it; waits until the hub has it."""
    previous = sherwood.rt.hub.latest.get(symbol)
    stamp = max(time.time_ns() // 1_000_000, previous.timestamp + 1 if previous else 0)
    sent = make_quote(symbol, last, volume=volume, timestamp=stamp)
    sherwood.rt.bus.publish(QUOTES_CHANNEL, encode_batch([sent]))
    wait_until(lambda: sherwood.rt.hub.latest.get(symbol) == sent, f"the hub to see {symbol}")
    return sent


def test_recent_trades_and_quotes_come_from_the_tape(sherwood, trader, data):
    since = datetime.now(UTC) - timedelta(seconds=1)
    for last, volume in (("50.00", 1000), ("50.10", 1100), ("50.10", 1100), ("50.30", 1250)):
        tick(sherwood, "PG", last, volume)
    quotes = data.get_stock_quotes(StockQuotesRequest(symbol_or_symbols="PG", start=since))["PG"]
    assert [q.bid_price for q in quotes][-4:] == [49.99, 50.09, 50.09, 50.29]
    trades = data.get_stock_trades(StockTradesRequest(symbol_or_symbols=["PG"], start=since))["PG"]
    assert [(t.price, t.size) for t in trades][-2:] == [(50.1, 100), (50.3, 150)]  # the unchanged volume: no print
    url = f"{sherwood.alpaca}/v2/stocks/quotes"
    query = {"symbols": "PG", "start": since.isoformat(), "limit": 2, "sort": "desc"}
    first = httpx.get(url, params=query, headers=trader.key).json()
    assert [q["bp"] for q in first["quotes"]["PG"]] == [50.29, 50.09] and first["next_page_token"]
    second = httpx.get(url, params={**query, "page_token": first["next_page_token"]}, headers=trader.key).json()
    assert [q["bp"] for q in second["quotes"]["PG"]][:2] == [50.09, 49.99]
    single = httpx.get(
        f"{sherwood.alpaca}/v2/stocks/PG/trades", params={"start": since.isoformat()}, headers=trader.key
    )
    assert single.json()["symbol"] == "PG" and single.json()["trades"][-1]["s"] == 150
    old = {"symbols": "PG", "start": "2024-01-02", "end": "2024-01-03"}
    assert httpx.get(url, params=old, headers=trader.key).json() == {"quotes": {}, "next_page_token": None}
