"""The contract's Accounts section, on PostgreSQL + Redis and on the embedded default: several paper accounts per
user, each with its own cash, positions and orders, chosen per call with X-Account-Id."""

import uuid
from decimal import Decimal

from models.account import LedgerEntry
from services.infra.db import session_scope
from services.trading import reconcile
from tests.support.api import default_account, error_code, publish, sign_up

ACCOUNT_FIELDS = {
    "id",
    "name",
    "kind",
    "leagueId",
    "isDefault",
    "cash",
    "buyingPower",
    "equity",
    "startingCash",
    "createdAt",
}


def place(api, headers, account_id=None, **order):
    body = {"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "1", **order}
    chosen = {"X-Account-Id": account_id} if account_id else {}
    return api.post("/api/orders", json=body, headers={**headers, **chosen, "X-Idempotency-Key": uuid.uuid4().hex})


def accounts_of(api, headers) -> list[dict]:
    response = api.get("/api/accounts", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["accounts"]


def open_account(api, headers, name: str) -> dict:
    response = api.post("/api/accounts", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["account"]


def test_sign_up_opens_one_default_personal_account(api, started):
    headers, _ = sign_up(api)
    (account,) = accounts_of(api, headers)
    assert set(account) == ACCOUNT_FIELDS
    cash = f"{started.settings.starting_cash:.2f}"
    assert (account["kind"], account["isDefault"], account["leagueId"], account["name"]) == (
        "personal",
        True,
        None,
        "Individual",
    )
    assert account["cash"] == account["buyingPower"] == account["equity"] == account["startingCash"] == cash


def test_each_account_has_its_own_money_and_orders(api, started):
    headers, _ = sign_up(api)
    main = default_account(api, headers)
    side = open_account(api, headers, "  Swing trades  ")
    assert side["name"] == "Swing trades" and not side["isDefault"]
    publish(started, "AAPL", "100.00", "100.01")
    bought = place(api, headers, side["id"], quantity="3")
    assert bought.status_code == 201 and bought.json()["order"]["accountId"] == side["id"]
    in_main = place(api, headers, quantity="1").json()["order"]  # no header: the default account
    assert in_main["accountId"] == main

    def portfolio(account_id: str) -> dict:
        return api.get("/api/portfolio", headers={**headers, "X-Account-Id": account_id}).json()

    start = started.settings.starting_cash
    assert Decimal(portfolio(side["id"])["cash"]) == start - Decimal("300.03")
    assert Decimal(portfolio(main)["cash"]) == start - Decimal("100.01")
    assert api.get("/api/portfolio", headers=headers).json() == portfolio(main)
    side_orders = api.get("/api/orders", headers={**headers, "X-Account-Id": side["id"]}).json()["orders"]
    assert [o["id"] for o in side_orders] == [bought.json()["order"]["id"]]
    # Another account's order is not found from this one.
    other = api.get(f"/api/orders/{in_main['id']}", headers={**headers, "X-Account-Id": side["id"]})
    assert error_code(other, 404) == "ORDER_NOT_FOUND"
    with session_scope(started.engine) as db:
        assert reconcile.reconcile_account(db, uuid.UUID(side["id"])) == []
        assert reconcile.reconcile_account(db, uuid.UUID(main)) == []


def test_a_foreign_malformed_or_closed_account_is_not_found(api, started):
    headers, _ = sign_up(api)
    stranger, _ = sign_up(api)
    theirs = default_account(api, stranger)
    spare = open_account(api, headers, "Spare")
    assert api.delete(f"/api/accounts/{spare['id']}", headers=headers).status_code == 204
    for chosen in (theirs, "not-a-uuid", str(uuid.uuid4()), spare["id"]):
        for response in (
            place(api, headers, chosen),
            api.get("/api/portfolio", headers={**headers, "X-Account-Id": chosen}),
            api.get("/api/orders", headers={**headers, "X-Account-Id": chosen}),
            api.patch(f"/api/accounts/{chosen}", json={"name": "x"}, headers=headers),
            api.post(f"/api/accounts/{chosen}/reset", headers=headers),
        ):
            assert error_code(response, 404) == "ACCOUNT_NOT_FOUND", chosen
    assert [a["name"] for a in accounts_of(api, headers)] == ["Individual"]


def test_at_most_five_personal_accounts(api):
    headers, _ = sign_up(api)
    for n in range(4):
        open_account(api, headers, f"Account {n}")
    response = api.post("/api/accounts", json={"name": "Sixth"}, headers=headers)
    assert error_code(response, 409) == "ACCOUNT_LIMIT"
    for body in ({"name": ""}, {"name": "x" * 51}, {}, {"name": "ok", "cash": "1e9"}):
        assert error_code(api.post("/api/accounts", json=body, headers=headers), 400) == "VALIDATION_ERROR"


def test_the_default_moves_and_lists_first(api):
    headers, _ = sign_up(api)
    first = default_account(api, headers)
    second = open_account(api, headers, "Second")
    changed = api.patch(f"/api/accounts/{second['id']}", json={"isDefault": True, "name": "Main"}, headers=headers)
    assert changed.status_code == 200 and changed.json()["account"]["isDefault"] is True
    listed = accounts_of(api, headers)
    assert [(a["id"], a["isDefault"]) for a in listed] == [(second["id"], True), (first, False)]
    assert listed[0]["name"] == "Main"
    refused = api.patch(f"/api/accounts/{first}", json={"isDefault": False}, headers=headers)
    assert error_code(refused, 400) == "VALIDATION_ERROR"
    # The default can't be closed; the old default, now an ordinary account, can.
    assert error_code(api.delete(f"/api/accounts/{second['id']}", headers=headers), 409) == "ACCOUNT_NOT_CLOSABLE"
    assert api.delete(f"/api/accounts/{first}", headers=headers).status_code == 204


def test_reset_cancels_clears_and_refunds_keeping_the_history(api, started):
    headers, _ = sign_up(api)
    account_id = default_account(api, headers)
    publish(started, "MSFT", "400.00", "400.10")
    assert place(api, headers, symbol="MSFT", quantity="2").status_code == 201
    resting = place(api, headers, symbol="MSFT", orderType="limit", limitPrice="10.00", quantity="3").json()["order"]
    sell = place(api, headers, symbol="MSFT", side="sell", orderType="limit", limitPrice="900.00", quantity="1")
    assert sell.status_code == 201
    reset = api.post(f"/api/accounts/{account_id}/reset", headers=headers)
    assert reset.status_code == 200, reset.text
    account = reset.json()["account"]
    start = f"{started.settings.starting_cash:.2f}"
    assert account["cash"] == account["buyingPower"] == account["equity"] == start
    state = api.get("/api/portfolio", headers=headers).json()
    assert state["positions"] == [] and state["cash"] == start
    listed = {o["id"]: o["status"] for o in api.get("/api/orders", headers=headers).json()["orders"]}
    assert len(listed) == 3 and listed[resting["id"]] == "canceled" and listed[sell.json()["order"]["id"]] == "canceled"
    history = api.get("/api/portfolio/history", params={"range": "ALL"}, headers=headers).json()["points"]
    assert [p["equity"] for p in history] == [start, start]  # starts again from the reset
    with session_scope(started.engine) as db:
        assert reconcile.reconcile_account(db, uuid.UUID(account_id)) == []
        kinds = [e.kind for e in db.query(LedgerEntry).filter(LedgerEntry.account_id == uuid.UUID(account_id))]
    assert kinds == ["deposit", "buy", "reset"]
    # Trading goes on from the fresh start.
    assert place(api, headers, symbol="MSFT", quantity="1").status_code == 201


def test_orders_under_a_dollar_are_refused_but_a_whole_position_sells(api, started):
    headers, _ = sign_up(api)
    publish(started, "PLTR", "0.50", "0.51")
    tiny = place(api, headers, symbol="PLTR", quantity="1.9")  # $0.969 at the ask
    assert error_code(tiny, 400) == "VALIDATION_ERROR"
    assert tiny.json()["error"]["details"][0]["field"] == "quantity"
    limit = place(api, headers, symbol="PLTR", orderType="limit", limitPrice="0.1000", quantity="9")
    assert error_code(limit, 400) == "VALIDATION_ERROR"
    bought = place(api, headers, symbol="PLTR", quantity="2").json()["order"]  # $1.02
    assert bought["status"] == "filled"
    sold = place(api, headers, symbol="PLTR", side="sell", quantity="1.5")  # $0.75 of a 2-share position
    assert error_code(sold, 400) == "VALIDATION_ERROR"
    all_of_it = place(api, headers, symbol="PLTR", side="sell", quantity="2")
    assert all_of_it.status_code == 201 and all_of_it.json()["order"]["status"] == "filled"


def test_rounding_never_creates_money(api, started):
    """A buy's cost rounds up and a sale's proceeds round down: buying and selling back at the same price
    can only lose the rounding."""
    headers, _ = sign_up(api)
    publish(started, "AAPL", "187.33", "187.33")
    start = started.settings.starting_cash
    for _ in range(3):
        assert place(api, headers, quantity="0.006667").status_code == 201  # $1.24891... costs $1.25
    assert place(api, headers, side="sell", quantity="0.020001").status_code == 201  # $3.74678... raises $3.74
    cash = Decimal(api.get("/api/portfolio", headers=headers).json()["cash"])
    assert cash == start - 3 * Decimal("1.25") + Decimal("3.74") < start


def test_the_day_change_counts_shares_bought_today_from_their_cost(api, started):
    """An account that opened today and bought at the ask is down by what it paid over the last price, whatever
    the stock did since yesterday's close; the 1D chart starts where the day's change starts."""
    headers, _ = sign_up(api)
    publish(started, "NVDA", "180.00", "180.10", "180.05")
    assert place(api, headers, symbol="NVDA", quantity="10").status_code == 201  # costs $1,801.00
    state = api.get("/api/portfolio", headers=headers).json()
    start = started.settings.starting_cash
    assert Decimal(state["equity"]) == start - Decimal("1801.00") + Decimal("1800.50")  # valued at the last price
    assert Decimal(state["dayChange"]) == Decimal("-0.50")
    day = api.get("/api/portfolio/history", params={"range": "1D"}, headers=headers).json()["points"]
    assert Decimal(day[0]["equity"]) == start and Decimal(day[-1]["equity"]) == Decimal(state["equity"])
