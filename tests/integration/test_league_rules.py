"""A league account trades only while its league runs and only as its rules allow, enforced by the server at
placement (LEAGUE_NOT_RUNNING, SYMBOL_NOT_ALLOWED, ORDER_TYPE_NOT_ALLOWED, whole shares, POSITION_LIMIT,
minPrice), on PostgreSQL + Redis and on the embedded default."""

import uuid

from services.infra.db import session_scope
from services.trading import reconcile
from tests.support.api import error_code, publish, sign_up
from tests.support.leagues import ago, create, in_, join, move


def player(api, **league_fields):
    """A student in a fresh league: (headers that trade the league account, the league, the account)."""
    owner, _ = sign_up(api)
    student, _ = sign_up(api)
    league = create(api, owner, **league_fields)
    account = join(api, student, league)["account"]
    return {**student, "X-Account-Id": account["id"]}, league, account


def order(api, headers, **fields):
    body = {"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "1", **fields}
    return api.post("/api/orders", json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex})


def test_a_league_account_trades_only_while_the_league_runs(api, started):
    headers, league, _ = player(api, startsAt=in_(3600))
    publish(started, "AAPL", "100.00", "100.02")
    assert error_code(order(api, headers), 400) == "LEAGUE_NOT_RUNNING"
    move(started, league["id"], starts_at=ago(60))
    assert order(api, headers).status_code == 201
    move(started, league["id"], ends_at=ago(1))
    assert error_code(order(api, headers), 400) == "LEAGUE_NOT_RUNNING"
    assert error_code(order(api, headers, side="sell"), 400) == "LEAGUE_NOT_RUNNING"


def test_only_the_leagues_symbols_trade(api, started):
    headers, _, _ = player(api, symbols=["AAPL"])
    publish(started, "AAPL", "100.00", "100.02")
    publish(started, "MSFT", "400.00", "400.02")
    assert error_code(order(api, headers, symbol="MSFT"), 400) == "SYMBOL_NOT_ALLOWED"
    assert order(api, headers, symbol="aapl").status_code == 201
    # The user's personal account is not bound by the league.
    personal = {k: v for k, v in headers.items() if k != "X-Account-Id"}
    assert order(api, personal, symbol="MSFT").status_code == 201


def test_only_the_leagues_order_types_trade(api, started):
    headers, _, _ = player(api, rules={"orderTypes": ["market", "stop"]})
    publish(started, "AAPL", "100.00", "100.02")
    limit = order(api, headers, orderType="limit", limitPrice="90")
    assert error_code(limit, 400) == "ORDER_TYPE_NOT_ALLOWED"
    assert order(api, headers, orderType="stop", stopPrice="120").status_code == 201
    assert order(api, headers).status_code == 201


def test_without_fractional_shares_a_fraction_is_a_validation_error(api, started):
    headers, _, _ = player(api, rules={"allowFractional": False})
    publish(started, "AAPL", "100.00", "100.02")
    refused = order(api, headers, quantity="0.5")
    assert error_code(refused, 400) == "VALIDATION_ERROR"
    assert [d["field"] for d in refused.json()["error"]["details"]] == ["quantity"]
    assert order(api, headers, quantity="2").status_code == 201
    fractional, _, _ = player(api)
    assert order(api, fractional, quantity="0.5").status_code == 201


def test_a_buy_under_the_minimum_price_is_not_allowed(api, started):
    headers, _, _ = player(api, rules={"minPrice": "20"})
    publish(started, "F", "9.99", "10.01", last="10.00")
    publish(started, "AAPL", "100.00", "100.02")
    assert error_code(order(api, headers, symbol="F", quantity="5"), 400) == "SYMBOL_NOT_ALLOWED"
    assert order(api, headers).status_code == 201


def test_a_buy_past_the_position_cap_is_refused_resting_buys_included(api, started):
    headers, _, account = player(api, startingCash="10000", rules={"maxPositionPercent": 10})
    publish(started, "AAPL", "100.00", "100.02")
    # 11 shares (1100.22) would be 11 % of the equity.
    assert error_code(order(api, headers, quantity="11"), 400) == "POSITION_LIMIT"
    assert order(api, headers, quantity="9").status_code == 201  # 900 at the last price, equity 9999.82
    resting = order(api, headers, orderType="limit", limitPrice="95", quantity="1")
    assert resting.status_code == 201 and resting.json()["order"]["status"] == "pending"
    # 900 held + 95 resting + 95 more > 999.98.
    assert error_code(order(api, headers, orderType="limit", limitPrice="95", quantity="1"), 400) == "POSITION_LIMIT"
    # Other symbols have their own cap, and selling is never capped.
    publish(started, "MSFT", "400.00", "400.02")
    assert order(api, headers, symbol="MSFT", quantity="2").status_code == 201
    assert order(api, headers, side="sell", quantity="9").status_code == 201
    with session_scope(started.engine) as db:
        assert reconcile.reconcile_account(db, uuid.UUID(account["id"])) == []


def test_a_replace_is_held_to_the_rules_without_counting_the_order_it_replaces(api, started):
    headers, _, account = player(api, startingCash="10000", rules={"maxPositionPercent": 10})
    publish(started, "AAPL", "100.00", "100.02")
    resting = order(api, headers, orderType="limit", limitPrice="90", quantity="10").json()["order"]
    # 10 at 95 (950) fits the cap of 999.98 on its own: the 900 the old order reserves is not counted beside it.
    moved = api.patch(f"/api/orders/{resting['id']}", json={"limitPrice": "95"}, headers=headers)
    assert moved.status_code == 200, moved.text
    # 11 at 95 (1045) does not, and the order stays as it was.
    grown = api.patch(f"/api/orders/{moved.json()['order']['id']}", json={"quantity": "11"}, headers=headers)
    assert error_code(grown, 400) == "POSITION_LIMIT"
    listed = api.get("/api/orders", headers=headers, params={"status": "pending"}).json()["orders"]
    assert [(o["quantity"], o["limitPrice"]) for o in listed] == [("10", "95.00")]
    with session_scope(started.engine) as db:
        assert reconcile.reconcile_account(db, uuid.UUID(account["id"])) == []
