"""The OWASP API Security Top 10 items that apply to Sherwood, against a real app process on PostgreSQL + Redis:
API1 object-level authorization (another user's objects are 404, never touched), API3/API6 mass assignment
(fields a client may not set are refused, never applied), API4 resource limits (page sizes, list and count caps).
Also covered elsewhere: API2 authentication (test_auth_api, test_sessions), API4 rate and body limits
(test_rate_limits, test_http_guards), API8 misconfiguration (security headers and Origin, test_http_guards)."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest

from services.alerts import alerts
from tests.support.databases import REDIS_URL
from tests.support.factories import PASSWORD, random_email
from tests.support.server import running_app

ORDER = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "2", "limitPrice": "1.00"}


@pytest.fixture(scope="module")
def app_url(postgres_url, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("owasp") / "app.log"
    with running_app(log, DATABASE_URL=postgres_url, REDIS_URL=REDIS_URL, API_RATE_LIMIT="0") as url:
        yield url


class Client:
    """A signed-up user talking to the API."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        credentials = {"email": random_email(), "password": PASSWORD}
        self.id = httpx.post(f"{base_url}/api/auth/register", json=credentials).json()["user"]["id"]
        token = httpx.post(f"{base_url}/api/auth/login", json=credentials).json()["token"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, **kwargs) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return httpx.request(method, f"{self.base_url}{path}", headers=headers, timeout=30, **kwargs)

    def place(self, body: dict, key: str) -> httpx.Response:
        return self.call("POST", "/api/orders", json=body, headers={"X-Idempotency-Key": key})


@pytest.fixture(scope="module")
def alice(app_url) -> Client:
    return Client(app_url)


@pytest.fixture(scope="module")
def mallory(app_url) -> Client:
    return Client(app_url)


def snapshot(user: Client) -> tuple:
    """Everything of a user that a stray field could change."""
    return tuple(user.call("GET", path).json() for path in ("/api/orders", "/api/portfolio", "/api/alerts"))


def refused(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    return error


def test_another_users_orders_alerts_and_watchlist_are_out_of_reach(alice, mallory):
    order = alice.place(ORDER, "bola-order").json()["order"]
    alert = alice.call("POST", "/api/alerts", json={"symbol": "MSFT", "condition": "above", "price": "9999"}).json()
    alert = alert["alert"]
    watched = alice.call("GET", "/api/watchlist").json()["symbols"]

    refused(mallory.call("GET", f"/api/orders/{order['id']}"), 404, "ORDER_NOT_FOUND")
    refused(mallory.call("DELETE", f"/api/orders/{order['id']}"), 404, "ORDER_NOT_FOUND")
    refused(mallory.call("DELETE", f"/api/alerts/{alert['id']}"), 404, "ALERT_NOT_FOUND")
    assert order["id"] not in str(mallory.call("GET", "/api/orders").json())
    assert alert["id"] not in str(mallory.call("GET", "/api/alerts").json())
    # A watchlist is addressed by symbol within the caller's own list: Mallory's changes stay hers.
    assert mallory.call("DELETE", f"/api/watchlist/{watched[0]}").status_code == 200
    assert mallory.call("PUT", "/api/watchlist/KO").status_code == 200

    # Nothing of Alice's moved: the same answers for a missing id and for hers, and her objects as they were.
    assert alice.call("GET", f"/api/orders/{order['id']}").json()["order"]["status"] == "pending"
    assert [a["id"] for a in alice.call("GET", "/api/alerts").json()["alerts"]] == [alert["id"]]
    assert alice.call("GET", "/api/watchlist").json()["symbols"] == watched
    portfolio = alice.call("GET", "/api/portfolio").json()
    assert Decimal(portfolio["buyingPower"]) == Decimal(portfolio["cash"]) - Decimal("2.00")


@pytest.mark.parametrize(
    "extra",
    [{"userId": "SELF"}, {"status": "filled"}, {"filledQuantity": "2"}, {"avgFillPrice": "0.01"}, {"id": "SELF"}],
)
def test_an_order_body_cannot_set_what_only_the_server_decides(alice, mallory, extra):
    extra = {k: (alice.id if v == "SELF" else v) for k, v in extra.items()}
    before = snapshot(alice), snapshot(mallory)
    error = refused(mallory.place({**ORDER, **extra}, f"mass-{sorted(extra)}"), 400, "VALIDATION_ERROR")
    assert set(extra) <= {d["field"] for d in error["details"]}
    assert (snapshot(alice), snapshot(mallory)) == before


@pytest.mark.parametrize(
    ("path", "body", "extra"),
    [
        ("/api/auth/register", {"email": "EMAIL", "password": PASSWORD}, {"cash": "1000000000"}),
        ("/api/auth/register", {"email": "EMAIL", "password": PASSWORD}, {"passwordHash": "$argon2id$v=19$x"}),
        ("/api/auth/register", {"email": "EMAIL", "password": PASSWORD}, {"id": "SELF"}),
        ("/api/auth/password", {"currentPassword": PASSWORD, "newPassword": "a new password"}, {"userId": "SELF"}),
        ("/api/alerts", {"symbol": "AAPL", "condition": "above", "price": "1"}, {"status": "triggered"}),
        ("/api/alerts", {"symbol": "AAPL", "condition": "above", "price": "1"}, {"userId": "SELF"}),
    ],
)
def test_other_bodies_refuse_fields_a_client_may_not_set(app_url, alice, mallory, path, body, extra):
    email = random_email()
    body = {k: (email if v == "EMAIL" else v) for k, v in body.items()}
    extra = {k: (alice.id if v == "SELF" else v) for k, v in extra.items()}
    before = snapshot(alice), snapshot(mallory)
    error = refused(mallory.call("POST", path, json={**body, **extra}), 400, "VALIDATION_ERROR")
    assert set(extra) <= {d["field"] for d in error["details"]}
    # Nothing was applied: no account, no alert, no order, the passwords as they were (the session still lives).
    assert (snapshot(alice), snapshot(mallory)) == before
    if path == "/api/auth/register":
        assert httpx.post(f"{app_url}/api/auth/login", json={"email": email, "password": PASSWORD}).status_code == 401
    assert mallory.call("GET", "/api/auth/me").status_code == 200


@pytest.mark.parametrize("limit", ["0", "501", "-1", "100000000000000000000"])
def test_order_pages_are_capped(mallory, limit):
    refused(mallory.call("GET", "/api/orders", params={"limit": limit}), 400, "VALIDATION_ERROR")
    assert mallory.call("GET", "/api/orders", params={"limit": "500"}).status_code == 200


def test_a_quote_request_names_a_bounded_number_of_symbols(app_url):
    refused(httpx.get(f"{app_url}/api/quotes", params={"symbols": ",".join(["AAPL"] * 500)}), 400, "VALIDATION_ERROR")


def test_a_user_has_a_bounded_number_of_active_alerts(app_url):
    client = Client(app_url)
    body = {"symbol": "AAPL", "condition": "above", "price": "99999"}
    with ThreadPoolExecutor(4) as pool:
        created = list(pool.map(lambda _: client.call("POST", "/api/alerts", json=body), range(alerts.MAX_ACTIVE)))
    assert {r.status_code for r in created} == {201}
    refused(client.call("POST", "/api/alerts", json=body), 400, "VALIDATION_ERROR")
    assert len(client.call("GET", "/api/alerts").json()["alerts"]) == alerts.MAX_ACTIVE
