"""PATCH /api/orders/{id}: a pending order swapped for a changed one atomically, its reservation moving with it, on
PostgreSQL + Redis and the embedded default."""

import uuid
from decimal import Decimal

import pytest

from models.account import Position
from services.infra.db import session_scope
from services.trading.reconcile import reconcile_account
from tests.support.api import default_account, error_code, publish, sign_up, wait_until
from tests.support.orders import assert_books_balance, place, portfolio


@pytest.fixture
def trader(api):
    headers, _ = sign_up(api)
    return headers, default_account(api, headers)


def order_of(api, headers, order_id) -> dict:
    return api.get(f"/api/orders/{order_id}", headers=headers).json()["order"]


def held_back(api, headers) -> Decimal:
    state = portfolio(api, headers)
    return Decimal(state["cash"]) - Decimal(state["buyingPower"])


def assert_consistent(started, account_id: str) -> None:
    assert_books_balance(started, account_id)
    with session_scope(started.engine) as db:
        assert reconcile_account(db, uuid.UUID(account_id)) == []


def test_replacing_a_resting_buy_moves_its_reservation_to_the_new_order(api, started, trader):
    headers, account_id = trader
    publish(started, "NVDA", "150.00", "150.05")
    old = place(api, headers, symbol="NVDA", orderType="limit", limitPrice="140.00", quantity="2").json()["order"]
    response = api.patch(f"/api/orders/{old['id']}", json={"limitPrice": "141.50", "quantity": "3"}, headers=headers)
    assert response.status_code == 200, response.text
    new = response.json()["order"]
    assert (new["status"], new["limitPrice"], new["quantity"], new["replaces"]) == ("pending", "141.50", "3", old["id"])
    assert new["id"] != old["id"] and new["timeInForce"] == "day" and new["replacedBy"] is None
    replaced = order_of(api, headers, old["id"])
    assert (replaced["status"], replaced["replacedBy"]) == ("replaced", new["id"])
    assert held_back(api, headers) == Decimal("424.50")  # only the new one's
    pending = api.get("/api/orders", params={"status": "pending"}, headers=headers).json()["orders"]
    assert [o["id"] for o in pending] == [new["id"]]
    publish(started, "NVDA", "141.00", "141.20")  # the new limit is reached, the old one's would not have been
    wait_until(lambda: order_of(api, headers, new["id"])["status"] == "filled", "the new order to fill")
    assert order_of(api, headers, old["id"])["status"] == "replaced"
    assert_consistent(started, account_id)


def test_a_replacement_the_market_reaches_fills_at_once(api, started, trader):
    headers, account_id = trader
    publish(started, "AMZN", "200.00", "200.10")
    old = place(api, headers, symbol="AMZN", orderType="limit", limitPrice="190.00").json()["order"]
    new = api.patch(f"/api/orders/{old['id']}", json={"limitPrice": "201.00"}, headers=headers).json()["order"]
    assert (new["status"], new["avgFillPrice"]) == ("filled", "200.10")
    assert held_back(api, headers) == 0
    assert_consistent(started, account_id)


def test_a_change_the_account_cannot_carry_is_refused_and_leaves_the_order_as_it_was(api, started, trader):
    headers, account_id = trader
    publish(started, "KO", "60.00", "60.02")
    buy = place(api, headers, symbol="KO", orderType="limit", limitPrice="50.00", quantity="10").json()["order"]
    too_big = api.patch(f"/api/orders/{buy['id']}", json={"quantity": "1000000"}, headers=headers)
    assert error_code(too_big, 400) == "INSUFFICIENT_FUNDS"
    assert order_of(api, headers, buy["id"])["status"] == "pending" and held_back(api, headers) == Decimal("500.00")
    place(api, headers, symbol="KO", quantity="2")
    sell = place(api, headers, symbol="KO", side="sell", orderType="limit", limitPrice="70.00", quantity="2")
    sell = sell.json()["order"]
    assert error_code(api.patch(f"/api/orders/{sell['id']}", json={"quantity": "3"}, headers=headers), 400) == (
        "INSUFFICIENT_SHARES"
    )
    smaller = api.patch(f"/api/orders/{sell['id']}", json={"quantity": "1.5"}, headers=headers).json()["order"]
    with session_scope(started.engine) as db:
        assert db.get(Position, (uuid.UUID(account_id), "KO")).reserved_quantity == Decimal("1.5")
    assert smaller["quantity"] == "1.5"
    assert_consistent(started, account_id)


