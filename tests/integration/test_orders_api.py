"""Every row of the contract's order table and the execution rules, on PostgreSQL + Redis and the embedded default."""

import time
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from models.order import Order
from models.types import utcnow
from services.infra.db import session_scope
from tests.support.api import default_account, error_code, publish, sign_up, wait_until
from tests.support.orders import assert_books_balance, place, portfolio


@pytest.fixture
def trader(api):
    """(headers, the default account's id) of a new user."""
    headers, _ = sign_up(api)
    return headers, default_account(api, headers)


def order_status(api, headers, order_id) -> str:
    return api.get(f"/api/orders/{order_id}", headers=headers).json()["order"]["status"]


def test_market_buy_fills_at_the_ask_and_moves_exact_money(api, started, trader):
    headers, account_id = trader
    publish(started, "AAPL", "187.20", "187.25", "187.22")
    response = place(api, headers, symbol="aapl", quantity="0.333333")
    assert response.status_code == 201
    order = response.json()["order"]
    assert (order["symbol"], order["status"], order["avgFillPrice"], order["filledQuantity"]) == (
        "AAPL",
        "filled",
        "187.25",
        "0.333333",
    )
    assert set(order) >= {
        "id",
        "side",
        "orderType",
        "quantity",
        "limitPrice",
        "stopPrice",
        "timeInForce",
        "createdAt",
        "updatedAt",
        "filledAt",
    }
    spent = (Decimal("0.333333") * Decimal("187.25")).quantize(Decimal("0.01"))  # 62.42
    state = portfolio(api, headers)
    assert Decimal(state["cash"]) == started.settings.starting_cash - spent
    assert state["positions"][0]["symbol"] == "AAPL" and state["positions"][0]["quantity"] == "0.333333"
    assert_books_balance(started, account_id)


def test_market_sell_fills_at_the_bid_and_realizes_pnl(api, started, trader):
    headers, account_id = trader
    publish(started, "MSFT", "400.00", "400.10")
    assert place(api, headers, symbol="MSFT", quantity="2").status_code == 201
    publish(started, "MSFT", "410.00", "410.10")
    sold = place(api, headers, symbol="MSFT", side="sell", quantity="2").json()["order"]
    assert (sold["status"], sold["avgFillPrice"]) == ("filled", "410.00")
    state = portfolio(api, headers)
    assert Decimal(state["realizedPnl"]) == Decimal("19.80")  # 820.00 - 800.20
    assert Decimal(state["cash"]) == started.settings.starting_cash + Decimal("19.80")
    assert state["positions"] == []
    assert_books_balance(started, account_id)


def test_retry_replays_the_first_answer_byte_for_byte(api, started, trader):
    headers, _ = trader
    publish(started, "AAPL", "187.20", "187.25")
    first = place(api, headers, key="retry-1", symbol="AAPL", quantity="1")
    again = place(api, headers, key="retry-1", symbol="aapl", quantity=1.0)  # the same order, spelled otherwise
    assert again.status_code == first.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    started.cache.delete(
        f"idempotency:{_user_id(api, headers)}:default:retry-1"
    )  # Redis lost it: the database remembers
    third = place(api, headers, key="retry-1", symbol="AAPL", quantity="1")
    assert third.content == first.content and third.headers["Idempotent-Replayed"] == "true"
    orders = api.get("/api/orders", headers=headers).json()["orders"]
    assert len(orders) == 1


def _user_id(api, headers) -> str:
    return api.get("/api/auth/me", headers=headers).json()["user"]["id"]


def test_same_key_with_another_body_is_refused(api, started, trader):
    headers, _ = trader
    publish(started, "AAPL", "187.20", "187.25")
    assert place(api, headers, key="k", symbol="AAPL").status_code == 201
    assert error_code(place(api, headers, key="k", symbol="AAPL", quantity="2"), 422) == "IDEMPOTENCY_KEY_REUSED"


