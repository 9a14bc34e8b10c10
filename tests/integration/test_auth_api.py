"""Every row of the contract's auth table, on PostgreSQL + Redis and on the embedded default."""

import uuid
from datetime import datetime, timedelta

import pytest
import redis
from sqlmodel import select

from models.user import LoginSession
from services import runtime
from services.identity import auth
from services.infra.db import session_scope
from services.trading import accounts
from tests.support.factories import PASSWORD, random_email


def register(api, email=None, password=PASSWORD, **extra):
    return api.post("/api/auth/register", json={"email": email or random_email(), "password": password, **extra})


def login(api, email, password=PASSWORD):
    return api.post("/api/auth/login", json={"email": email, "password": password})


def signed_up(api) -> tuple[str, str]:
    email = random_email()
    assert register(api, email).status_code == 201
    response = login(api, email)
    assert response.status_code == 200
    return email, response.json()["token"]


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_register_returns_the_user_and_funds_the_account(api, started):
    email = random_email()
    response = register(api, email.upper(), displayName="Maid Marian")
    assert response.status_code == 201
    user = response.json()["user"]
    assert set(user) == {"id", "email", "displayName", "createdAt"}
    assert user["email"] == email and user["displayName"] == "Maid Marian"
    assert datetime.fromisoformat(user["createdAt"]).utcoffset() == timedelta(0)
    with session_scope(started.engine) as db:
        account = accounts.owned(db, user_id=uuid.UUID(user["id"]), account_id=None)
        balances = accounts.balances(db, account.id)
    assert balances.cash == started.settings.starting_cash and balances.buying_power == balances.cash


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com", "password": "short"}, "password"),
        ({"password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": PASSWORD, "isAdmin": True}, "isAdmin"),
        ({"email": 42, "password": PASSWORD}, "email"),
    ],
)
def test_register_rejects_bad_bodies_naming_the_field(api, body, field):
    error = assert_error(api.post("/api/auth/register", json=body), 400, "VALIDATION_ERROR")
    assert field in {d["field"] for d in error["details"]}


@pytest.mark.parametrize("raw", ["{bad json", "", "[]", "null", '"text"'])
def test_malformed_json_is_a_validation_error_not_a_crash(api, raw):
    response = api.post("/api/auth/register", content=raw, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "VALIDATION_ERROR")


def test_register_twice_is_email_taken_whatever_the_case(api):
    email = random_email()
    assert register(api, email).status_code == 201
    assert_error(register(api, email.upper()), 409, "EMAIL_TAKEN")


def test_login_returns_token_user_and_expiry(api):
    email = random_email()
    register(api, email)
    response = login(api, email.upper())
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "user", "expiresAt"} and body["user"]["email"] == email
    expires_at = datetime.fromisoformat(body["expiresAt"])
    lifetime = expires_at - datetime.now(expires_at.tzinfo)
    assert timedelta(hours=23, minutes=59) < lifetime <= timedelta(hours=24)


def test_wrong_password_and_unknown_email_answer_identically(api):
    email = random_email()
    register(api, email)
    wrong = assert_error(login(api, email, "wrong password"), 401, "INVALID_CREDENTIALS")
    unknown = assert_error(login(api, random_email(), "wrong password"), 401, "INVALID_CREDENTIALS")
    assert wrong == unknown


def test_repeated_failures_are_rate_limited_with_retry_after(api):
    email = random_email()
    register(api, email)
    for _ in range(5):
        assert_error(login(api, email, "wrong password"), 401, "INVALID_CREDENTIALS")
    response = login(api, email, "wrong password")
    assert_error(response, 429, "RATE_LIMITED")
    assert 0 < int(response.headers["Retry-After"]) <= auth.LOGIN_WINDOW


def test_me_returns_the_user_of_the_token(api):
    email, token = signed_up(api)
    response = api.get("/api/auth/me", headers=bearer(token))
    assert response.status_code == 200 and response.json()["user"]["email"] == email


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}],
)
def test_me_without_a_valid_token_is_unauthorized(api, headers):
    assert_error(api.get("/api/auth/me", headers=headers), 401, "UNAUTHORIZED")


