"""The orders page with the newer kinds: a bracket's legs under their entry, a pending order edited (replaced), and a
trailing stop whose stop and high follow the market as its updates arrive."""

from tests.ui.conftest import by_testid, click, eventually, fill, publish, rows, shown
from tests.ui.test_order_detail import place, texts


def summary(user, testid: str = "all-orders") -> list[tuple[str, str, str, str]]:
    return [(r["leg"], r["type"], r["price"], r["status"]) for r in rows(user, testid)]


async def edit(user, row: dict, **typed: str) -> None:
    by_testid(user, "all-orders").trigger("edit", row)
    await eventually(lambda: shown(user, "edit-dialog"), "the edit dialog")
    for testid, value in typed.items():
        fill(user, f"edit-{testid}", value)
    await click(user, "dialog-confirm")


def error_of(user, testid: str) -> str | None:
    (element,) = by_testid(user, testid).elements
    return element.error


async def test_a_pending_order_is_edited_and_the_old_one_shows_replaced(user, sign_in, started):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    await place(user, "limit", "1", **{"limit-price": "90.00"})
    await user.should_see("Order placed: buy 1 AAPL", retries=50)

    await user.open("/orders")
    (order,) = await eventually(lambda: rows(user, "all-orders"), "the open order")
    assert order["editable"]
    await edit(user, order)  # nothing changed
    await user.should_see("Edit your limit buy of 1 AAPL (limit $90.00)", retries=50)
    assert texts(user, "edit-error") == ["Change the shares or a price first: this is the order as it stands."]
    fill(user, "edit-limit", "90.005")
    await click(user, "dialog-confirm")
    assert error_of(user, "edit-limit") == "A price has at most 2 decimal places (4 below $1)."
    fill(user, "edit-quantity", "5000")  # $450,000: more than the account can carry, as the server says
    fill(user, "edit-limit", "90.00")
    await click(user, "dialog-confirm")
    await eventually(lambda: texts(user, "edit-error") != [""], "the server's refusal")
    assert "buying power" in texts(user, "edit-error")[0].lower()
    assert [r["status"] for r in rows(user, "all-orders")] == ["Pending"]  # refused: nothing replaced

    fill(user, "edit-quantity", "2")
    fill(user, "edit-limit", "91.00")
    await click(user, "dialog-confirm")
    await user.should_see(
        "Replaced your limit buy of 1 AAPL (limit $90.00) with a limit buy of 2 AAPL (limit $91.00)", retries=50
    )
    await eventually(lambda: len(rows(user, "all-orders")) == 2, "both orders")
    assert summary(user) == [("", "Limit", "limit $91.00", "Pending"), ("", "Limit", "limit $90.00", "Replaced")]
    assert [r["editable"] for r in rows(user, "all-orders")] == [True, False]


async def test_a_brackets_legs_sit_under_their_entry_and_a_resting_leg_can_be_edited(user, sign_in, started):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    fill(user, "with-exits", True)
    fill(user, "take-profit", "110.00")
    fill(user, "stop-loss", "95.00")
    await place(user, "limit", "2", **{"limit-price": "99.00"})
    await user.should_see("Order placed: buy 2 AAPL", retries=50)

    await user.open("/orders")
    await eventually(lambda: len(rows(user, "all-orders")) == 3, "the entry and its legs")
    assert summary(user) == [
        ("", "Limit", "limit $99.00", "Pending"),
        ("Take-profit", "Limit", "limit $110.00", "Held"),
        ("Stop-loss", "Stop", "stop $95.00", "Held"),
    ]
    assert [r["editable"] for r in rows(user, "all-orders")] == [False, False, False]  # the legs wait on the entry

    await publish(started, "AAPL", "98.90")  # the ask, $98.91, reaches the entry's limit
    await user.should_see("Limit buy of 2 AAPL filled at $98.91", retries=100)
    resting = ["Filled", "Pending", "Pending"]
    await eventually(lambda: [r["status"] for r in rows(user, "all-orders")] == resting, "the legs resting")
    stop_loss = rows(user, "all-orders")[2]
    await edit(user, stop_loss, stop="96.00")
    await user.should_see("Replaced your stop sell of 2 AAPL (stop $95.00) with a stop sell of 2 AAPL (stop $96.00)")
    await eventually(lambda: len(rows(user, "all-orders")) == 4, "the new leg")
    assert summary(user) == [  # under the entry: the take-profit, then the stop-losses, newest first
        ("", "Limit", "$98.91 · limit $99.00", "Filled"),
        ("Take-profit", "Limit", "limit $110.00", "Pending"),
        ("Stop-loss", "Stop", "stop $96.00", "Pending"),
        ("Stop-loss", "Stop", "stop $95.00", "Replaced"),
    ]

    await publish(started, "AAPL", "110.01")  # the bid, $110.00, reaches the take-profit: the stop-loss goes
    await user.should_see("Limit sell of 2 AAPL filled at $110.00", retries=100)
    await eventually(
        lambda: sorted(r["status"] for r in rows(user, "all-orders")) == ["Canceled", "Filled", "Filled", "Replaced"],
        "the stop-loss canceled",
    )


async def test_a_trailing_stop_shows_its_stop_and_high_as_they_follow_the_market(user, sign_in, started):
    await publish(started, "AAPL", "100.00")
    await sign_in()
    await user.open("/stock/AAPL")
    await place(user, "market", "2")
    await user.should_see("Order filled: buy 2 AAPL", retries=50)
    fill(user, "side", "sell")
    await place(user, "trailing_stop", "2", trail="5")
    await user.should_see("Order placed: sell 2 AAPL", retries=50)

    await user.open("/orders")
    await eventually(lambda: len(rows(user, "all-orders")) == 2, "both orders")
    (trailing,) = [r for r in rows(user, "all-orders") if r["type"] == "Trailing stop"]
    assert trailing["price"] == "stop $95.00, trails $5.00, high $100.00"
    await publish(started, "AAPL", "104.00")  # a new high: the stop follows it up
    await eventually(
        lambda: rows(user, "all-orders")[0]["price"] == "stop $99.00, trails $5.00, high $104.00",
        "the stop moved up",
        timeout=15,
    )
    await publish(started, "AAPL", "102.00")  # lower: the stop stays where it is
    by_testid(user, "all-orders").trigger("rowClick", [{}, rows(user, "all-orders")[0], 0])
    await user.should_see("Trailing stop sell · 2 AAPL", retries=50)
    assert texts(user, "detail-stop") == ["$99.00"]
    assert texts(user, "detail-trail") == ["$5.00"]
    assert texts(user, "detail-high-water-mark") == ["$104.00"]
    await click(user, "detail-close")

    await edit(user, rows(user, "all-orders")[0], trail="2")  # a tighter trail, from the high it has reached
    await user.should_see("Replaced your trailing stop sell of 2 AAPL", retries=50)
    await eventually(lambda: len(rows(user, "all-orders")) == 3, "the new trailing stop")
    assert rows(user, "all-orders")[0]["status"] == "Pending"
    assert rows(user, "all-orders")[0]["price"].endswith("trails $2.00, high $102.00")
