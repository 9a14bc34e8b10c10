"""Market data over REST: symbols, quotes from the hub, and history at a resolution fitting each range."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from models.candle import DAY, MINUTE
from models.market import Candle, Quote
from models.types import utcnow
from services.infra.db import session_scope
from services.market import history as market_history
from services.market import symbols
from services.market.simulator import MarketSimulator
from tests.support.factories import quote


def test_symbols_lists_the_universe(api):
    listed = api.get("/api/symbols").json()["symbols"]
    assert len(listed) >= 60
    assert {"symbol": "AAPL", "name": "Apple Inc.", "sector": "Technology"} in listed or any(
        s["symbol"] == "AAPL" and s["name"] for s in listed
    )
    assert len({s["symbol"] for s in listed}) == len(listed)


def feed(api, started, *quotes: Quote):
    """Hand quotes to the hub on the app's event loop, where the bus would (the hub may start tasks there)."""
    api.portal.call(started.hub.receive, list(quotes))


def a_quote(symbol: str, last: str) -> Quote:
    price = Decimal(last)
    return quote(
        symbol, last, bid=str(price - Decimal("0.02")), ask=str(price + Decimal("0.02")), volume=1234, change="1.50"
    )


def test_quotes_are_exact_decimal_strings_case_insensitive(api, started):
    feed(api, started, a_quote("AAPL", "187.25"), a_quote("MSFT", "401.10"))
    body = api.get("/api/quotes", params={"symbols": "aapl, MSFT"}).json()
    assert body["stale"] is False
    by_symbol = {q["symbol"]: q for q in body["quotes"]}
    assert set(by_symbol) == {"AAPL", "MSFT"}
    aapl = by_symbol["AAPL"]
    assert (aapl["bid"], aapl["ask"], aapl["last"], aapl["volume"]) == ("187.23", "187.27", "187.25", 1234)
    assert isinstance(aapl["timestamp"], int)


def test_quotes_without_symbols_returns_everything_known(api, started):
    feed(api, started, a_quote("SPY", "600.00"))
    quoted = {q["symbol"] for q in api.get("/api/quotes").json()["quotes"]}
    assert "SPY" in quoted


def test_unknown_symbols_are_named(api):
    response = api.get("/api/quotes", params={"symbols": "AAPL,NOPE,ZZZZ"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "UNKNOWN_SYMBOL" and error["details"] == {"symbols": ["NOPE", "ZZZZ"]}


@pytest.fixture(scope="module")
def backfilled(started):
    """A year of daily candles and today's minutes for AAPL, as the feed lays them down on a new database."""
    sim = MarketSimulator(symbols.listings(), seed=11)
    now = utcnow()
    day = started.clock.trading_day(now)
    opens, _ = started.clock.session(day)
    with session_scope(started.engine) as db:
        market_history.save(db, DAY, sim.backfill_daily(365, end=day, symbols=["AAPL"]))
        market_history.save(db, MINUTE, sim.backfill_minutes(opens - timedelta(days=1), now, symbols=["AAPL"]))
    return now


def spacing(candles) -> set[timedelta]:
    times = [datetime.fromisoformat(c["t"]) for c in candles]
    return {b - a for a, b in pairwise(times)}


@pytest.mark.parametrize(
    ("range_", "step", "at_least"),
    [
        ("1D", timedelta(minutes=5), 1),
        ("1W", timedelta(hours=1), 20),
        ("1M", timedelta(days=1), 18),
        ("3M", timedelta(days=1), 55),
        ("1Y", timedelta(days=1), 240),
        ("ALL", timedelta(days=7), 50),
    ],
)
def test_history_fits_the_range(api, backfilled, range_, step, at_least):
    body = api.get("/api/quotes/aapl/history", params={"range": range_}).json()
    assert body["symbol"] == "AAPL" and body["range"] == range_
    candles = body["candles"]
    assert len(candles) >= at_least
    assert min(spacing(candles) or {step}) >= step  # never finer than the range's resolution
    times = [c["t"] for c in candles]
    assert times == sorted(times)
    for c in candles:
        low, high = Decimal(c["low"]), Decimal(c["high"])
        assert Decimal("0") < low <= min(Decimal(c["open"]), Decimal(c["close"]))
        assert high >= max(Decimal(c["open"]), Decimal(c["close"]))
        assert Decimal(c["close"]) == Decimal(c["close"]).quantize(Decimal("0.01"))  # on the cent grid


def test_history_rejects_bad_ranges_and_unknown_symbols(api):
    assert api.get("/api/quotes/AAPL/history", params={"range": "2D"}).json()["error"]["code"] == "VALIDATION_ERROR"
    assert api.get("/api/quotes/NOPE/history").json()["error"]["code"] == "UNKNOWN_SYMBOL"


def test_aggregate_merges_buckets_exactly():
    t0 = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)
    minutes = [
        Candle(
            t=t0 + timedelta(minutes=i), open=Decimal(o), high=Decimal(h), low=Decimal(lo), close=Decimal(c), volume=v
        )
        for i, (o, h, lo, c, v) in enumerate(
            [("10", "11", "9", "10.5", 1), ("10.5", "12", "10", "11", 2), ("11", "11", "8", "9", 3)]
        )
    ]
    merged = market_history.aggregate(minutes, timedelta(minutes=2), t0)
    assert [(m.t, m.open, m.high, m.low, m.close, m.volume) for m in merged] == [
        (t0, Decimal("10"), Decimal("12"), Decimal("9"), Decimal("11"), 3),
        (t0 + timedelta(minutes=2), Decimal("11"), Decimal("11"), Decimal("8"), Decimal("9"), 3),
    ]
