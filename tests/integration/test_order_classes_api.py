"""Order classes over the API: brackets, OTO and OCO, their legs held, resting and ending together, on PostgreSQL +
Redis and the embedded default."""

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


def statuses(api, headers, order: dict) -> tuple[str, ...]:
    """The order's status, then its legs' (take-profit first)."""
    shown = order_of(api, headers, order["id"])
    return (shown["status"], *(leg["status"] for leg in _exits(shown)))


def _exits(order: dict) -> list[dict]:
    return sorted(order["legs"] or [], key=lambda leg: leg["orderType"] != "limit")


def reserved_shares(started, account_id: str, symbol: str) -> Decimal:
    with session_scope(started.engine) as db:
        position = db.get(Position, (uuid.UUID(account_id), symbol))
        return position.reserved_quantity if position else Decimal(0)


def assert_consistent(started, account_id: str) -> None:
    assert_books_balance(started, account_id)
    with session_scope(started.engine) as db:
        assert reconcile_account(db, uuid.UUID(account_id)) == []


def bracket(api, headers, **entry):
    return place(
        api,
        headers,
        orderClass="bracket",
        takeProfit={"limitPrice": "110.00"},
        stopLoss={"stopPrice": "90.00"},
        **entry,
    )


def test_a_bracket_with_a_market_entry_rests_its_legs_at_once_and_the_take_profit_cancels_the_stop(
    api, started, trader
):
    headers, account_id = trader
    publish(started, "NVDA", "99.90", "100.10", "100.00")
    response = bracket(api, headers, symbol="NVDA", quantity="3")
    assert response.status_code == 201, response.text
    entry = response.json()["order"]
    assert (entry["status"], entry["orderClass"], entry["avgFillPrice"]) == ("filled", "bracket", "100.10")
    take_profit, stop_loss = _exits(entry)
    assert (take_profit["side"], take_profit["limitPrice"], take_profit["quantity"]) == ("sell", "110.00", "3")
    assert (stop_loss["orderType"], stop_loss["stopPrice"], stop_loss["parentId"]) == ("stop", "90.00", entry["id"])
    assert statuses(api, headers, entry) == ("filled", "pending", "pending")
    assert reserved_shares(started, account_id, "NVDA") == Decimal(3)  # once, for both legs
    assert error_code(place(api, headers, symbol="NVDA", side="sell", quantity="1"), 400) == "INSUFFICIENT_SHARES"
    assert_consistent(started, account_id)
    publish(started, "NVDA", "110.00", "110.20", "110.10")
    wait_until(lambda: statuses(api, headers, entry) == ("filled", "filled", "canceled"), "the take-profit to fill")
    assert order_of(api, headers, take_profit["id"])["avgFillPrice"] == "110.00"
    assert portfolio(api, headers)["positions"] == []
    assert_consistent(started, account_id)


def test_bracket_legs_are_held_until_the_entry_fills_then_the_stop_loss_cancels_the_take_profit(api, started, trader):
    headers, account_id = trader
    publish(started, "AMD", "101.90", "102.10", "102.00")
    entry = bracket(api, headers, symbol="AMD", orderType="limit", limitPrice="100.00", quantity="2").json()["order"]
    assert statuses(api, headers, entry) == ("pending", "held", "held")
    state = portfolio(api, headers)  # only the entry's cash is held back
    assert Decimal(state["cash"]) - Decimal(state["buyingPower"]) == Decimal("200.00")
    publish(started, "AMD", "99.80", "100.00", "99.90")
    wait_until(lambda: statuses(api, headers, entry) == ("filled", "pending", "pending"), "the legs to rest")
    assert reserved_shares(started, account_id, "AMD") == Decimal(2)
    assert_consistent(started, account_id)
    publish(started, "AMD", "89.80", "90.00", "89.90")  # the stop-loss fires, selling at the bid
    wait_until(lambda: statuses(api, headers, entry) == ("filled", "canceled", "filled"), "the stop-loss to fill")
    assert order_of(api, headers, _exits(entry)[1]["id"])["avgFillPrice"] == "89.80"
    assert reserved_shares(started, account_id, "AMD") == 0
    assert_consistent(started, account_id)


