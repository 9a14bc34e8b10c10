"""The contract's "more order kinds" over the API, on PostgreSQL + Redis and the embedded default."""

import time
from decimal import Decimal

import pytest

from tests.support.api import default_account, error_code, publish, sign_up, wait_until
from tests.support.orders import assert_books_balance, place, portfolio

NEW_FIELDS = {
    "accountId",
    "clientOrderId",
    "notional",
    "trailPrice",
    "trailPercent",
    "highWaterMark",
    "orderClass",
    "parentId",
    "legs",
    "replaces",
    "replacedBy",
}


@pytest.fixture
def trader(api):
    headers, _ = sign_up(api)
    return headers, default_account(api, headers)


def test_an_order_always_carries_the_new_fields(api, started, trader):
    headers, account_id = trader
    publish(started, "AAPL", "187.20", "187.25")
    order = place(api, headers, symbol="AAPL").json()["order"]
    assert set(order) >= NEW_FIELDS
    assert order["accountId"] == account_id and order["orderClass"] == "simple"
    assert all(order[name] is None for name in NEW_FIELDS - {"accountId", "orderClass"})
    listed = api.get("/api/orders", headers=headers).json()["orders"][0]
    assert set(listed) >= NEW_FIELDS


@pytest.mark.parametrize("time_in_force", ["ioc", "fok"])
def test_ioc_and_fok_market_and_marketable_limit_orders_fill_at_once(api, started, trader, time_in_force):
    headers, account_id = trader
    publish(started, "AMZN", "200.00", "200.10")
    market = place(api, headers, symbol="AMZN", timeInForce=time_in_force).json()["order"]
    assert (market["status"], market["avgFillPrice"], market["timeInForce"]) == ("filled", "200.10", time_in_force)
    limit = place(api, headers, symbol="AMZN", orderType="limit", limitPrice="201.00", timeInForce=time_in_force)
    assert (limit.status_code, limit.json()["order"]["status"]) == (201, "filled")
    assert market["expiresAt"] is None
    assert_books_balance(started, account_id)


@pytest.mark.parametrize("time_in_force", ["ioc", "fok"])
def test_ioc_and_fok_limits_that_cannot_execute_at_once_are_canceled_holding_nothing(
    api, started, trader, time_in_force
):
    headers, account_id = trader
    publish(started, "AMZN", "200.00", "200.10")
    place(api, headers, symbol="AMZN", quantity="2")
    buy = place(api, headers, symbol="AMZN", orderType="limit", limitPrice="199.00", timeInForce=time_in_force)
    sell = place(
        api, headers, symbol="AMZN", side="sell", orderType="limit", limitPrice="201.00", timeInForce=time_in_force
    )
    for response in (buy, sell):
        assert response.status_code == 201
        assert (response.json()["order"]["status"], response.json()["order"]["filledQuantity"]) == ("canceled", "0")
    state = portfolio(api, headers)
    assert state["cash"] == state["buyingPower"]
    # The shares the canceled sell would have held are free to sell.
    assert place(api, headers, symbol="AMZN", side="sell", quantity="2").json()["order"]["status"] == "filled"
    assert api.get(f"/api/orders/{buy.json()['order']['id']}", headers=headers).json()["order"]["status"] == "canceled"
    assert_books_balance(started, account_id)


def test_a_notional_buy_spends_at_most_its_amount(api, started, trader):
    headers, account_id = trader
    publish(started, "AAPL", "187.20", "187.25")
    response = place(api, headers, symbol="AAPL", quantity=None, notional="100")
    assert response.status_code == 201
    order = response.json()["order"]
    # 100 / 187.25 = 0.5340453... shares, rounded down; they cost 99.9999...: $100.00 rounded up to the cent.
    assert (order["status"], order["notional"], order["quantity"], order["filledQuantity"]) == (
        "filled",
        "100.00",
        "0.534045",
        "0.534045",
    )
    assert Decimal(portfolio(api, headers)["cash"]) == started.settings.starting_cash - Decimal("100.00")
    assert_books_balance(started, account_id)


def test_a_notional_sell_raises_at_most_its_amount(api, started, trader):
    headers, account_id = trader
    publish(started, "KO", "60.00", "60.02")
    place(api, headers, symbol="KO", quantity="3")  # costs 180.06
    sold = place(api, headers, symbol="KO", side="sell", quantity=None, notional="100.00").json()["order"]
    assert (sold["status"], sold["quantity"], sold["avgFillPrice"]) == ("filled", "1.666666", "60.00")
    state = portfolio(api, headers)  # 1.666666 x 60.00 = 99.99996, rounded down
    assert Decimal(state["cash"]) == started.settings.starting_cash - Decimal("180.06") + Decimal("99.99")
    assert state["positions"][0]["quantity"] == "1.333334"
    assert_books_balance(started, account_id)


