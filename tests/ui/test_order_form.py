"""The order panel of a stock page: what it says before an order goes out, the review step, and submitting."""

from nicegui import ui

from tests.ui.conftest import by_testid, click, database_out_of_reach, eventually, fill, publish, rows, shown


async def open_stock(user, sign_in, started, symbol: str = "AAPL", last: str = "100.00") -> None:
    await publish(started, symbol, last)
    await sign_in()
    await user.open(f"/stock/{symbol}")
    await user.should_see("Review order")
    assert by_testid(user, "remaining").elements.pop().text == "Buying power $100,000.00"


def error_of(user, testid: str) -> str | None:
    (element,) = by_testid(user, testid).elements
    return element.error


async def test_each_mistake_is_said_next_to_its_field(user, sign_in, started):
    await open_stock(user, sign_in, started)

    await click(user, "review")
    assert error_of(user, "amount") == "Enter how many shares to trade."
    fill(user, "amount", "1e3")  # no exponents: a typo would otherwise be a thousand shares
    await click(user, "review")
    assert error_of(user, "amount") == "Enter a number, like 10 or 2.5."

    fill(user, "order-type", "limit")
    fill(user, "amount", "1")
    await click(user, "review")
    assert error_of(user, "amount") is None
    assert error_of(user, "limit-price") == "Enter a limit price."  # not "limitPrice is required for limit orders"
    fill(user, "limit-price", "-5")
    await click(user, "review")
    assert error_of(user, "limit-price") == "The limit price must be more than $0."
    fill(user, "limit-price", "10.005")
    await click(user, "review")
    assert error_of(user, "limit-price") == "A price has at most 2 decimal places (4 below $1)."

    fill(user, "order-type", "stop_limit")
    fill(user, "limit-price", "")
    await click(user, "review")
    assert error_of(user, "stop-price") == "Enter a stop price."  # both said at once
    assert error_of(user, "limit-price") == "Enter a limit price."

    fill(user, "order-type", "limit")
    fill(user, "amount", "0.5")
    fill(user, "limit-price", "1.50")  # worth $0.75
    await click(user, "review")
    assert error_of(user, "amount") == "An order must be worth at least $1.00."  # as the server refuses it

    fill(user, "order-type", "market")
    fill(user, "amount", "5000")  # 5000 × $100.01 is more than $100,000 of buying power
    await click(user, "review")
    assert error_of(user, "amount").startswith("Not enough buying power")

    fill(user, "side", "sell")
    fill(user, "amount", "1")
    await click(user, "review")
    assert error_of(user, "amount") == "You have 0 shares available to sell."
    assert not [e for e in user.client.elements.values() if isinstance(e, ui.dialog)]  # no review opened


def field_order(user) -> list[str]:
    (form,) = by_testid(user, "order-form").elements
    return [e.props.get("data-testid") for e in form.descendants() if e.props.get("data-testid") in PRICE_FIELDS]


PRICE_FIELDS = ("stop-price", "limit-price")


async def test_a_stop_review_says_it_becomes_a_market_order_and_warns_if_it_triggers_at_once(user, sign_in, started):
    await open_stock(user, sign_in, started)
    fill(user, "order-type", "stop")
    fill(user, "amount", "1")
    fill(user, "stop-price", "110.00")
    (estimate,) = by_testid(user, "estimate").elements
    assert estimate.text == "Estimated cost $100.01 for 1 share"  # at the market's ask, not at the stop; one share
    await click(user, "review")
    await user.should_see("When AAPL trades at $110.00 or higher, this becomes a market order", retries=50)
    await user.should_see("The estimate uses today's market price.")
    await user.should_see("Estimated cost $100.01")
    assert not shown(user, "review-warning")  # above the market: it waits
    await click(user, "edit-order")

    fill(user, "stop-price", "95.00")  # a buy stop under the market triggers at once
    await click(user, "review")
    await user.should_see(
        "AAPL is at $100.00, above your stop of $95.00: this order would trigger at once.", retries=50
    )
    await click(user, "edit-order")

    fill(user, "side", "sell")  # a sell stop above the market likewise (the user holds no shares: checked later)
    fill(user, "order-type", "stop_limit")
    assert field_order(user) == ["stop-price", "limit-price"]  # the stop triggers, then the limit bounds the price


