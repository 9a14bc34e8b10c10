"""The market simulator core: listings, quote invariants, statistics, backfill and minute candles."""

import math
import statistics
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.market import Candle, Quote
from services.market import symbols
from services.market.candles import CandleBuilder
from services.market.simulator import (
    TRADING_DAY_SECONDS,
    MarketSimulator,
    grid_index,
    grid_price,
    relative_spread,
    to_grid,
)
from services.market.symbols import Listing

NEW_YORK = ZoneInfo("America/New_York")
START_MS = 1_764_000_000_000 - 1_764_000_000_000 % 60_000  # a minute boundary


def listing(symbol: str, price: str, volatility: float, sector: str = "Test") -> Listing:
    return Listing(symbol, f"{symbol} Inc.", sector, Decimal(price), volatility)


def pick(*names: str) -> list[Listing]:
    return [symbols.get(name) for name in names]


def frozen_clock() -> int:
    return 1_700_000_000_000


def on_grid(price: Decimal) -> bool:
    """Cents at or above $1, four decimals below, and never zero."""
    return price > 0 and price.as_tuple().exponent == (-2 if price >= 1 else -4)


def tick_of(price: Decimal) -> Decimal:
    return Decimal("0.01") if price >= 1 else Decimal("0.0001")


def assert_sane(quote: Quote) -> None:
    assert all(on_grid(p) for p in (quote.bid, quote.ask, quote.last, quote.prev_close)), quote
    assert quote.bid < quote.ask, quote
    assert quote.bid <= quote.last <= quote.ask, quote
    assert quote.bid >= tick_of(quote.bid)
    assert quote.change == quote.last - quote.prev_close
    assert quote.change_percent == (quote.change / quote.prev_close * 100).quantize(Decimal("0.01"))


def assert_candles_sane(candles: list[Candle]) -> None:
    for c in candles:
        assert all(on_grid(p) for p in (c.open, c.high, c.low, c.close)), c
        assert 0 < c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high, c
        assert c.volume > 0 and c.volume % 100 == 0
        assert c.t.utcoffset() == timedelta(0)


def log_returns(prices: list[float]) -> list[float]:
    return [math.log(b / a) for a, b in pairwise(prices)]


# --- listings -------------------------------------------------------------------------------------


def test_listings_are_many_unique_and_priced() -> None:
    listed = symbols.listings()
    assert len(listed) >= 60
    assert len({x.symbol for x in listed}) == len(listed)
    for x in listed:
        assert x.symbol == symbols.normalize(x.symbol) and x.name and x.sector
        assert x.reference_price >= 5 and x.reference_price.as_tuple().exponent == -2
        assert 0.1 <= x.volatility <= 0.7
    assert {"AAPL", "MSFT", "NVDA", "SPY", "QQQ", "KO", "DUK"} <= {x.symbol for x in listed}


def test_lookup_is_case_insensitive() -> None:
    aapl = symbols.get("AAPL")
    assert aapl is not None and symbols.get(" aapl ") is aapl
    assert symbols.is_listed("msft") and not symbols.is_listed("NOPE")
    assert symbols.get("NOPE") is None
    assert symbols.listings() is symbols.listings()


# --- the price grid -------------------------------------------------------------------------------


@given(st.floats(min_value=1.0, max_value=1e6))
def test_grid_rounds_dollar_prices_to_cents(price: float) -> None:
    rounded = to_grid(price)
    assert on_grid(rounded) and rounded >= 1
    assert abs(float(rounded) - price) <= 0.005 + 1e-9 * price


@given(st.floats(min_value=0.0, max_value=0.9999, exclude_min=True))
def test_grid_rounds_sub_dollar_prices_to_hundredths_of_a_cent(price: float) -> None:
    rounded = to_grid(price)
    assert on_grid(rounded)
    assert rounded == Decimal("0.0001") or abs(float(rounded) - price) <= 0.00005 + 1e-12