def test_a_notional_sell_beyond_the_shares_held_is_refused(api, started, trader):
    headers, _ = trader
    publish(started, "KO", "60.00", "60.02")
    place(api, headers, symbol="KO", quantity="1")
    too_much = place(api, headers, symbol="KO", side="sell", quantity=None, notional="60.01")
    assert error_code(too_much, 400) == "INSUFFICIENT_SHARES"
    unowned = place(api, headers, symbol="PEP", side="sell", quantity=None, notional="10")
    assert error_code(unowned, 400) in ("INSUFFICIENT_SHARES", "NO_QUOTE")


def test_a_notional_buy_beyond_the_buying_power_is_refused(api, started, trader):
    headers, _ = trader
    publish(started, "AAPL", "187.20", "187.25")
    amount = str(started.settings.starting_cash + 1)
    assert error_code(place(api, headers, symbol="AAPL", quantity=None, notional=amount), 400) == "INSUFFICIENT_FUNDS"


def test_a_notional_order_without_a_quote(api, trader):
    headers, _ = trader
    assert error_code(place(api, headers, symbol="DUK", quantity=None, notional="10"), 400) == "NO_QUOTE"


# Trailing stops


def order_of(api, headers, order_id) -> dict:
    return api.get(f"/api/orders/{order_id}", headers=headers).json()["order"]


def test_a_trailing_sell_follows_the_high_and_sells_at_the_market_when_reached(api, started, trader):
    headers, account_id = trader
    publish(started, "NVDA", "99.90", "100.10", "100.00")
    place(api, headers, symbol="NVDA", quantity="2")
    response = place(api, headers, symbol="NVDA", side="sell", orderType="trailing_stop", trailPrice="5", quantity="2")
    assert response.status_code == 201, response.text
    order = response.json()["order"]
    assert (order["status"], order["stopPrice"], order["highWaterMark"], order["trailPrice"]) == (
        "pending",
        "95.00",
        "100.00",
        "5.00",
    )
    publish(started, "NVDA", "109.90", "110.10", "110.00")  # a new high: the stop follows, and is saved
    moved = wait_until(lambda: (o := order_of(api, headers, order["id"]))["stopPrice"] == "105.00" and o, "the move")
    assert moved["highWaterMark"] == "110.00"
    publish(started, "NVDA", "106.90", "107.10", "107.00")  # lower: the stop stays
    publish(started, "NVDA", "105.40", "105.60", "105.50")
    time.sleep(1.2)  # past the save interval: nothing moved, nothing to save
    assert (order_of(api, headers, order["id"])["stopPrice"], order_of(api, headers, order["id"])["status"]) == (
        "105.00",
        "pending",
    )
    publish(started, "NVDA", "104.80", "105.00", "104.90")  # reached: sells at the bid
    wait_until(lambda: order_of(api, headers, order["id"])["status"] == "filled", "the trailing stop to fire")
    filled = order_of(api, headers, order["id"])
    assert (filled["avgFillPrice"], filled["filledQuantity"]) == ("104.80", "2")
    assert_books_balance(started, account_id)


def test_a_trailing_buy_follows_the_low_by_a_percentage_rounded_up_to_the_tick(api, started, trader):
    headers, account_id = trader
    publish(started, "AMD", "49.99", "50.01", "50.00")
    order = place(api, headers, symbol="AMD", orderType="trailing_stop", trailPercent="2.5", quantity="10")
    order = order.json()["order"]
    assert (order["stopPrice"], order["highWaterMark"], order["trailPercent"]) == ("51.25", "50.00", "2.50")
    state = portfolio(api, headers)  # held back like a stop buy: stop x quantity + 5 %
    assert Decimal(state["cash"]) - Decimal(state["buyingPower"]) == Decimal("538.13")
    publish(started, "AMD", "40.32", "40.34", "40.33")  # 40.33 x 1.025 = 41.33825, rounded up
    wait_until(lambda: order_of(api, headers, order["id"])["stopPrice"] == "41.34", "the stop to come down")
    publish(started, "AMD", "41.33", "41.35", "41.34")
    wait_until(lambda: order_of(api, headers, order["id"])["status"] == "filled", "the trailing buy to fire")
    assert order_of(api, headers, order["id"])["avgFillPrice"] == "41.35"
    state = portfolio(api, headers)
    assert state["cash"] == state["buyingPower"]
    assert_books_balance(started, account_id)


