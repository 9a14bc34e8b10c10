"""The Discover page: today's gainers, losers and most active, for the market or one sector, live."""

import asyncio
from decimal import Decimal

from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from tests.support.factories import quote
from tests.ui.conftest import by_testid, eventually, fill


def moved(symbol: str, last: str, percent: str, volume: int):
    return quote(symbol, last, volume=volume).model_copy(update={"change_percent": Decimal(percent)})


async def publish_all(started, quotes) -> None:
    started.bus.publish(QUOTES_CHANNEL, encode_batch(quotes))
    for _ in range(200):
        if all(started.hub.latest.get(q.symbol) == q for q in quotes):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the hub never saw the quotes")


def listed(user, kind: str) -> list[list[str]]:
    """A list's rows as the browser gets them: [symbol, last, bid, ask, change %]."""
    (board,) = by_testid(user, f"{kind}-rows").elements
    return [row.split("\t") for row in board.props["rows"]]


def symbols_in(user, kind: str) -> list[str]:
    return [row[0] for row in listed(user, kind)]


async def test_discover_ranks_the_day_per_sector_and_stays_live(user, sign_in, started):
    await publish_all(
        started,
        [
            moved("NVDA", "180.00", "5.10", 9_000_000),
            moved("AMD", "200.00", "3.20", 3_000_000),
            moved("AAPL", "270.00", "-2.00", 5_000_000),
            moved("KO", "70.00", "-4.50", 1_000_000),
            moved("XOM", "117.00", "1.10", 12_500_000),
        ],
    )
    await sign_in()
    await user.open("/discover")
    await user.should_see("Top gainers")
    await user.should_see("Most active")
    await eventually(lambda: symbols_in(user, "gainers") == ["NVDA", "AMD", "XOM"], "the gainers", timeout=10)
    assert symbols_in(user, "losers") == ["KO", "AAPL"]
    assert symbols_in(user, "active") == ["XOM", "NVDA", "AAPL", "AMD", "KO"]
    (active,) = by_testid(user, "active-rows").elements
    assert active.props["notes"]["XOM"] == "12.50M shares"
    assert listed(user, "gainers")[0][1] == "180.00"
    (gainers,) = by_testid(user, "gainers-rows").elements
    assert gainers.props["names"]["NVDA"] == "NVIDIA Corporation"

    await publish_all(started, [moved("NVDA", "181.50", "6.00", 9_100_000)])  # the row moves with the tape
    await eventually(lambda: listed(user, "gainers")[0][1] == "181.50", "NVDA's new price")
    await publish_all(started, [moved("KO", "75.00", "7.00", 1_200_000)])  # and the ranking within seconds
    await eventually(lambda: symbols_in(user, "gainers")[0] == "KO", "KO leads the gainers", timeout=10)
    assert "KO" not in symbols_in(user, "losers")

    fill(user, "sector", "Semiconductors")
    await eventually(lambda: symbols_in(user, "gainers") == ["NVDA", "AMD"], "the semiconductors")
    assert symbols_in(user, "losers") == []
    fill(user, "sector", "Energy")
    await eventually(lambda: symbols_in(user, "active") == ["XOM"], "energy")
