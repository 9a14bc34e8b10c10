"""The portfolio's positions and watchlist as a Robinhood user reads them: each position's day change, its share of
the portfolio and the day's mini chart; the watchlist rows' mini charts, redrawn a few times a minute."""

import time

import pytest
from sqlmodel import Session, select

from components import sparklines
from models.order import OrderCreate
from models.user import User
from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from services.trading import orders
from tests.support.factories import quote as make_quote
from tests.ui.conftest import by_testid, click, eventually, fill, publish, rows, shown

MINUTE_MS = 60_000


@pytest.fixture
def charts_every_half_second(monkeypatch):
    """The mini charts' clock, quicker than a third of a minute (before the app starts it), and no paths left over
    from another test's market."""
    monkeypatch.setattr(sparklines, "REFRESH_SECONDS", 0.5)
    sparklines.paths.clear()


async def minutes_ago(started, symbol: str, *prices: str) -> None:
    """The tape of the last minutes: one price a minute, the last one now."""
    now = time.time_ns() // 1_000_000
    for i, last in enumerate(prices):
        stamp = now - (len(prices) - 1 - i) * MINUTE_MS
        quote = make_quote(symbol, last, volume=1000, timestamp=stamp)
        started.bus.publish(QUOTES_CHANNEL, encode_batch([quote]))
        await eventually(lambda quote=quote: started.hub.latest.get(symbol) == quote, f"{symbol} at {last}")


async def buy(started, email: str, symbol: str, quantity: str) -> None:
    with Session(started.engine) as db:
        user_id = db.exec(select(User.id).where(User.email == email)).one()
    wanted = OrderCreate.model_validate({"symbol": symbol, "side": "buy", "orderType": "market", "quantity": quantity})
    placed = await orders.submit(started, user_id=user_id, key=f"buy-{symbol}", request=wanted)
    assert placed.status == 201, placed.body


def board(user):
    (found,) = by_testid(user, "watch-rows").elements
    return found


def ends_on_top(path: str) -> bool:
    """Whether a mini chart ends at the day's high (its last point is the highest: y = 1)."""
    return bool(path) and path.rsplit("L", 1)[-1].endswith(",1")


async def test_positions_show_the_day_change_share_of_portfolio_and_a_mini_chart(
    charts_every_half_second, user, sign_in, started
):
    await minutes_ago(started, "AAPL", "100.00", "101.00", "99.50")
    email = await sign_in()
    await buy(started, email, "AAPL", "2")  # at the ask, $99.51: $199.02 for $199.00 of shares
    await user.open("/")

    (row,) = await eventually(lambda: rows(user, "positions"), "the position")
    assert (row["day"], row["dayClass"]) == ("-$0.02 (-0.01%)", "sw-down")  # bought today: from its cost
    assert row["share"] == "0.20%"  # $199.00 of $99,999.98
    (row,) = await eventually(lambda: [r for r in rows(user, "positions") if r["spark"]], "its mini chart")
    assert row["spark"].startswith("M0,") and row["spark"].count("L") == 2  # the day's three minutes

    await publish(started, "AAPL", "103.00")  # the position follows the tick; its chart the next redraw
    (row,) = await eventually(
        lambda: [r for r in rows(user, "positions") if r["day"] == "+$6.98 (+3.51%)"], "the day change at $103"
    )
    assert row["dayClass"] == "sw-up" and row["share"] == "0.21%"
    await eventually(lambda: ends_on_top(rows(user, "positions")[0]["spark"]), "the chart redrawn at the new high")
    columns = [c["label"] for c in by_testid(user, "positions").elements.pop().columns]
    assert {"Today", "% of portfolio", "Today's chart"} <= set(columns)


async def test_the_watchlist_mini_charts_are_redrawn_on_their_clock_not_sent_with_every_tick(
    charts_every_half_second, user, sign_in, started
):
    await minutes_ago(started, "NVDA", "180.00", "181.00", "179.00")
    await sign_in()
    watched = board(user)
    assert set(watched.symbols) >= {"NVDA", "MSFT"}
    lines = await eventually(lambda: watched.lines.get("NVDA") and watched.lines, "NVDA's mini chart")
    assert lines["MSFT"] == ""  # no price yet: a still placeholder, not a made-up line
    assert not ends_on_top(lines["NVDA"])
    assert "lines" not in watched.props  # they travel by a method call: a tick's update does not carry them

    await publish(started, "NVDA", "185.00")
    await eventually(lambda: ends_on_top(watched.lines["NVDA"]), "NVDA's chart redrawn at the day's high")


async def test_with_no_list_left_the_watchlist_offers_to_make_one(user, sign_in):
    await sign_in()
    assert not shown(user, "no-lists")
    await click(user, "watch-delete")
    await click(user, "dialog-confirm")  # "Delete My First List?"
    await eventually(lambda: shown(user, "no-lists") and not shown(user, "watch-rows"), "the way to a first list")
    assert not shown(user, "watch-add")  # nothing to add symbols to
    await user.should_see("You have no lists. Make one to follow stocks here.")

    await click(user, "watch-first-list")
    fill(user, "list-name", "Tech")
    await click(user, "dialog-confirm")
    await eventually(lambda: shown(user, "watch-rows") and not shown(user, "no-lists"), "the new list")
    assert board(user).symbols == frozenset() and shown(user, "watch-add")