def test_trailing_moves_are_saved_at_most_once_a_second(api, started, trader):
    headers, _ = trader
    publish(started, "CRM", "199.90", "200.10", "200.00")
    place(api, headers, symbol="CRM", quantity="1")
    order = place(api, headers, symbol="CRM", side="sell", orderType="trailing_stop", trailPrice="10")
    order_id = order.json()["order"]["id"]
    saves, price = set(), Decimal("200.00")
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:  # a new high every few tens of milliseconds
        price += 1
        publish(started, "CRM", str(price - Decimal("0.1")), str(price + Decimal("0.1")), str(price))
        saves.add(order_of(api, headers, order_id)["updatedAt"])
        time.sleep(0.03)
    assert 2 <= len(saves) <= 5  # the placement, then a save at most every second
    wait_until(lambda: order_of(api, headers, order_id)["highWaterMark"] == f"{price}", "the last move to be saved")
    assert order_of(api, headers, order_id)["stopPrice"] == f"{price - 10}"


def test_a_trailing_stop_fires_from_its_best_price_before_that_is_saved(api, started, trader):
    headers, account_id = trader
    publish(started, "ADBE", "199.90", "200.10", "200.00")
    place(api, headers, symbol="ADBE", quantity="1")
    order = place(api, headers, symbol="ADBE", side="sell", orderType="trailing_stop", trailPrice="10")
    order_id = order.json()["order"]["id"]
    publish(started, "ADBE", "200.90", "201.10", "201.00")  # saved at once: the stop at 191.00
    wait_until(lambda: order_of(api, headers, order_id)["stopPrice"] == "191.00", "the first move to be saved")
    publish(started, "ADBE", "209.90", "210.10", "210.00")  # the stop at 200.00, saved only a second later
    publish(started, "ADBE", "198.90", "199.10", "199.00")  # under 200.00, above the saved 191.00
    wait_until(lambda: order_of(api, headers, order_id)["status"] == "filled", "the trailing stop to fire")
    filled = order_of(api, headers, order_id)
    assert (filled["avgFillPrice"], filled["stopPrice"], filled["highWaterMark"]) == ("198.90", "200.00", "210.00")
    assert_books_balance(started, account_id)


def test_a_trailing_stop_is_announced_on_the_socket_when_it_moves(api, started, trader):
    headers, _ = trader
    token = headers["Authorization"].removeprefix("Bearer ")
    publish(started, "ORCL", "149.90", "150.10", "150.00")
    place(api, headers, symbol="ORCL", quantity="1")
    with api.websocket_connect(f"/ws?token={token}") as ws:
        assert ws.receive_json()["authenticated"] is True
        order = place(api, headers, symbol="ORCL", side="sell", orderType="trailing_stop", trailPercent="1")
        order_id = order.json()["order"]["id"]
        publish(started, "ORCL", "159.90", "160.10", "160.00")
        while True:
            message = ws.receive_json()
            if message["type"] == "order_update" and message["data"]["highWaterMark"] == "160.00":
                break
    assert message["data"]["id"] == order_id and message["data"]["stopPrice"] == "158.40"


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({}, {"trailPrice", "trailPercent"}),
        ({"trailPrice": "1", "trailPercent": "1"}, {"trailPrice", "trailPercent"}),
        ({"trailPercent": "0.09"}, {"trailPercent"}),
        ({"trailPercent": "50.01"}, {"trailPercent"}),
        ({"trailPercent": "1.234"}, {"trailPercent"}),
        ({"trailPrice": "1.001"}, {"trailPrice"}),
        ({"trailPrice": "0"}, {"trailPrice"}),
        ({"trailPrice": "1", "stopPrice": "90"}, {"stopPrice"}),
        ({"trailPrice": "1", "limitPrice": "90"}, {"limitPrice"}),
        ({"trailPrice": "1", "timeInForce": "ioc"}, {"timeInForce"}),
        ({"trailPrice": "1", "orderType": "limit", "limitPrice": "90"}, {"trailPrice"}),
        ({"trailPercent": "1", "orderType": "market"}, {"trailPercent"}),
    ],
)
def test_bad_trailing_stops_name_the_fields(api, trader, changes, fields):
    headers, _ = trader
    response = place(api, headers, symbol="AAPL", side="sell", **{"orderType": "trailing_stop", **changes})
    assert error_code(response, 400) == "VALIDATION_ERROR"
    assert fields <= {d["field"] for d in response.json()["error"]["details"]}


def test_a_sell_trail_wider_than_the_price_is_refused(api, started, trader):
    headers, _ = trader
    publish(started, "F", "9.99", "10.01", "10.00")
    place(api, headers, symbol="F", quantity="1")
    response = place(api, headers, symbol="F", side="sell", orderType="trailing_stop", trailPrice="10")
    assert error_code(response, 400) == "VALIDATION_ERROR"
    assert response.json()["error"]["details"][0]["field"] == "trailPrice"