def test_logout_kills_the_token(api):
    _, token = signed_up(api)
    response = api.post("/api/auth/logout", headers=bearer(token))
    assert response.status_code == 204 and response.content == b""
    assert_error(api.get("/api/auth/me", headers=bearer(token)), 401, "UNAUTHORIZED")
    assert_error(api.post("/api/auth/logout", headers=bearer(token)), 401, "UNAUTHORIZED")


def test_a_user_keeps_a_bounded_number_of_sessions_the_oldest_ending_first(api, monkeypatch):
    monkeypatch.setattr(auth, "MAX_SESSIONS", 2)
    email, oldest = signed_up(api)
    newer = [login(api, email).json()["token"] for _ in range(2)]
    assert_error(api.get("/api/auth/me", headers=bearer(oldest)), 401, "UNAUTHORIZED")
    assert all(api.get("/api/auth/me", headers=bearer(token)).status_code == 200 for token in newer)
    assert len(api.get("/api/auth/sessions", headers=bearer(newer[-1])).json()["sessions"]) == 2


def test_logout_without_a_token_is_unauthorized(api):
    assert_error(api.post("/api/auth/logout"), 401, "UNAUTHORIZED")


def test_expired_session_is_unauthorized(api, started):
    _, token = signed_up(api)
    digest = auth.token_hash(token)
    with session_scope(started.engine) as db:
        row = db.get(LoginSession, digest)
        row.expires_at = datetime.now(row.expires_at.tzinfo) - timedelta(seconds=1)
        db.add(row)
        db.commit()
    started.cache.delete(f"session:{digest}")
    assert_error(api.get("/api/auth/me", headers=bearer(token)), 401, "UNAUTHORIZED")


def test_database_keeps_only_token_hashes(api, started):
    _, token = signed_up(api)
    with session_scope(started.engine) as db:
        hashes = db.exec(select(LoginSession.token_hash)).all()
    assert auth.token_hash(token) in hashes and token not in hashes


def test_sessions_are_cached_in_redis_for_an_hour(api, started):
    if not started.settings.redis_url:
        pytest.skip("the embedded default has no Redis")
    _, token = signed_up(api)
    client = redis.Redis.from_url(started.settings.redis_url)
    key = started.settings.redis_namespace() + f"session:{auth.token_hash(token)}"
    assert 3500 < client.ttl(key) <= 3600
    client.delete(key)  # Redis lost it: the database still vouches for the session, and the cache is refilled
    assert api.get("/api/auth/me", headers=bearer(token)).status_code == 200
    assert 3500 < client.ttl(key) <= 3600
    client.close()


def test_unknown_api_paths_and_methods_use_the_error_shape(api):
    assert_error(api.get("/api/no/such/thing"), 404, "NOT_FOUND")
    assert_error(api.delete("/api/auth/me"), 405, "METHOD_NOT_ALLOWED")


def test_openapi_documents_the_auth_endpoints_and_error_shape(api):
    spec = api.get("/openapi.json").json()
    for path, method, statuses in [
        ("/api/auth/register", "post", {"201", "400", "409"}),
        ("/api/auth/login", "post", {"200", "401", "429"}),
        ("/api/auth/logout", "post", {"204", "401"}),
        ("/api/auth/me", "get", {"200", "401"}),
        ("/api/auth/logout-all", "post", {"204", "401"}),
        ("/api/auth/sessions", "get", {"200", "401"}),
        ("/api/auth/sessions/{session_id}", "delete", {"204", "401", "404"}),
        ("/api/auth/password", "post", {"204", "400", "401", "429"}),
    ]:
        operation = spec["paths"][path][method]
        assert statuses <= set(operation["responses"]), (path, operation["responses"].keys())
    assert "ErrorResponse" in spec["components"]["schemas"]


def test_runtime_under_test_is_the_one_serving(api, started):
    assert runtime.current() is started