def test_same_key_while_the_first_is_in_flight_is_a_duplicate(api, started, trader):
    headers, _ = trader
    assert started.cache.add(f"idempotency:{_user_id(api, headers)}:default:busy:in-flight", "1", ttl=30)
    assert error_code(place(api, headers, key="busy", symbol="AAPL"), 409) == "DUPLICATE_REQUEST"


@pytest.mark.parametrize("key", [None, ""])
def test_missing_idempotency_key(api, trader, key):
    headers, _ = trader
    extra = {} if key is None else {"X-Idempotency-Key": key}
    response = api.post(
        "/api/orders",
        json={"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": 1},
        headers={**headers, **extra},
    )
    assert error_code(response, 400) == "MISSING_IDEMPOTENCY_KEY"


def test_overlong_idempotency_key_is_a_validation_error(api, trader):
    headers, _ = trader
    assert error_code(place(api, headers, key="k" * 256, symbol="AAPL"), 400) == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"quantity": "0"}, "quantity"),
        ({"quantity": "-1"}, "quantity"),
        ({"quantity": "0.0000001"}, "quantity"),
        ({"quantity": "lots"}, "quantity"),
        ({"side": "short"}, "side"),
        ({"orderType": "trailing"}, "orderType"),
        ({"orderType": "limit"}, "limitPrice"),
        ({"orderType": "stop"}, "stopPrice"),
        ({"orderType": "stop_limit", "limitPrice": "10"}, "stopPrice"),
        ({"orderType": "limit", "limitPrice": "10.001"}, "limitPrice"),
        ({"orderType": "limit", "limitPrice": "0"}, "limitPrice"),
        ({"orderType": "market", "limitPrice": "10"}, "limitPrice"),
        ({"symbol": "WAYTOOLONGSYMBOL"}, "symbol"),
        ({"symbol": ""}, "symbol"),
        ({"timeInForce": "fast"}, "timeInForce"),
        ({"orderType": "stop", "stopPrice": "10", "timeInForce": "ioc"}, "timeInForce"),
        ({"orderType": "stop_limit", "stopPrice": "10", "limitPrice": "10", "timeInForce": "fok"}, "timeInForce"),
        ({"notional": "100"}, "notional"),
        ({"quantity": None, "notional": "0.99"}, "notional"),
        ({"quantity": None, "notional": "10.001"}, "notional"),
        ({"quantity": None, "notional": "100", "orderType": "limit", "limitPrice": "10"}, "notional"),
        ({"quantity": None}, "quantity"),
        ({"userId": "someone-else"}, "userId"),
    ],
)
def test_bad_bodies_name_the_field(api, trader, changes, field):
    headers, _ = trader
    body = {"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "1", **changes}
    response = api.post("/api/orders", json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex})
    assert error_code(response, 400) == "VALIDATION_ERROR"
    assert field in {d["field"] for d in response.json()["error"]["details"]}


def test_sub_dollar_prices_take_four_places(api, started, trader):
    headers, _ = trader
    publish(started, "F", "0.9000", "0.9010")
    response = place(api, headers, symbol="F", orderType="limit", limitPrice="0.5012", quantity="10")
    assert response.status_code == 201 and response.json()["order"]["limitPrice"] == "0.5012"


def test_unknown_symbol(api, trader):
    headers, _ = trader
    assert error_code(place(api, headers, symbol="NOPE"), 400) == "UNKNOWN_SYMBOL"


def test_insufficient_funds(api, started, trader):
    headers, _ = trader
    publish(started, "AAPL", "187.20", "187.25")
    assert error_code(place(api, headers, symbol="AAPL", quantity="100000"), 400) == "INSUFFICIENT_FUNDS"
    limit = place(api, headers, symbol="AAPL", orderType="limit", limitPrice="100.00", quantity="1001")
    assert error_code(limit, 400) == "INSUFFICIENT_FUNDS"