async def test_stop_and_limit_fields_appear_only_when_needed(user, sign_in, started):
    await open_stock(user, sign_in, started)
    assert not shown(user, "limit-price") and not shown(user, "stop-price") and not shown(user, "tif")
    fill(user, "order-type", "stop_limit")
    assert shown(user, "limit-price") and shown(user, "stop-price") and shown(user, "tif")
    fill(user, "order-type", "stop")
    assert shown(user, "stop-price") and not shown(user, "limit-price")


async def test_dollars_buy_that_amount_at_the_market_and_the_fill_works_out_the_shares(user, sign_in, started):
    await open_stock(user, sign_in, started, last="200.00")
    fill(user, "unit", "dollars")
    fill(user, "amount", "100")
    (estimate,) = by_testid(user, "estimate").elements
    assert estimate.text == "Estimated cost $100.00 for about 0.499975 shares"  # $100 at the ask of $200.01
    (left,) = by_testid(user, "remaining").elements
    assert left.text == "Buying power left $99,900.00"
    await click(user, "review")
    await user.should_see("Buy $100.00 of AAPL", retries=50)
    await user.should_see("so it never costs more than $100.00")
    await click(user, "submit-order")
    await user.should_see("Order filled: buy 0.499975 AAPL", retries=50)
    placed = await eventually(lambda: rows(user, "symbol-orders"), "the order in the table")
    assert [(r["quantity"], r["price"], r["status"]) for r in placed] == [("0.499975", "$200.01", "Filled")]


async def test_a_trailing_stop_sells_by_an_amount_or_a_percent(user, sign_in, started):
    await open_stock(user, sign_in, started)
    fill(user, "amount", "3")
    await click(user, "review")
    await click(user, "submit-order")
    await user.should_see("Order filled: buy 3 AAPL", retries=50)

    fill(user, "order-type", "trailing_stop")
    assert shown(user, "trail") and shown(user, "tif") and not shown(user, "stop-price")
    fill(user, "amount", "2")
    fill(user, "trail", "5")
    await click(user, "review")  # on Buy: a trailing buy, whose stop follows the price down
    await user.should_see("The stop starts at $105.00, $5.00 over AAPL's last price of $100.00.", retries=50)
    await click(user, "edit-order")
    fill(user, "side", "sell")
    fill(user, "trail", "100")
    await click(user, "review")
    assert error_of(user, "trail") == "Trail by less than AAPL's price of $100.00: the stop would be at $0 or below."
    fill(user, "trail-unit", "percent")
    fill(user, "trail", "2.5")
    await click(user, "review")
    await user.should_see("Trailing stop order, good for day", retries=50)
    await user.should_see("Trail 2.5%")
    await user.should_see("The stop starts at $97.50, 2.5% under AAPL's last price of $100.00.")
    await user.should_see("When AAPL trades at the stop or lower, this becomes a market order to sell")
    await click(user, "submit-order")
    await user.should_see("Order placed: sell 2 AAPL", retries=50)
    trailing = await eventually(lambda: len(rows(user, "symbol-orders")) == 2 and rows(user, "symbol-orders")[0], "it")
    assert (trailing["type"], trailing["price"], trailing["status"]) == (
        "Trailing stop",
        "stop $97.50, trails 2.5%, high $100.00",
        "Pending",
    )


async def test_a_buy_with_a_take_profit_and_a_stop_loss_places_a_bracket(user, sign_in, started):
    await open_stock(user, sign_in, started)
    assert not shown(user, "take-profit") and not shown(user, "stop-loss")
    fill(user, "with-exits", True)
    fill(user, "amount", "2")
    fill(user, "take-profit", "99.00")
    fill(user, "stop-loss", "95.00")
    await click(user, "review")
    assert error_of(user, "take-profit") == "The take-profit must be above your buy price of $100.01."
    fill(user, "side", "sell")  # on Sell, they protect shares held: there are none
    fill(user, "take-profit", "110.00")
    await click(user, "review")
    assert not shown(user, "order-type")
    assert error_of(user, "amount") == "You have 0 shares available to sell."
    fill(user, "side", "buy")
    await click(user, "review")
    await user.should_see("Market order with take-profit and stop-loss, good for day", retries=50)
    await user.should_see("Take-profit $110.00")
    await user.should_see("Stop-loss $95.00")
    await user.should_see("When one of them fills, the other is canceled.")
    await click(user, "submit-order")
    await user.should_see("Order filled: buy 2 AAPL", retries=50)
    placed = await eventually(lambda: len(rows(user, "symbol-orders")) == 3 and rows(user, "symbol-orders"), "legs")
    assert [(r["leg"], r["type"], r["status"]) for r in placed] == [
        ("", "Market", "Filled"),
        ("Take-profit", "Limit", "Pending"),
        ("Stop-loss", "Stop", "Pending"),
    ]


