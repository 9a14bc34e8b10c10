"""The contract's API keys, on PostgreSQL + Redis and on the embedded default: keys created, listed and deleted with a
session; the two headers trade the key's account and nothing else; a deleted key fails at once."""

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from models.types import utcnow
from services.identity import auth
from services.infra import db
from services.trading import api_keys
from tests.support.api import default_account, error_code, publish, sign_up

KEY_FIELDS = {"id", "name", "keyId", "accountId", "createdAt", "lastUsedAt"}


def create_key(api, headers, name="bot", **body) -> dict:
    response = api.post("/api/keys", json={"name": name, **body}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def key_headers(created: dict) -> dict[str, str]:
    return {"APCA-API-KEY-ID": created["key"]["keyId"], "APCA-API-SECRET-KEY": created["secret"]}


def keys_of(api, headers) -> list[dict]:
    response = api.get("/api/keys", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["keys"]


def place(api, headers, **order):
    body = {"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "1", **order}
    return api.post("/api/orders", json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex})


def open_account(api, headers, name="Bots") -> str:
    response = api.post("/api/accounts", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["account"]["id"]


def test_a_key_is_created_listed_without_its_secret_and_deleted(api):
    headers, _ = sign_up(api)
    created = create_key(api, headers, name="  Momentum bot  ")
    key, secret = created["key"], created["secret"]
    assert set(key) == KEY_FIELDS and set(created) == {"key", "secret"}
    assert re.fullmatch(r"PK[A-Z0-9]{18}", key["keyId"]) and len(secret) == 40
    assert (key["name"], key["accountId"], key["lastUsedAt"]) == ("Momentum bot", default_account(api, headers), None)

    listed = api.get("/api/keys", headers=headers)
    assert listed.json() == {"keys": [key]} and secret not in listed.text

    assert api.delete(f"/api/keys/{key['id']}", headers=headers).status_code == 204
    assert keys_of(api, headers) == []
    assert error_code(api.delete(f"/api/keys/{key['id']}", headers=headers), 404) == "KEY_NOT_FOUND"
    assert error_code(api.delete("/api/keys/not-an-id", headers=headers), 404) == "KEY_NOT_FOUND"


def test_another_users_key_or_account_is_not_found(api):
    headers, _ = sign_up(api)
    stranger, _ = sign_up(api)
    key = create_key(api, headers)["key"]
    assert error_code(api.delete(f"/api/keys/{key['id']}", headers=stranger), 404) == "KEY_NOT_FOUND"
    assert keys_of(api, stranger) == [] and keys_of(api, headers) == [key]

    theirs = default_account(api, stranger)
    refused = api.post("/api/keys", json={"name": "x", "accountId": theirs}, headers=headers)
    assert error_code(refused, 404) == "ACCOUNT_NOT_FOUND"
    made_up = api.post("/api/keys", json={"name": "x", "accountId": str(uuid.uuid4())}, headers=headers)
    assert error_code(made_up, 404) == "ACCOUNT_NOT_FOUND"


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "   "}, {"name": "x" * 51}, {"name": "x", "accountId": "nope"}, {"name": "x", "id": 1}],
)
def test_a_bad_body_is_a_validation_error(api, body):
    headers, _ = sign_up(api)
    assert error_code(api.post("/api/keys", json=body, headers=headers), 400) == "VALIDATION_ERROR"


def test_a_user_holds_at_most_20_live_keys(api):
    headers, _ = sign_up(api)
    keys = [create_key(api, headers, name=f"bot {i}")["key"] for i in range(api_keys.KEY_LIMIT)]
    assert error_code(api.post("/api/keys", json={"name": "one more"}, headers=headers), 409) == "KEY_LIMIT"
    assert api.delete(f"/api/keys/{keys[0]['id']}", headers=headers).status_code == 204
    create_key(api, headers, name="in its place")


def test_a_key_trades_its_own_account_only(api, started):
    headers, _ = sign_up(api)
    main = default_account(api, headers)
    bots = open_account(api, headers)
    key = key_headers(create_key(api, headers, accountId=bots))
    publish(started, "AAPL", "100.00", "100.01")

    bought = place(api, key, quantity="2")
    assert bought.status_code == 201, bought.text
    order = bought.json()["order"]
    assert order["accountId"] == bots
    assert [o["id"] for o in api.get("/api/orders", headers=key).json()["orders"]] == [order["id"]]
    assert api.get(f"/api/orders/{order['id']}", headers=key).status_code == 200
    cash = Decimal(api.get("/api/portfolio", headers=key).json()["cash"])
    assert cash == started.settings.starting_cash - Decimal("200.02")
    assert api.get("/api/portfolio/history", headers=key).status_code == 200
    # The session's default account saw nothing of it.
    assert api.get("/api/orders", headers=headers).json()["orders"] == []
    # Naming its own account is fine; naming any other is not found, the user's own default included.
    assert api.get("/api/portfolio", headers={**key, "X-Account-Id": bots}).status_code == 200
    for other in (main, str(uuid.uuid4()), "not-an-id"):
        chosen = {**key, "X-Account-Id": other}
        assert error_code(api.get("/api/portfolio", headers=chosen), 404) == "ACCOUNT_NOT_FOUND"
        assert error_code(place(api, chosen), 404) == "ACCOUNT_NOT_FOUND"
    # Watchlists, alerts and market data answer a key too.
    assert api.put("/api/watchlist/MSFT", headers=key).status_code == 200
    alert = api.post("/api/alerts", json={"symbol": "AAPL", "condition": "above", "price": "500"}, headers=key)
    assert alert.status_code == 201, alert.text
    assert api.get("/api/quotes", params={"symbols": "AAPL"}, headers=key).status_code == 200