def test_only_a_pending_order_without_active_legs_can_be_replaced(api, started, trader):
    headers, _ = trader
    publish(started, "JPM", "99.90", "100.10", "100.00")
    filled = place(api, headers, symbol="JPM", quantity="2").json()["order"]
    assert error_code(api.patch(f"/api/orders/{filled['id']}", json={"quantity": "1"}, headers=headers), 409) == (
        "ORDER_NOT_CANCELABLE"
    )
    oco = place(
        api,
        headers,
        symbol="JPM",
        side="sell",
        orderType="limit",
        limitPrice="110.00",
        quantity="2",
        orderClass="oco",
        stopLoss={"stopPrice": "95.00"},
    ).json()["order"]
    changed = api.patch(f"/api/orders/{oco['id']}", json={"limitPrice": "111.00"}, headers=headers)
    assert error_code(changed, 409) == "ORDER_NOT_CANCELABLE"
    entry = place(
        api,
        headers,
        symbol="JPM",
        orderType="limit",
        limitPrice="99.00",
        orderClass="bracket",
        takeProfit={"limitPrice": "110.00"},
        stopLoss={"stopPrice": "90.00"},
    ).json()["order"]
    assert error_code(api.patch(f"/api/orders/{entry['id']}", json={"limitPrice": "98.00"}, headers=headers), 409) == (
        "ORDER_NOT_CANCELABLE"
    )
    held_leg = entry["legs"][0]
    assert error_code(api.patch(f"/api/orders/{held_leg['id']}", json={"limitPrice": "1"}, headers=headers), 409) == (
        "ORDER_NOT_CANCELABLE"
    )
    missing = api.patch(f"/api/orders/{uuid.uuid4()}", json={"quantity": "1"}, headers=headers)
    assert error_code(missing, 404) == "ORDER_NOT_FOUND"


def test_replacing_an_active_leg_keeps_the_group_and_its_one_reservation(api, started, trader):
    headers, account_id = trader
    publish(started, "AMD", "99.90", "100.10", "100.00")
    entry = place(
        api,
        headers,
        symbol="AMD",
        quantity="3",
        orderClass="bracket",
        takeProfit={"limitPrice": "110.00"},
        stopLoss={"stopPrice": "90.00"},
    ).json()["order"]
    take_profit = next(leg for leg in entry["legs"] if leg["orderType"] == "limit")
    stop_loss = next(leg for leg in entry["legs"] if leg["orderType"] == "stop")
    wrong = api.patch(f"/api/orders/{take_profit['id']}", json={"quantity": "2"}, headers=headers)
    assert error_code(wrong, 400) == "VALIDATION_ERROR" and wrong.json()["error"]["details"][0]["field"] == "quantity"
    moved = api.patch(f"/api/orders/{take_profit['id']}", json={"limitPrice": "105.00"}, headers=headers)
    assert moved.status_code == 200, moved.text
    new = moved.json()["order"]
    assert (new["status"], new["parentId"], new["limitPrice"], new["orderClass"]) == (
        "pending",
        entry["id"],
        "105.00",
        "bracket",
    )
    with session_scope(started.engine) as db:
        assert db.get(Position, (uuid.UUID(account_id), "AMD")).reserved_quantity == Decimal(3)
    assert {leg["id"] for leg in order_of(api, headers, entry["id"])["legs"]} == {
        take_profit["id"],
        stop_loss["id"],
        new["id"],
    }
    assert_consistent(started, account_id)
    publish(started, "AMD", "105.00", "105.20", "105.10")  # the new take-profit fills; the stop-loss ends
    wait_until(lambda: order_of(api, headers, new["id"])["status"] == "filled", "the new take-profit to fill")
    assert order_of(api, headers, stop_loss["id"])["status"] == "canceled"
    assert_consistent(started, account_id)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, "body"),
        ({"limitPrice": "1.001"}, "limitPrice"),
        ({"limitPrice": "0"}, "limitPrice"),
        ({"quantity": "lots"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"stopPrice": "5"}, "stopPrice"),
        ({"trailPrice": "5"}, "trailPrice"),
        ({"timeInForce": "never"}, "timeInForce"),
        ({"symbol": "MSFT"}, "symbol"),
    ],
)
def test_bad_changes_name_the_field(api, started, trader, changes, field):
    headers, _ = trader
    publish(started, "KO", "60.00", "60.02")
    order = place(api, headers, symbol="KO", orderType="limit", limitPrice="50.00").json()["order"]
    response = api.patch(f"/api/orders/{order['id']}", json=changes, headers=headers)
    assert error_code(response, 400) == "VALIDATION_ERROR"
    assert field in {d["field"] for d in response.json()["error"]["details"]}
    assert order_of(api, headers, order["id"])["status"] == "pending"