def test_insufficient_shares_counts_reserved_ones(api, started, trader):
    headers, _ = trader
    publish(started, "KO", "60.00", "60.02")
    assert error_code(place(api, headers, symbol="KO", side="sell"), 400) == "INSUFFICIENT_SHARES"
    assert place(api, headers, symbol="KO", quantity="3").status_code == 201
    resting = place(api, headers, symbol="KO", side="sell", orderType="limit", limitPrice="99.00", quantity="2")
    assert resting.json()["order"]["status"] == "pending"
    assert error_code(place(api, headers, symbol="KO", side="sell", quantity="2"), 400) == "INSUFFICIENT_SHARES"
    assert place(api, headers, symbol="KO", side="sell", quantity="1").json()["order"]["status"] == "filled"


def test_market_order_without_a_quote(api, trader):
    headers, _ = trader
    assert error_code(place(api, headers, symbol="DUK"), 400) == "NO_QUOTE"  # never quoted in this session


def test_resting_limit_buy_reserves_then_fills_when_the_ask_comes_down(api, started, trader):
    headers, account_id = trader
    publish(started, "NVDA", "150.00", "150.05")
    order = place(api, headers, symbol="NVDA", orderType="limit", limitPrice="149.00", quantity="10").json()["order"]
    assert order["status"] == "pending"
    state = portfolio(api, headers)
    assert Decimal(state["cash"]) - Decimal(state["buyingPower"]) == Decimal("1490.00")
    publish(started, "NVDA", "148.80", "148.90")  # crosses: fills at the ask, better than the limit
    wait_until(lambda: order_status(api, headers, order["id"]) == "filled", "the limit buy to fill")
    filled = api.get(f"/api/orders/{order['id']}", headers=headers).json()["order"]
    assert filled["avgFillPrice"] == "148.90"
    state = portfolio(api, headers)
    assert state["buyingPower"] == state["cash"]
    assert Decimal(state["cash"]) == started.settings.starting_cash - Decimal("1489.00")
    assert_books_balance(started, account_id)


def test_marketable_limit_fills_at_once_at_the_ask(api, started, trader):
    headers, _ = trader
    publish(started, "AMZN", "200.00", "200.10")
    order = place(api, headers, symbol="AMZN", orderType="limit", limitPrice="205.00").json()["order"]
    assert (order["status"], order["avgFillPrice"]) == ("filled", "200.10")


def test_resting_limit_sell_fills_at_the_bid(api, started, trader):
    headers, account_id = trader
    publish(started, "META", "500.00", "500.20")
    place(api, headers, symbol="META", quantity="2")
    order = place(api, headers, symbol="META", side="sell", orderType="limit", limitPrice="505.00", quantity="2")
    order = order.json()["order"]
    assert order["status"] == "pending"
    publish(started, "META", "506.00", "506.10")
    wait_until(lambda: order_status(api, headers, order["id"]) == "filled", "the limit sell to fill")
    assert api.get(f"/api/orders/{order['id']}", headers=headers).json()["order"]["avgFillPrice"] == "506.00"
    assert_books_balance(started, account_id)


def test_stop_buy_triggers_on_the_last_price_and_fills_at_the_ask(api, started, trader):
    headers, account_id = trader
    publish(started, "TSLA", "300.00", "300.20", "300.10")
    order = place(api, headers, symbol="TSLA", orderType="stop", stopPrice="310.00", quantity="2").json()["order"]
    assert order["status"] == "pending"
    state = portfolio(api, headers)
    assert Decimal(state["cash"]) - Decimal(state["buyingPower"]) == Decimal("651.00")  # 310 x 2 + 5 %
    publish(started, "TSLA", "309.00", "309.20", "309.90")  # last below the stop: nothing happens
    time.sleep(0.3)
    assert order_status(api, headers, order["id"]) == "pending"
    publish(started, "TSLA", "310.00", "310.30", "310.10")
    wait_until(lambda: order_status(api, headers, order["id"]) == "filled", "the stop buy to fill")
    assert api.get(f"/api/orders/{order['id']}", headers=headers).json()["order"]["avgFillPrice"] == "310.30"
    assert_books_balance(started, account_id)