@given(st.floats(min_value=0.0, max_value=2.0), st.floats(min_value=0.0, max_value=2.0))
def test_grid_rounding_is_monotone_across_one_dollar(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert grid_index(low) <= grid_index(high)
    assert grid_price(grid_index(low)) <= grid_price(grid_index(high))


@given(st.integers(min_value=1, max_value=10_000_000))
def test_grid_index_round_trips(index: int) -> None:
    assert grid_index(float(grid_price(index))) == index


# --- quotes ---------------------------------------------------------------------------------------


def test_quotes_stay_positive_ordered_and_on_grid() -> None:
    wild = [listing("PENNY", "0.85", 1.5), listing("EDGE", "1.01", 2.5), listing("TINY", "0.0003", 2.0)]
    market = pick("AAPL", "SNAP", "KO", "TSLA", "SPY") + wild
    sim = MarketSimulator(market, seed=3, now_ms=frozen_clock, symbols_per_step=len(market))
    seen = []
    for _ in range(2000):
        quotes = sim.step(1800.0)
        seen += quotes
        for quote in quotes:
            assert_sane(quote)
    lasts = {q.symbol: q.last for q in seen}
    assert len(lasts) == len(market)
    # The walk crossed $1, where the grid changes, down and back up.
    edge = [q.last >= 1 for q in seen if q.symbol == "EDGE"]
    assert sum(a != b for a, b in pairwise(edge)) >= 2


def test_spread_matches_the_configured_one() -> None:
    market = pick("AAPL", "MSFT", "SPY", "JPM", "TSLA")
    sim = MarketSimulator(market, seed=5, now_ms=frozen_clock)
    measured: dict[str, list[float]] = {x.symbol: [] for x in market}
    configured: dict[str, list[float]] = {x.symbol: [] for x in market}
    volatility = {x.symbol: x.volatility for x in market}
    for _ in range(2000):
        for q in sim.tick(len(market)):
            mid = float(q.bid + q.ask) / 2
            measured[q.symbol].append(float(q.ask - q.bid) / mid)
            configured[q.symbol].append(relative_spread(mid, volatility[q.symbol]))
    for symbol in measured:
        ratio = statistics.fmean(measured[symbol]) / statistics.fmean(configured[symbol])
        assert 0.9 < ratio < 1.1, (symbol, ratio)
        assert statistics.fmean(measured[symbol]) < 0.001  # a few bps for liquid large caps


def test_cheap_volatile_names_quote_wider() -> None:
    sim = MarketSimulator(pick("AAPL", "SNAP"), seed=1, now_ms=frozen_clock)
    quotes = {q.symbol: q for q in sim.snapshot()}

    def spread(q: Quote) -> Decimal:
        return (q.ask - q.bid) / q.last

    assert spread(quotes["SNAP"]) > 2 * spread(quotes["AAPL"])


def daily_lasts(sim: MarketSimulator, days: int) -> dict[str, list[float]]:
    lasts: dict[str, list[float]] = {s: [] for s in sim.symbols}
    for _ in range(days):
        for q in sim.tick(len(lasts), TRADING_DAY_SECONDS):
            lasts[q.symbol].append(float(q.last))
    return lasts


@pytest.fixture(scope="module")
def eight_years() -> tuple[list[Listing], dict[str, list[float]]]:
    """2,000 daily closes of two staples, two chip makers and SPY: a standard error of ~1.6 % on volatility."""
    market = pick("KO", "PG", "NVDA", "AMD", "SPY")
    return market, daily_lasts(MarketSimulator(market, seed=11, now_ms=frozen_clock), 2000)


def test_realised_volatility_matches_the_listing(eight_years) -> None:
    market, lasts = eight_years
    for x in market:
        realised = statistics.stdev(log_returns(lasts[x.symbol])) * math.sqrt(252)
        assert realised == pytest.approx(x.volatility, rel=0.1), x.symbol


def test_same_sector_moves_together_more_than_across(eight_years) -> None:
    _, lasts = eight_years
    returns = {s: log_returns(p) for s, p in lasts.items()}

    def corr(a: str, b: str) -> float:
        return statistics.correlation(returns[a], returns[b])

    same = [corr("KO", "PG"), corr("NVDA", "AMD")]
    across = [corr("KO", "NVDA"), corr("PG", "AMD"), corr("KO", "AMD")]
    assert min(same) > max(across) + 0.1
    assert all(0.55 < c < 0.75 for c in same) and all(0.3 < c < 0.5 for c in across)
    assert corr("SPY", "NVDA") > 0.5  # the index follows the market factor


def test_same_seed_same_tape_other_seed_other_tape() -> None:
    def tape(seed: int) -> list[Quote]:
        sim = MarketSimulator(symbols.listings(), seed=seed, now_ms=frozen_clock)
        return [q for _ in range(50) for q in sim.step(0.5)] + [q for _ in range(5) for q in sim.tick(7)]

    assert tape(7) == tape(7)
    assert tape(7) != tape(8)


def test_step_prints_about_symbols_per_step_with_uneven_rates() -> None:
    sim = MarketSimulator(symbols.listings(), seed=2, now_ms=frozen_clock, symbols_per_step=30)
    steps = [sim.step(0.1) for _ in range(400)]
    assert 0.85 * 30 < statistics.fmean(len(s) for s in steps) <= 30
    assert len({len(s) for s in steps}) > 5  # the subset size varies
    prints = Counter(q.symbol for s in steps for q in s)
    assert max(prints.values()) > 5 * min(prints.values())  # busy and quiet names, like a real tape
    assert all(len({q.symbol for q in s}) == len(s) for s in steps)


def test_volume_accumulates_in_lots_and_restarts_each_day() -> None:
    sim = MarketSimulator(pick("AAPL", "F"), seed=4, now_ms=frozen_clock)
    assert all(q.volume == 0 for q in sim.snapshot())
    volumes: dict[str, list[int]] = {"AAPL": [], "F": []}
    for _ in range(500):
        for q in sim.tick(2, 10.0):
            volumes[q.symbol].append(q.volume)
    for series in volumes.values():
        assert series == sorted(series) and series[0] > 0 and all(v % 100 == 0 for v in series)
    # F trades far more shares than AAPL for similar dollar activity: its price is ~20x lower.
    assert volumes["F"][-1] > volumes["AAPL"][-1]

    lasts = {q.symbol: q.last for q in sim.snapshot()}
    sim.roll_day()
    for q in sim.snapshot():
        assert (q.volume, q.change, q.change_percent, q.prev_close) == (0, 0, 0, lasts[q.symbol])
    for q in sim.tick(2, 10.0):
        assert_sane(q)
        assert q.prev_close == lasts[q.symbol] and 0 < q.volume < volumes[q.symbol][-1]


def test_wire_forms() -> None:
    sim = MarketSimulator(pick("AAPL"), seed=1, now_ms=frozen_clock)
    quote = sim.tick(1, 60.0)[0]
    wire = quote.to_wire()
    assert set(wire) == {"symbol", "bid", "ask", "last", "volume", "timestamp", "change", "changePercent", "prevClose"}
    assert isinstance(wire["bid"], float) and wire["last"] == float(quote.last)
    assert wire["timestamp"] == frozen_clock() and isinstance(wire["volume"], int)
    rest = quote.model_dump(mode="json")
    assert rest["changePercent"] == str(quote.change_percent) and rest["prevClose"] == str(quote.prev_close)
    assert Quote.model_validate(rest) == quote == Quote.model_validate(wire)

    candle = Candle(
        t=datetime(2025, 11, 24, 14, 31, tzinfo=UTC),
        open=Decimal("187.25"),
        high=Decimal("188.00"),
        low=Decimal("0.9950"),
        close=Decimal("187.30"),
        volume=1200,
    )
    assert candle.to_wire() == {
        "t": "2025-11-24T14:31:00+00:00",
        "open": "187.25",
        "high": "188.00",
        "low": "0.9950",
        "close": "187.30",
        "volume": 1200,
    }
    in_new_york = candle.model_copy(update={"t": candle.t.astimezone(NEW_YORK)}).model_dump()
    assert Candle.model_validate(in_new_york).to_wire()["t"] == "2025-11-24T14:31:00+00:00"


# --- history --------------------------------------------------------------------------------------


def test_daily_backfill_covers_a_year_of_weekdays_and_ends_at_the_price() -> None:
    sim = MarketSimulator([*pick("AAPL", "KO", "NVDA", "SNAP"), listing("PENNY", "0.85", 0.9)], seed=9)
    end = date(2025, 11, 26)  # a Wednesday
    history = sim.backfill_daily(365, end=end)
    latest = {q.symbol: q.last for q in sim.snapshot()}
    assert set(history) == set(latest)
    for symbol, candles in history.items():
        assert 255 <= len(candles) <= 262
        assert_candles_sane(candles)
        sessions = [c.t.astimezone(NEW_YORK).date() for c in candles]
        assert sessions == sorted(set(sessions)) and all(d.weekday() < 5 for d in sessions)
        assert sessions[-1] == date(2025, 11, 25) and sessions[0] >= end - timedelta(days=365)
        assert candles[-1].close == latest[symbol]
    # The history moves like the listing says (about 260 returns: a standard error of ~4.5 %).
    for x in pick("AAPL", "KO", "NVDA"):
        closes = [float(c.close) for c in history[x.symbol]]
        assert statistics.stdev(log_returns(closes)) * math.sqrt(252) == pytest.approx(x.volatility, rel=0.25)


def test_daily_backfill_ends_at_the_close_the_day_rolled_on() -> None:
    sim = MarketSimulator(pick("AAPL", "TSLA"), seed=12)
    for _ in range(200):
        sim.step(60.0)
    sim.roll_day()
    history = sim.backfill_daily(30, end=date(2025, 11, 24))
    for q in sim.snapshot():
        assert history[q.symbol][-1].close == q.last == q.prev_close


def test_backfill_is_reproducible_and_independent_of_the_symbols_asked_for() -> None:
    sim = MarketSimulator(pick("AAPL", "MSFT", "KO"), seed=21, now_ms=frozen_clock)
    end = date(2025, 11, 26)
    everything = sim.backfill_daily(60, end=end)
    assert sim.backfill_daily(60, end=end) == everything
    assert sim.backfill_daily(60, end=end, symbols={"MSFT"}) == {"MSFT": everything["MSFT"]}
    tape = [q for _ in range(20) for q in sim.tick(3)]
    other = MarketSimulator(pick("AAPL", "MSFT", "KO"), seed=21, now_ms=frozen_clock)
    assert [q for _ in range(20) for q in other.tick(3)] == tape  # history never shifts the live tape


def test_minute_backfill_runs_from_the_previous_close_to_the_current_price() -> None:
    sim = MarketSimulator([*pick("AAPL", "SNAP"), listing("PENNY", "0.85", 0.9)], seed=13)
    for _ in range(300):
        sim.tick(3, 30.0)
    start = datetime(2025, 11, 24, 14, 30, tzinfo=UTC)
    history = sim.backfill_minutes(start, start + timedelta(hours=2, seconds=20))
    for q in sim.snapshot():
        candles = history[q.symbol]
        assert len(candles) == 120
        assert [c.t for c in candles] == [start + timedelta(minutes=k) for k in range(120)]
        assert_candles_sane(candles)
        assert candles[0].open == q.prev_close and candles[-1].close == q.last
        assert all(a.close == b.open for a, b in pairwise(candles))
    assert sim.backfill_minutes(start, start) == {q.symbol: [] for q in sim.snapshot()}
    with pytest.raises(ValueError, match="timezone-aware"):
        sim.backfill_minutes(start.replace(tzinfo=None), start.replace(tzinfo=None))


# --- minute candles from live quotes ---------------------------------------------------------------


def make_quote(symbol: str, seconds: float, last: str, volume: int) -> Quote:
    price = Decimal(last)
    return Quote(
        symbol=symbol,
        bid=price - Decimal("0.01"),
        ask=price + Decimal("0.01"),
        last=price,
        volume=volume,
        timestamp=int(START_MS + seconds * 1000),
        change=Decimal("0.00"),
        change_percent=Decimal("0.00"),
        prev_close=price,
    )


def test_candle_builder_rolls_minutes_and_counts_volume_deltas() -> None:
    builder = CandleBuilder()
    assert builder.current("AAPL") is None
    assert builder.add(make_quote("AAPL", 0, "10.00", 1_000)) is None  # its day volume so far is not this minute's
    assert builder.add(make_quote("MSFT", 5, "50.00", 7_000)) is None
    assert builder.add(make_quote("AAPL", 20, "10.50", 1_500)) is None
    assert builder.add(make_quote("AAPL", 59.9, "9.80", 1_800)) is None
    assert builder.current("AAPL") == Candle(
        t=datetime.fromtimestamp(START_MS / 1000, tz=UTC),
        open=Decimal("10.00"),
        high=Decimal("10.50"),
        low=Decimal("9.80"),
        close=Decimal("9.80"),
        volume=800,
    )

    finished = builder.add(make_quote("AAPL", 61, "10.10", 2_000))
    assert finished is not None and (finished.close, finished.volume) == (Decimal("9.80"), 800)
    forming = builder.current("AAPL")
    assert forming.t == finished.t + timedelta(minutes=1)
    assert (forming.open, forming.high, forming.low, forming.volume) == (Decimal("10.10"),) * 3 + (200,)
    assert builder.add(make_quote("AAPL", 59.95, "10.40", 2_100)) is None  # a late quote joins the open bar
    assert (builder.current("AAPL").high, builder.current("AAPL").volume) == (Decimal("10.40"), 300)

    # A new day restarts the cumulative volume: the delta is the new day's volume.
    rolled = builder.add(make_quote("AAPL", 185, "10.20", 300))
    assert rolled.volume == 300 and builder.current("AAPL").volume == 300
    assert builder.current("MSFT").volume == 0


def test_candle_builder_sums_to_the_simulated_day_volume() -> None:
    clock = {"ms": START_MS}
    sim = MarketSimulator(pick("AAPL", "KO"), seed=6, now_ms=lambda: clock["ms"])
    builder = CandleBuilder()
    first: dict[str, int] = {}
    closed: dict[str, list[Candle]] = {"AAPL": [], "KO": []}
    for _ in range(600):
        clock["ms"] += 1_000
        for q in sim.tick(1, 1.0):
            first.setdefault(q.symbol, q.volume)
            if (candle := builder.add(q)) is not None:
                closed[q.symbol].append(candle)
    for q in sim.snapshot():
        candles = closed[q.symbol] + [builder.current(q.symbol)]
        assert 9 <= len(candles) <= 11
        assert sum(c.volume for c in candles) == q.volume - first[q.symbol]
        assert all(c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high for c in candles)