def test_ioc_is_refused_on_a_stop_replacement(api, started, trader):
    headers, _ = trader
    publish(started, "KO", "60.00", "60.02", "60.01")
    order = place(api, headers, symbol="KO", orderType="stop", stopPrice="65.00").json()["order"]
    response = api.patch(f"/api/orders/{order['id']}", json={"timeInForce": "ioc"}, headers=headers)
    assert error_code(response, 400) == "VALIDATION_ERROR"
    assert response.json()["error"]["details"][0]["field"] == "timeInForce"


def test_a_replaced_trailing_stop_trails_anew_by_its_new_trail(api, started, trader):
    headers, account_id = trader
    publish(started, "CRM", "199.90", "200.10", "200.00")
    place(api, headers, symbol="CRM", quantity="1")
    old = place(api, headers, symbol="CRM", side="sell", orderType="trailing_stop", trailPrice="10").json()["order"]
    change = {"trailPrice": None, "trailPercent": "2"}
    new = api.patch(f"/api/orders/{old['id']}", json=change, headers=headers)
    assert new.status_code == 200, new.text
    new = new.json()["order"]
    assert (new["trailPercent"], new["trailPrice"], new["stopPrice"], new["highWaterMark"]) == (
        "2.00",
        None,
        "196.00",
        "200.00",
    )
    assert_consistent(started, account_id)


def test_a_replacement_takes_a_client_order_id_of_its_own_unique_in_the_account(api, started, trader):
    headers, _ = trader
    publish(started, "KO", "60.00", "60.02")
    kept = place(api, headers, symbol="KO", orderType="limit", limitPrice="50.00", clientOrderId="kept").json()["order"]
    old = place(api, headers, symbol="KO", orderType="limit", limitPrice="51.00").json()["order"]
    taken = api.patch(
        f"/api/orders/{old['id']}", json={"limitPrice": "52.00", "clientOrderId": "kept"}, headers=headers
    )
    assert error_code(taken, 409) == "DUPLICATE_CLIENT_ORDER_ID"
    assert order_of(api, headers, old["id"])["status"] == "pending"
    renamed = api.patch(
        f"/api/orders/{old['id']}", json={"limitPrice": "52.00", "clientOrderId": "moved"}, headers=headers
    )
    assert renamed.json()["order"]["clientOrderId"] == "moved"
    unnamed = api.patch(f"/api/orders/{kept['id']}", json={"limitPrice": "49.00"}, headers=headers).json()["order"]
    assert unnamed["clientOrderId"] is None  # never the old order's


def test_a_replacement_counts_against_the_placement_limit_and_says_so(api, started, trader):
    headers, _ = trader
    limit = started.settings.order_rate_limit
    publish(started, "T", "20.00", "20.01")
    old = place(api, headers, symbol="T", orderType="limit", limitPrice="19.00", quantity="1").json()["order"]
    placed = int(place(api, headers, symbol="T", orderType="limit", limitPrice="1.00").headers["X-RateLimit-Remaining"])
    changed = api.patch(f"/api/orders/{old['id']}", json={"limitPrice": "19.50"}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.headers["X-RateLimit-Limit"] == str(limit)  # the placement limit's, not the general API quota's
    assert int(changed.headers["X-RateLimit-Remaining"]) == placed - 1
    refused = api.patch(f"/api/orders/{old['id']}", json={"limitPrice": "19.60"}, headers=headers)  # replaced already
    assert error_code(refused, 409) == "ORDER_NOT_CANCELABLE"
    assert refused.headers["X-RateLimit-Limit"] == str(limit)
    assert int(refused.headers["X-RateLimit-Remaining"]) == placed - 2