def test_stop_sell_triggers_when_the_last_falls_to_it(api, started, trader):
    headers, account_id = trader
    publish(started, "JPM", "250.00", "250.10", "250.05")
    place(api, headers, symbol="JPM", quantity="3")
    order = place(api, headers, symbol="JPM", side="sell", orderType="stop", stopPrice="245.00", quantity="3")
    order = order.json()["order"]
    publish(started, "JPM", "244.80", "244.95", "244.90")
    wait_until(lambda: order_status(api, headers, order["id"]) == "filled", "the stop sell to fill")
    assert api.get(f"/api/orders/{order['id']}", headers=headers).json()["order"]["avgFillPrice"] == "244.80"
    assert_books_balance(started, account_id)


def test_stop_limit_rests_as_a_limit_once_triggered(api, started, trader):
    headers, account_id = trader
    publish(started, "AMD", "100.00", "100.10", "100.05")
    order = place(
        api, headers, symbol="AMD", orderType="stop_limit", stopPrice="105.00", limitPrice="105.50", quantity="1"
    ).json()["order"]
    publish(started, "AMD", "105.90", "106.00", "105.95")  # triggered, but the ask is above the limit
    time.sleep(0.3)
    assert order_status(api, headers, order["id"]) == "pending"
    publish(started, "AMD", "105.30", "105.40", "105.35")
    wait_until(lambda: order_status(api, headers, order["id"]) == "filled", "the stop-limit to fill")
    assert api.get(f"/api/orders/{order['id']}", headers=headers).json()["order"]["avgFillPrice"] == "105.40"
    assert_books_balance(started, account_id)


def test_cancel_releases_the_reservation_once(api, started, trader):
    headers, account_id = trader
    publish(started, "GOOGL", "170.00", "170.10")
    order = place(api, headers, symbol="GOOGL", orderType="limit", limitPrice="160.00", quantity="5").json()["order"]
    canceled = api.delete(f"/api/orders/{order['id']}", headers=headers)
    assert canceled.status_code == 200 and canceled.json()["order"]["status"] == "canceled"
    state = portfolio(api, headers)
    assert state["cash"] == state["buyingPower"]
    again = api.delete(f"/api/orders/{order['id']}", headers=headers)
    assert error_code(again, 409) == "ORDER_NOT_CANCELABLE"
    assert_books_balance(started, account_id)


def test_another_users_order_does_not_exist_for_you(api, started, trader):
    headers, _ = trader
    other, _ = sign_up(api)
    publish(started, "GOOGL", "170.00", "170.10")
    order = place(api, headers, symbol="GOOGL", orderType="limit", limitPrice="160.00").json()["order"]
    assert error_code(api.get(f"/api/orders/{order['id']}", headers=other), 404) == "ORDER_NOT_FOUND"
    assert error_code(api.delete(f"/api/orders/{order['id']}", headers=other), 404) == "ORDER_NOT_FOUND"
    assert error_code(api.get(f"/api/orders/{uuid.uuid4()}", headers=headers), 404) == "ORDER_NOT_FOUND"
    assert error_code(api.get("/api/orders/not-an-id", headers=headers), 404) == "ORDER_NOT_FOUND"
    assert api.get("/api/orders", headers=other).json()["orders"] == []