def test_a_wrong_pair_is_unauthorized(api):
    headers, _ = sign_up(api)
    created = create_key(api, headers)
    good = key_headers(created)
    assert api.get("/api/portfolio", headers=good).status_code == 200  # now in the cache too
    wrong_secret = {**good, "APCA-API-SECRET-KEY": "x" * 40}
    unknown = {**good, "APCA-API-KEY-ID": "PK" + "Z" * 18}
    other_secret = {**good, "APCA-API-SECRET-KEY": create_key(api, headers)["secret"]}
    for bad in (
        wrong_secret,
        unknown,
        other_secret,
        {"APCA-API-KEY-ID": good["APCA-API-KEY-ID"]},
        {"APCA-API-SECRET-KEY": good["APCA-API-SECRET-KEY"]},
        {**good, "APCA-API-KEY-ID": "pk" + good["APCA-API-KEY-ID"][2:]},
        {**good, "APCA-API-SECRET-KEY": good["APCA-API-SECRET-KEY"][:-1]},
    ):
        assert error_code(api.get("/api/portfolio", headers=bad), 401) == "UNAUTHORIZED"
        assert error_code(place(api, bad), 401) == "UNAUTHORIZED"


def test_a_key_cannot_manage_the_user(api):
    headers, _ = sign_up(api)
    key = key_headers(create_key(api, headers))
    account = default_account(api, headers)
    password = {"currentPassword": "whatever it is", "newPassword": "a brand new passphrase"}
    for method, path, body in [
        ("GET", "/api/keys", None),
        ("POST", "/api/keys", {"name": "minted"}),
        ("GET", "/api/accounts", None),
        ("POST", "/api/accounts", {"name": "another"}),
        ("POST", f"/api/accounts/{account}/reset", None),
        ("GET", "/api/auth/me", None),
        ("GET", "/api/auth/sessions", None),
        ("POST", "/api/auth/password", password),
        ("POST", "/api/auth/logout-all", None),
    ]:
        response = api.request(method, path, json=body, headers=key)
        assert error_code(response, 403) == "SESSION_REQUIRED", path
    assert len(keys_of(api, headers)) == 1


def test_a_deleted_key_fails_at_once(api):
    headers, _ = sign_up(api)
    created = create_key(api, headers)
    key = key_headers(created)
    assert api.get("/api/orders", headers=key).status_code == 200  # cached from here on
    assert api.delete(f"/api/keys/{created['key']['id']}", headers=headers).status_code == 204
    assert error_code(api.get("/api/orders", headers=key), 401) == "UNAUTHORIZED"
    assert error_code(api.get("/api/orders", headers=key), 401) == "UNAUTHORIZED"


def test_closing_an_account_kills_its_keys(api):
    headers, _ = sign_up(api)
    bots = open_account(api, headers)
    on_bots, on_main = create_key(api, headers, accountId=bots), create_key(api, headers)
    assert api.get("/api/portfolio", headers=key_headers(on_bots)).status_code == 200
    assert api.delete(f"/api/accounts/{bots}", headers=headers).status_code == 204
    assert error_code(api.get("/api/portfolio", headers=key_headers(on_bots)), 401) == "UNAUTHORIZED"
    assert api.get("/api/portfolio", headers=key_headers(on_main)).status_code == 200
    assert [k["id"] for k in keys_of(api, headers)] == [on_main["key"]["id"]]


def test_the_database_tells_which_keys_of_open_sockets_are_dead(api, started):
    """What an instance re-checks its key sockets with while the bus is down: one query for all their keys."""
    headers, _ = sign_up(api)
    bots = open_account(api, headers)
    live, deleted, on_bots = (
        create_key(api, headers),
        create_key(api, headers),
        create_key(api, headers, accountId=bots),
    )
    assert api.delete(f"/api/keys/{deleted['key']['id']}", headers=headers).status_code == 204
    assert api.delete(f"/api/accounts/{bots}", headers=headers).status_code == 204
    key_ids = {created["key"]["keyId"] for created in (live, deleted, on_bots)} | {"PK" + "0" * 18}
    with db.session_scope(started.engine) as session:
        dead = api_keys.dead_among(session, key_ids)
    assert dead == key_ids - {live["key"]["keyId"]}


def test_last_used_at_is_kept_without_a_write_per_call(api, started):
    headers, _ = sign_up(api)
    created = create_key(api, headers)
    before = utcnow()
    assert api.get("/api/orders", headers=key_headers(created)).status_code == 200
    assert keys_of(api, headers)[0]["lastUsedAt"] is None  # not written by the call itself
    started.key_uses.flush(started.engine)  # what the background writer does every USE_FLUSH_EVERY seconds
    (listed,) = keys_of(api, headers)
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(listed["lastUsedAt"]) <= utcnow()
    assert api_keys.USE_FLUSH_EVERY <= 60


def test_checking_a_key_never_hashes_a_password(api, monkeypatch):
    headers, _ = sign_up(api)
    key = key_headers(create_key(api, headers))

    class NoPasswords:
        def __getattr__(self, name):
            raise AssertionError(f"a key check called the password hasher ({name})")

    monkeypatch.setattr(auth, "_passwords", NoPasswords())
    assert api.get("/api/portfolio", headers=key).status_code == 200  # from the database
    assert api.get("/api/portfolio", headers=key).status_code == 200  # from the cache
