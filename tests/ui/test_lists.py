"""Watchlist, alerts and orders pages: adding and removing, filtering and canceling, live updates, empty states."""

from tests.ui.conftest import by_testid, click, database_out_of_reach, eventually, fill, publish, rows


def present(user, testid: str) -> bool:
    try:
        by_testid(user, testid)
    except AssertionError:
        return False
    return True


async def test_a_new_account_sees_a_way_to_its_first_trade_not_blank_tables(user, sign_in):
    await sign_in()
    await user.should_see("Make your first trade")
    assert present(user, "empty-state")
    assert empty_says(user, "positions") == "You have no positions yet."
    assert empty_says(user, "open-orders") == "No open orders."
    assert empty_says(user, "recent-fills") == "Nothing filled yet."
    await user.open("/orders")
    assert empty_says(user, "all-orders") == "No orders yet."
    await user.open("/alerts")
    assert empty_says(user, "alerts") == "No alerts set."


def empty_says(user, testid: str) -> str:
    """What an empty table says instead of showing nothing."""
    (table,) = by_testid(user, testid).elements
    assert table.rows == []
    return table.props["no-data-label"]


def watched(user) -> dict[str, list[str]]:
    """The watchlist's rows by symbol: [symbol, last, bid, ask, change %]."""
    (board,) = by_testid(user, "watch-rows").elements
    return {fields[0]: fields for fields in (row.split("\t") for row in board.props["rows"])}


async def unwatch(user, symbol: str) -> None:
    by_testid(user, "watch-rows").trigger("remove", symbol)  # the row's remove button
    await eventually(lambda: symbol not in watched(user), f"{symbol} gone")


async def test_watchlist_add_and_remove_persist(user, sign_in):
    await sign_in()
    assert list(watched(user)) == ["AAPL", "MSFT", "NVDA", "TSLA", "SPY"]  # new users start with popular symbols
    fill(user, "watch-add", "KO")
    await eventually(lambda: "KO" in watched(user), "KO in the watchlist")
    await unwatch(user, "AAPL")

    await user.open("/")  # kept for this user, not just on the page
    assert list(watched(user)) == ["KO", "MSFT", "NVDA", "TSLA", "SPY"] or set(watched(user)) == {
        "KO",
        "MSFT",
        "NVDA",
        "TSLA",
        "SPY",
    }
    for symbol in ("MSFT", "NVDA", "TSLA", "SPY", "KO"):
        await unwatch(user, symbol)
    (board,) = by_testid(user, "watch-rows").elements
    assert board.props["empty"] == "Add symbols to follow their prices here."


async def test_watchlist_prices_follow_the_market(user, sign_in, started):
    await publish(started, "AAPL", "150.00")
    await sign_in()
    assert watched(user)["AAPL"] == ["AAPL", "150.00", "149.99", "150.01", "+0.00%"]
    await publish(started, "AAPL", "151.25")
    # the live flush, a few times a second, sends only the board of this page
    await eventually(lambda: watched(user)["AAPL"][1] == "151.25", "the new price on the page")


async def test_alerts_create_fire_and_delete(user, sign_in, started):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/alerts")
    fill(user, "alert-price", "abc")
    await click(user, "create-alert")
    (price,) = by_testid(user, "alert-price").elements
    assert price.error == "Pick a symbol." or price.error.startswith("Enter a price")
    fill(user, "alert-symbol", "AAPL")
    fill(user, "alert-price", "0")
    await click(user, "create-alert")
    assert price.error.startswith("Enter a price above zero")

    fill(user, "alert-price", "120")
    await click(user, "create-alert")
    listed = await eventually(lambda: rows(user, "alerts"), "the new alert")
    assert [(a["symbol"], a["when"], a["status"]) for a in listed] == [("AAPL", "Price above $120.00", "Active")]
    assert price.error is None and price.value == ""

    await publish(started, "AAPL", "121.00")  # crosses the level: the user is told on the page they are on
    await user.should_see("Alert: AAPL is above $120.00", retries=100)

    await user.open("/alerts")
    (alert,) = rows(user, "alerts")
    assert alert["status"] == "Triggered"
    by_testid(user, "alerts").trigger("remove", alert)
    await eventually(lambda: rows(user, "alerts") == [], "the alert deleted")


async def test_orders_page_filters_cancels_and_follows_fills(user, sign_in, started):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    fill(user, "order-type", "limit")
    for limit in ("90.00", "80.00"):  # two resting buys
        fill(user, "amount", "1")
        fill(user, "limit-price", limit)
        await click(user, "review")
        await click(user, "submit-order")
        await eventually(
            lambda limit=limit: any(r["price"] == f"limit ${limit}" for r in rows(user, "symbol-orders")), "the order"
        )

    await user.open("/orders")
    assert [r["status"] for r in rows(user, "all-orders")] == ["Pending", "Pending"]
    fill(user, "status-filter", "filled")
    await eventually(lambda: rows(user, "all-orders") == [], "no filled orders")
    fill(user, "status-filter", "pending")
    pending = await eventually(lambda: rows(user, "all-orders"), "the open orders")
    at_80 = next(r for r in pending if r["price"] == "limit $80.00")
    by_testid(user, "all-orders").trigger("cancel", at_80)
    await click(user, "dialog-confirm")  # "Cancel your limit buy of 1 AAPL (limit $80.00)?"
    await user.should_see("Canceled your limit buy of 1 AAPL (limit $80.00)", retries=50)
    await eventually(lambda: [r["price"] for r in rows(user, "all-orders")] == ["limit $90.00"], "one open order left")

    fill(user, "status-filter", "all")
    await publish(started, "AAPL", "89.00")  # the ask crosses $90: filled by the engine, shown without a reload
    await eventually(
        lambda: sorted(r["status"] for r in rows(user, "all-orders")) == ["Canceled", "Filled"], "the fill shown"
    )


async def test_an_action_the_database_cannot_answer_is_said_not_swallowed(user, sign_in, started, tmp_path, caplog):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    fill(user, "order-type", "limit")
    fill(user, "amount", "1")
    fill(user, "limit-price", "90.00")
    await click(user, "review")
    await click(user, "submit-order")
    await user.should_see("Order placed: buy 1 AAPL", retries=50)
    await user.open("/orders")
    (order,) = await eventually(lambda: rows(user, "all-orders"), "the open order")

    with database_out_of_reach(started, tmp_path):
        by_testid(user, "all-orders").trigger("cancel", order)
        await click(user, "dialog-confirm")
        await user.should_see("The service is temporarily unavailable; please retry.", retries=50)
    assert [r["status"] for r in rows(user, "all-orders")] == ["Pending"]
    assert any("unable to open database file" in r.getMessage() for r in caplog.records)  # logged for operators
    caplog.clear()  # expected here, so the fixture's check for logged errors passes
