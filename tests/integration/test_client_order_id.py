"""`clientOrderId`: the client's own name for an order, unique per account for the account's life."""

import uuid

from tests.support.api import default_account, error_code, publish, sign_up


def place(api, headers, **order):
    body = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "1", "limitPrice": "100", **order}
    return api.post("/api/orders", json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex})


def test_client_order_id_is_kept_and_unique_per_account_forever(api, started):
    headers, _ = sign_up(api)
    publish(started, "AAPL", "187.20", "187.25", "187.22")
    first = place(api, headers, clientOrderId="bot-1")
    assert first.status_code == 201
    order = first.json()["order"]
    assert order["clientOrderId"] == "bot-1"
    assert api.get(f"/api/orders/{order['id']}", headers=headers).json()["order"]["clientOrderId"] == "bot-1"
    again = place(api, headers, clientOrderId="bot-1", limitPrice="101")
    assert error_code(again, 409) == "DUPLICATE_CLIENT_ORDER_ID"
    assert api.delete(f"/api/orders/{order['id']}", headers=headers).status_code == 200
    after_cancel = place(api, headers, clientOrderId="bot-1")
    assert error_code(after_cancel, 409) == "DUPLICATE_CLIENT_ORDER_ID"
    # Nothing was placed by the refusals.
    listed = api.get("/api/orders", headers=headers).json()["orders"]
    assert [o["id"] for o in listed] == [order["id"]]


def test_client_order_id_is_optional_and_per_account(api, started):
    alice, _ = sign_up(api)
    bob, _ = sign_up(api)
    publish(started, "AAPL", "187.20", "187.25", "187.22")
    assert place(api, alice, clientOrderId="same").status_code == 201
    assert place(api, bob, clientOrderId="same").status_code == 201
    anonymous = [place(api, alice).json()["order"] for _ in range(2)]
    assert [o["clientOrderId"] for o in anonymous] == [None, None]
    other = api.post("/api/accounts", json={"name": "Second"}, headers=alice).json()["account"]["id"]
    elsewhere = place(api, {**alice, "X-Account-Id": other}, clientOrderId="same")
    assert elsewhere.status_code == 201 and elsewhere.json()["order"]["accountId"] == other
    assert default_account(api, alice) != other


def test_client_order_id_length_is_checked(api, started):
    headers, _ = sign_up(api)
    publish(started, "AAPL", "187.20", "187.25", "187.22")
    for bad in ("", "x" * 129):
        response = place(api, headers, clientOrderId=bad)
        assert error_code(response, 400) == "VALIDATION_ERROR"
        assert response.json()["error"]["details"][0]["field"] == "clientOrderId"
    assert place(api, headers, clientOrderId="x" * 128).status_code == 201