def test_canceling_the_entry_cancels_its_held_legs(api, started, trader):
    headers, account_id = trader
    publish(started, "AMD", "101.90", "102.10", "102.00")
    entry = bracket(api, headers, symbol="AMD", orderType="limit", limitPrice="100.00").json()["order"]
    canceled = api.delete(f"/api/orders/{entry['id']}", headers=headers)
    assert canceled.status_code == 200 and [leg["status"] for leg in canceled.json()["order"]["legs"]] == [
        "canceled",
        "canceled",
    ]
    assert statuses(api, headers, entry) == ("canceled", "canceled", "canceled")
    state = portfolio(api, headers)
    assert state["cash"] == state["buyingPower"]
    assert_consistent(started, account_id)


def test_a_held_leg_alone_cannot_be_canceled_or_replaced(api, started, trader):
    headers, account_id = trader
    publish(started, "AMD", "101.90", "102.10", "102.00")
    entry = bracket(api, headers, symbol="AMD", orderType="limit", limitPrice="100.00").json()["order"]
    take_profit, _ = _exits(entry)
    assert error_code(api.delete(f"/api/orders/{take_profit['id']}", headers=headers), 409) == "ORDER_NOT_CANCELABLE"
    changed = api.patch(f"/api/orders/{take_profit['id']}", json={"limitPrice": "111.00"}, headers=headers)
    assert error_code(changed, 409) == "ORDER_NOT_CANCELABLE"
    assert statuses(api, headers, entry) == ("pending", "held", "held")
    assert_consistent(started, account_id)


def test_canceling_one_exit_leg_cancels_the_other_and_frees_the_shares(api, started, trader):
    headers, account_id = trader
    publish(started, "NVDA", "99.90", "100.10", "100.00")
    entry = bracket(api, headers, symbol="NVDA", quantity="2").json()["order"]
    take_profit, stop_loss = _exits(entry)
    assert api.delete(f"/api/orders/{stop_loss['id']}", headers=headers).json()["order"]["status"] == "canceled"
    assert statuses(api, headers, entry) == ("filled", "canceled", "canceled")
    assert reserved_shares(started, account_id, "NVDA") == 0
    assert place(api, headers, symbol="NVDA", side="sell", quantity="2").json()["order"]["status"] == "filled"
    assert error_code(api.delete(f"/api/orders/{take_profit['id']}", headers=headers), 409) == "ORDER_NOT_CANCELABLE"
    assert_consistent(started, account_id)


def test_an_oto_takes_one_exit(api, started, trader):
    headers, account_id = trader
    publish(started, "KO", "59.98", "60.02", "60.00")
    entry = place(
        api,
        headers,
        symbol="KO",
        quantity="5",
        orderClass="oto",
        stopLoss={"stopPrice": "55.00", "limitPrice": "54.50"},
    ).json()["order"]
    (stop_loss,) = entry["legs"]
    assert (stop_loss["orderType"], stop_loss["stopPrice"], stop_loss["limitPrice"]) == ("stop_limit", "55.00", "54.50")
    assert (entry["orderClass"], stop_loss["orderClass"], stop_loss["status"]) == ("oto", "oto", "pending")
    publish(started, "KO", "54.80", "54.90", "54.85")
    wait_until(lambda: order_of(api, headers, stop_loss["id"])["status"] == "filled", "the stop-limit to fill")
    assert_consistent(started, account_id)


def test_an_oco_sells_held_shares_with_one_reservation_and_its_stop_cancels_the_limit(api, started, trader):
    headers, account_id = trader
    publish(started, "JPM", "99.90", "100.10", "100.00")
    place(api, headers, symbol="JPM", quantity="4")
    response = place(
        api,
        headers,
        symbol="JPM",
        side="sell",
        orderType="limit",
        limitPrice="110.00",
        quantity="4",
        orderClass="oco",
        stopLoss={"stopPrice": "95.00"},
    )
    assert response.status_code == 201, response.text
    oco = response.json()["order"]
    assert statuses(api, headers, oco) == ("pending", "pending")
    assert reserved_shares(started, account_id, "JPM") == Decimal(4)
    assert error_code(place(api, headers, symbol="JPM", side="sell", quantity="1"), 400) == "INSUFFICIENT_SHARES"
    assert_consistent(started, account_id)
    publish(started, "JPM", "94.90", "95.10", "95.00")
    wait_until(lambda: statuses(api, headers, oco) == ("canceled", "filled"), "the stop to fill and the limit to end")
    assert portfolio(api, headers)["positions"] == []
    assert_consistent(started, account_id)