async def test_shares_held_are_protected_by_a_take_profit_and_a_stop_loss(user, sign_in, started):
    await open_stock(user, sign_in, started)
    fill(user, "amount", "3")
    await click(user, "review")
    await click(user, "submit-order")
    await user.should_see("Order filled: buy 3 AAPL", retries=50)
    fill(user, "side", "sell")
    fill(user, "with-exits", True)
    assert not shown(user, "order-type") and shown(user, "take-profit") and shown(user, "tif")
    fill(user, "amount", "3")
    fill(user, "take-profit", "110.00")
    fill(user, "stop-loss", "95.00")
    await click(user, "review")
    await user.should_see("Take-profit and stop-loss on shares held (OCO), good for day", retries=50)
    await user.should_see("Two orders sell these shares: a take-profit at $110.00 or more")
    await user.should_see("Estimated proceeds $330.00")
    await click(user, "submit-order")
    await user.should_see("Order placed: sell 3 AAPL", retries=50)
    placed = await eventually(lambda: len(rows(user, "symbol-orders")) == 3 and rows(user, "symbol-orders"), "the OCO")
    assert sorted((r["type"], r["status"]) for r in placed) == [
        ("Limit", "Pending"),
        ("Market", "Filled"),
        ("Stop", "Pending"),
    ]


async def test_review_then_submit_buys_once(user, sign_in, started):
    await open_stock(user, sign_in, started)
    fill(user, "amount", "2")
    await click(user, "review")
    await user.should_see("Buy 2 AAPL")
    await user.should_see("Market order, good for day")
    await user.should_see("Estimated cost $200.02")
    await user.should_see("Buying power left $99,799.98")

    await click(user, "edit-order")  # back to the form, nothing placed
    assert rows(user, "symbol-orders") == []

    await click(user, "review")
    await click(user, "submit-order")
    await user.should_see("Order filled: buy 2 AAPL", retries=50)
    placed = await eventually(lambda: rows(user, "symbol-orders"), "the order in the table")
    assert [(r["side"], r["quantity"], r["status"]) for r in placed] == [("Buy", "2", "Filled")]
    await user.should_see("2 shares · $200.00")  # the position, valued at the last price
    assert error_of(user, "amount") is None


async def test_a_database_that_cannot_answer_is_said_and_the_order_can_be_sent_again(user, sign_in, started, tmp_path):
    await open_stock(user, sign_in, started)
    fill(user, "amount", "2")
    await click(user, "review")
    with database_out_of_reach(started, tmp_path):
        await click(user, "submit-order")
        await user.should_see("The service is temporarily unavailable; please retry.", retries=50)
        assert rows(user, "symbol-orders") == []
    await click(user, "review")  # the same order, with the same key, once the database is back
    await click(user, "submit-order")
    await user.should_see("Order filled: buy 2 AAPL", retries=50)
    placed = await eventually(lambda: rows(user, "symbol-orders"), "the order in the table")
    assert [(r["side"], r["quantity"], r["status"]) for r in placed] == [("Buy", "2", "Filled")]


async def test_a_resting_limit_that_fills_later_is_told_wherever_the_user_is(user, sign_in, started):
    await open_stock(user, sign_in, started)
    fill(user, "order-type", "limit")
    fill(user, "amount", "10")
    fill(user, "limit-price", "99.50")
    await click(user, "review")
    await click(user, "submit-order")
    await user.should_see("Order placed: buy 10 AAPL", retries=50)
    await user.open("/alerts")  # another page: the news finds the user there
    await publish(started, "AAPL", "99.40")  # the ask comes down to $99.41, under the limit
    await user.should_see("Limit buy of 10 AAPL filled at $99.41", retries=100)
