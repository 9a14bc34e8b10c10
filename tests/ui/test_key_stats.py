"""The stock page's key statistics, its about line, and the change over the range the chart shows."""

from datetime import timedelta
from decimal import Decimal

from sqlmodel import Session

from models.candle import DAY, MINUTE
from models.market import Candle
from models.types import utcnow
from services.market import history
from services.market.clock import midnight
from tests.ui.conftest import by_testid, click, eventually, publish


def candle(t, open_, high, low, close, volume) -> Candle:
    return Candle(t=t, open=Decimal(open_), high=Decimal(high), low=Decimal(low), close=Decimal(close), volume=volume)


def seed_history(started) -> None:
    """40 finished sessions (the last 30 trading 2M shares a day, a 52-week high of $120 and low of $80) and
    two minutes of today's session."""
    day = started.clock.trading_day(utcnow())
    days = []
    for back in range(40, 0, -1):
        high, low = ("120" if back == 20 else "95"), ("80" if back == 35 else "85")
        days.append(
            candle(midnight(day - timedelta(days=back)), "90", high, low, "90", 2_000_000 if back <= 30 else 500_000)
        )
    opens = started.clock.session(day)[0]
    minutes = [
        candle(opens + timedelta(minutes=1), "100", "103", "99", "101", 3000),
        candle(opens + timedelta(minutes=2), "101", "102", "98.5", "100.5", 2000),
    ]
    with Session(started.engine) as db:
        history.save(db, DAY, {"AAPL": days})
        history.save(db, MINUTE, {"AAPL": minutes})


def statistics(user) -> dict[str, str]:
    names = ("open", "high", "low", "volume", "average-volume", "year-high", "year-low", "market-cap")
    return {name: by_testid(user, f"stat-{name}").elements.pop().text for name in names}


def says(user, testid: str) -> str:
    return by_testid(user, testid).elements.pop().text


async def test_key_statistics_about_and_the_change_over_the_range(user, sign_in, started):
    seed_history(started)
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    await eventually(lambda: statistics(user)["open"] != "—", "the statistics")
    assert statistics(user) == {
        "open": "$100.00",
        "high": "$103.00",
        "low": "$98.50",
        "volume": "5.00K",  # the session's minutes (the quote's day volume is lower here)
        "average-volume": "2.00M",  # the last 30 finished sessions
        "year-high": "$120.00",
        "year-low": "$80.00",
        "market-cap": "$1.48T",  # 14,776,000,000 shares outstanding x $100.00
    }
    await user.should_see("Market cap from shares outstanding as of Nov 28, 2025.")
    assert "iPhone" in says(user, "about-line")
    assert says(user, "sector") == "Sector: Technology"
    assert says(user, "price-change") == "+$0.00 (0.00%) Today"  # the day's change, from the previous close

    await click(user, "range-1M")  # the month starts at the $90.00 close
    await eventually(lambda: says(user, "price-change") == "+$10.00 (+11.11%) Past month", "the month's change")
    await publish(started, "AAPL", "104.00")  # live: a new high, the change and the market cap follow
    await eventually(lambda: says(user, "price-change") == "+$14.00 (+15.56%) Past month", "the change moves")
    await eventually(lambda: statistics(user)["high"] == "$104.00", "a new day's high")
    assert statistics(user)["market-cap"] == "$1.54T"
    await click(user, "range-1D")
    await eventually(lambda: says(user, "price-change").endswith(" Today"), "the day's change again")


async def test_a_fund_has_no_market_cap_and_a_fresh_market_says_dashes(user, sign_in, started):
    await publish(started, "SPY", "600.00")
    await sign_in()
    await user.open("/stock/SPY")
    await eventually(lambda: statistics(user)["high"] != "—", "the statistics")
    shown = statistics(user)
    assert (shown["open"], shown["average-volume"], shown["market-cap"]) == ("—", "—", "—")
    assert shown["high"] == shown["low"] == shown["year-high"] == "$600.00"  # only the live price is known
    assert "S&P 500" in says(user, "about-line")
