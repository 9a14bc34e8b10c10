"""The contract's "more order kinds" over the API, on PostgreSQL + Redis and the embedded default."""

from decimal import Decimal

import pytest

from tests.support.api import default_account, error_code, publish, sign_up
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