def test_listing_is_newest_first_filtered_and_paged(api, started, trader):
    headers, _ = trader
    publish(started, "SPY", "600.00", "600.05")
    ids = [
        place(api, headers, symbol="SPY", orderType="limit", limitPrice=f"{590 + i}.00").json()["order"]["id"]
        for i in range(5)
    ]
    api.delete(f"/api/orders/{ids[0]}", headers=headers)
    listed = [o["id"] for o in api.get("/api/orders", headers=headers).json()["orders"]]
    assert listed == ids[::-1]
    page = api.get("/api/orders", params={"limit": 2}, headers=headers).json()["orders"]
    rest = api.get("/api/orders", params={"limit": 10, "before": page[-1]["id"]}, headers=headers).json()["orders"]
    assert [o["id"] for o in page + rest] == ids[::-1]
    pending = api.get("/api/orders", params={"status": "pending"}, headers=headers).json()["orders"]
    assert [o["id"] for o in pending] == ids[:0:-1]
    for params in ({"limit": 0}, {"limit": 501}, {"status": "open"}, {"before": "nope"}):
        assert error_code(api.get("/api/orders", params=params, headers=headers), 400) == "VALIDATION_ERROR"


def test_day_orders_expire_at_the_end_of_their_day(api, started, trader):
    headers, account_id = trader
    publish(started, "V", "300.00", "300.10")
    day = place(api, headers, symbol="V", orderType="limit", limitPrice="250.00").json()["order"]
    gtc = place(api, headers, symbol="V", orderType="limit", limitPrice="250.00", timeInForce="gtc").json()["order"]
    assert day["expiresAt"] is not None and gtc["expiresAt"] is None
    with session_scope(started.engine) as db:  # the trading day ends: move its close into the past
        order = db.get(Order, uuid.UUID(day["id"]))
        order.expires_at = utcnow() - timedelta(seconds=1)
        db.add(order)
        db.commit()
    wait_until(lambda: order_status(api, headers, day["id"]) == "expired", "the day order to expire")
    assert order_status(api, headers, gtc["id"]) == "pending"
    state = portfolio(api, headers)
    assert Decimal(state["cash"]) - Decimal(state["buyingPower"]) == Decimal("250.00")  # only the gtc holds cash
    assert_books_balance(started, account_id)


def test_orders_need_a_session(api):
    assert error_code(api.get("/api/orders"), 401) == "UNAUTHORIZED"
    assert error_code(api.post("/api/orders", json={}), 401) == "UNAUTHORIZED"
    assert error_code(api.get("/api/portfolio"), 401) == "UNAUTHORIZED"


def test_portfolio_values_positions_at_the_last_price(api, started, trader):
    headers, _ = trader
    publish(started, "NFLX", "100.00", "100.10", "100.05")
    place(api, headers, symbol="NFLX", quantity="4")  # cost 400.40
    publish(started, "NFLX", "110.00", "110.10", "110.05")
    state = portfolio(api, headers)
    position = state["positions"][0]
    assert (position["avgCost"], position["lastPrice"], position["marketValue"]) == ("100.10", "110.05", "440.20")
    assert (position["unrealizedPnl"], position["unrealizedPnlPercent"]) == ("39.80", "9.94")
    assert Decimal(state["equity"]) == Decimal(state["cash"]) + Decimal("440.20")
    history = api.get("/api/portfolio/history", params={"range": "1W"}, headers=headers).json()
    assert history["range"] == "1W" and history["points"][-1]["equity"] == state["equity"]


def test_order_placements_are_rate_limited_per_user(api, started, trader):
    headers, _ = trader
    limit = started.settings.order_rate_limit
    publish(started, "PFE", "25.00", "25.01")
    codes = [place(api, headers, symbol="PFE", orderType="limit", limitPrice="1.00").status_code for _ in range(limit)]
    assert set(codes) == {201}
    response = place(api, headers, symbol="PFE", orderType="limit", limitPrice="1.00")
    assert error_code(response, 429) == "RATE_LIMITED" and 0 < int(response.headers["Retry-After"]) <= 60
    other, _ = sign_up(api)
    assert place(api, other, symbol="PFE", orderType="limit", limitPrice="1.00").status_code == 201