def test_an_oco_beyond_the_shares_held_is_refused(api, started, trader):
    headers, _ = trader
    publish(started, "JPM", "99.90", "100.10", "100.00")
    place(api, headers, symbol="JPM", quantity="1")
    response = place(
        api,
        headers,
        symbol="JPM",
        side="sell",
        orderType="limit",
        limitPrice="110.00",
        quantity="2",
        orderClass="oco",
        stopLoss={"stopPrice": "95.00"},
    )
    assert error_code(response, 400) == "INSUFFICIENT_SHARES"


def test_listing_shows_legs_flat_or_nested_under_their_parent(api, started, trader):
    headers, _ = trader
    publish(started, "AMD", "101.90", "102.10", "102.00")
    simple = place(api, headers, symbol="AMD", orderType="limit", limitPrice="90.00").json()["order"]
    entry = bracket(api, headers, symbol="AMD", orderType="limit", limitPrice="100.00").json()["order"]
    flat = api.get("/api/orders", headers=headers).json()["orders"]
    assert len(flat) == 4
    assert {o["id"]: o["parentId"] for o in flat if o["parentId"]} == {leg["id"]: entry["id"] for leg in entry["legs"]}
    nested = api.get("/api/orders", params={"nested": "true"}, headers=headers).json()["orders"]
    assert [o["id"] for o in nested] == [entry["id"], simple["id"]]
    assert {leg["id"] for leg in nested[0]["legs"]} == {leg["id"] for leg in entry["legs"]}
    assert nested[1]["legs"] is None


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"side": "sell"}, {"side"}),
        ({"stopLoss": None}, {"takeProfit", "stopLoss"}),
        ({"orderClass": "oto"}, {"takeProfit", "stopLoss"}),
        ({"orderType": "stop", "stopPrice": "100"}, {"orderType"}),
        ({"quantity": None, "notional": "100"}, {"notional"}),
        ({"timeInForce": "ioc"}, {"timeInForce"}),
        ({"orderType": "limit", "limitPrice": "110.00"}, {"takeProfit.limitPrice"}),
        ({"orderType": "limit", "limitPrice": "89.00"}, {"stopLoss.stopPrice"}),
        (
            {"takeProfit": {"limitPrice": "100.00"}, "stopLoss": {"stopPrice": "100.20"}},
            {"takeProfit.limitPrice", "stopLoss.stopPrice"},
        ),
        ({"takeProfit": {"limitPrice": "110.001"}}, {"takeProfit.limitPrice"}),
        ({"stopLoss": {"limitPrice": "80"}}, {"stopLoss.stopPrice"}),
        ({"orderClass": "simple"}, {"takeProfit", "stopLoss"}),
        ({"orderClass": "oco"}, {"side", "orderType", "takeProfit"}),
        ({"orderClass": "triple"}, {"orderClass"}),
    ],
)
def test_bad_order_classes_name_the_fields(api, started, trader, changes, fields):
    headers, _ = trader
    publish(started, "NVDA", "99.90", "100.10", "100.00")
    body = {"symbol": "NVDA", "orderClass": "bracket", "takeProfit": {"limitPrice": "110.00"}}
    body["stopLoss"] = {"stopPrice": "90.00"}
    body.update(changes)
    response = place(api, headers, **{k: v for k, v in body.items() if v is not None or k == "quantity"})
    assert error_code(response, 400) == "VALIDATION_ERROR"
    assert fields <= {d["field"] for d in response.json()["error"]["details"]}, response.json()


def test_an_oco_stop_at_or_above_its_limit_is_refused(api, started, trader):
    headers, _ = trader
    publish(started, "JPM", "99.90", "100.10", "100.00")
    place(api, headers, symbol="JPM", quantity="1")
    response = place(
        api,
        headers,
        symbol="JPM",
        side="sell",
        orderType="limit",
        limitPrice="110.00",
        orderClass="oco",
        stopLoss={"stopPrice": "110.00"},
    )
    assert error_code(response, 400) == "VALIDATION_ERROR"
    assert response.json()["error"]["details"][0]["field"] == "stopLoss.stopPrice"


def test_resetting_the_account_cancels_held_legs_with_their_entry(api, started, trader):
    headers, account_id = trader
    publish(started, "AMD", "101.90", "102.10", "102.00")
    entry = bracket(api, headers, symbol="AMD", orderType="limit", limitPrice="100.00").json()["order"]
    assert api.post(f"/api/accounts/{account_id}/reset", headers=headers).status_code == 200
    assert statuses(api, headers, entry) == ("canceled", "canceled", "canceled")
    assert_consistent(started, account_id)
