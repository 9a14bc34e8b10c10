"""Orders as the user reads them: a row opens the order's detail, fills show when they happened, a filled stop keeps
its stop price, and a cancel is asked for before it is done."""

from sqlmodel import Session, select

from models.order import OrderCreate
from models.user import User
from services.trading import orders
from tests.ui.conftest import by_testid, click, eventually, fill, publish, rows


async def place(user, kind: str, amount: str, **prices: str) -> None:
    fill(user, "order-type", kind)
    fill(user, "amount", amount)
    for field, price in prices.items():
        fill(user, field, price)
    await click(user, "review")
    await click(user, "submit-order")


def texts(user, testid: str) -> list[str]:
    return [element.text for element in by_testid(user, testid).elements]


def detail_lines(user) -> list[str]:
    """What each status-history line of the open detail says: [what, when]."""
    return sorted(
        " ".join(label.text for label in step.descendants()) for step in by_testid(user, "detail-step").elements
    )


async def test_a_row_opens_the_orders_detail_and_a_filled_stop_keeps_its_stop(user, sign_in, started):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    await place(user, "stop", "1", **{"stop-price": "95.00"})  # a buy stop under the market: triggers at once
    await user.should_see("Order filled: buy 1 AAPL", retries=50)
    (stop,) = await eventually(lambda: rows(user, "symbol-orders"), "the stop in the table")
    assert (stop["type"], stop["price"], stop["status"]) == ("Stop", "$100.01 · stop $95.00", "Filled")

    await user.open("/orders")
    (row,) = await eventually(lambda: rows(user, "all-orders"), "the order")
    by_testid(user, "all-orders").trigger("rowClick", [{}, row, 0])
    await user.should_see("Stop buy · 1 AAPL", retries=50)
    assert texts(user, "detail-status") == ["Filled"]
    assert texts(user, "detail-shares") == ["1 of 1 filled"]
    assert texts(user, "detail-stop") == ["$95.00"]
    assert texts(user, "detail-fill-price") == ["$100.01"]
    assert texts(user, "detail-tif") == ["Good for day"]
    (fill_line,) = texts(user, "detail-fill")
    assert fill_line.endswith(" · 1 at $100.01 · cost $100.01")
    steps = detail_lines(user)
    assert [step.split(" ")[0] for step in steps] == ["Filled", "Placed", "Stop"]  # placed, triggered, filled
    assert all(any(ch.isdigit() for ch in step) for step in steps)  # each with its time
    await click(user, "detail-close")
    await eventually(
        lambda: not any(e.props.get("data-testid") == "order-detail" for e in user.client.elements.values()), "closed"
    )


async def test_cancel_asks_first_and_says_what_it_canceled(user, sign_in, started):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    await place(user, "limit", "1", **{"limit-price": "90.00"})
    await user.should_see("Order placed: buy 1 AAPL", retries=50)

    await user.open("/orders")
    (order,) = await eventually(lambda: rows(user, "all-orders"), "the open order")
    by_testid(user, "all-orders").trigger("cancel", order)
    await user.should_see("Cancel your limit buy of 1 AAPL (limit $90.00)?", retries=50)
    await user.should_see("It will no longer fill, and the cash it holds back is free again.")
    await click(user, "dialog-cancel")  # "Keep order"
    assert [r["status"] for r in rows(user, "all-orders")] == ["Pending"]

    by_testid(user, "all-orders").trigger("rowClick", [{}, order, 0])  # or from the order's detail
    await user.should_see("Limit buy · 1 AAPL", retries=50)
    assert texts(user, "detail-status") == ["Pending"]
    assert by_testid(user, "detail-expires").elements
    await click(user, "detail-cancel")
    await user.should_see("Cancel your limit buy of 1 AAPL (limit $90.00)?", retries=50)
    await click(user, "dialog-confirm")
    await user.should_see("Canceled your limit buy of 1 AAPL (limit $90.00)", retries=50)
    await eventually(lambda: [r["status"] for r in rows(user, "all-orders")] == ["Canceled"], "the order canceled")

    (order,) = rows(user, "all-orders")
    by_testid(user, "all-orders").trigger("rowClick", [{}, order, 0])
    await user.should_see("Status history", retries=50)
    assert [step.split(" ")[0] for step in detail_lines(user)] == ["Canceled", "Placed"]


async def test_recent_fills_show_when_they_filled_latest_first(user, sign_in, started):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    await place(user, "limit", "3", **{"limit-price": "99.50"})  # rests
    await user.should_see("Order placed: buy 3 AAPL", retries=50)
    await place(user, "market", "2")
    await user.should_see("Order filled: buy 2 AAPL", retries=50)
    await publish(started, "AAPL", "99.40")  # the limit placed first fills now
    await user.should_see("Limit buy of 3 AAPL filled at $99.41", retries=100)

    await user.open("/")
    (table,) = by_testid(user, "recent-fills").elements
    assert table.columns[0]["label"] == "Filled"
    fills = await eventually(lambda: len(rows(user, "recent-fills")) == 2 and rows(user, "recent-fills"), "two fills")
    assert [(r["quantity"], r["price"]) for r in fills] == [("3", "$99.41 · limit $99.50"), ("2", "$100.01")]
    assert fills[0]["time"] >= fills[1]["time"]


async def test_the_orders_page_shows_every_kind_whichever_door_placed_it(user, sign_in, started):
    """A trailing buy placed through the API is listed and opens like any order."""
    await publish(started, "AAPL", "100.00")
    email = await sign_in()
    with Session(started.engine) as db:
        user_id = db.exec(select(User.id).where(User.email == email)).one()
    wanted = OrderCreate.model_validate(
        {"symbol": "AAPL", "side": "buy", "orderType": "trailing_stop", "quantity": "2", "trailPrice": "5.00"}
    )
    placed = await orders.submit(started, user_id=user_id, key="trail-1", request=wanted)
    assert placed.status == 201, placed.body

    await user.open("/orders")
    (row,) = await eventually(lambda: rows(user, "all-orders"), "the trailing stop")
    assert (row["type"], row["quantity"], row["status"]) == ("Trailing stop", "2", "Pending")
    by_testid(user, "all-orders").trigger("rowClick", [{}, row, 0])
    await user.should_see("Trailing stop buy · 2 AAPL", retries=50)
    assert texts(user, "detail-shares") == ["0 of 2 filled"]
