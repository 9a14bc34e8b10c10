"""`POST /api/auth/refresh` on PostgreSQL + Redis and on the embedded default: a new token living 24 h from now, the
old one dead at once (cache, database and its sockets' bus), a chain that ends 30 days after its login, 401
otherwise; and the sessions list names each session's browser and address."""

from datetime import datetime, timedelta

from models.types import utcnow
from models.user import LoginSession
from services.identity import auth
from services.infra.db import session_scope
from tests.support.api import wait_until
from tests.support.factories import PASSWORD, random_email

CHROME_ON_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def logged_in(api, user_agent: str = CHROME_ON_LINUX) -> str:
    email = random_email()
    assert api.post("/api/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
    response = api.post(
        "/api/auth/login", json={"email": email, "password": PASSWORD}, headers={"User-Agent": user_agent}
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def error_code(response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]["code"]


def move_chain_start(started, token: str, by: timedelta) -> None:
    """Pretend the login that began this token's chain happened `by` earlier."""
    with session_scope(started.engine) as db:
        row = db.get(LoginSession, auth.token_hash(token))
        row.created_at -= by
        db.add(row)
        db.commit()


def test_refresh_gives_a_token_living_24_hours_and_ends_the_old_one_at_once(api, started):
    old = logged_in(api)
    before = utcnow()
    response = api.post("/api/auth/refresh", headers=bearer(old))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "user", "expiresAt"} and body["token"] != old
    expires = datetime.fromisoformat(body["expiresAt"])
    assert before + auth.SESSION_LIFETIME <= expires <= utcnow() + auth.SESSION_LIFETIME
    assert api.get("/api/auth/me", headers=bearer(body["token"])).json()["user"] == body["user"]
    # The old token is dead for every call, the cache included, and may not be refreshed a second time.
    assert error_code(api.get("/api/auth/me", headers=bearer(old)), 401) == "UNAUTHORIZED"
    assert error_code(api.post("/api/auth/refresh", headers=bearer(old)), 401) == "UNAUTHORIZED"
    assert started.cache.get(f"session:{auth.token_hash(old)}") is None


class Connection:
    """A live connection of the old token, as a socket or an open page registers with the event hub."""

    def __init__(self):
        self.revoked = False

    def deliver(self, message: bytes) -> None:
        pass

    def revoke(self) -> None:
        self.revoked = True


def test_refresh_closes_the_old_tokens_connections_through_the_bus(api, started):
    old = logged_in(api)
    connection = Connection()
    started.events.register(connection, auth.token_hash(old))
    try:
        assert api.post("/api/auth/refresh", headers=bearer(old)).status_code == 200
        wait_until(lambda: connection.revoked, "the old token's connection to be ended")
    finally:
        started.events.unregister(connection)


def test_a_chain_of_refreshes_ends_30_days_after_its_login(api, started):
    token = logged_in(api)
    move_chain_start(started, token, auth.CHAIN_LIFETIME - timedelta(hours=1))  # an hour left of the 30 days
    response = api.post("/api/auth/refresh", headers=bearer(token))
    assert response.status_code == 200
    renewed = response.json()["token"]
    with session_scope(started.engine) as db:
        row = db.get(LoginSession, auth.token_hash(renewed))
    assert row.expires_at == row.created_at + auth.CHAIN_LIFETIME  # not 24 h: the chain's end
    assert timedelta(minutes=59) < row.expires_at - utcnow() <= timedelta(hours=1)

    move_chain_start(started, renewed, timedelta(hours=1))  # now the 30 days are up
    assert error_code(api.post("/api/auth/refresh", headers=bearer(renewed)), 401) == "UNAUTHORIZED"


def test_a_refreshed_session_keeps_its_chain_and_its_browser(api, started):
    token = logged_in(api)
    with session_scope(started.engine) as db:
        first = db.get(LoginSession, auth.token_hash(token))
    renewed = api.post("/api/auth/refresh", headers=bearer(token)).json()["token"]
    with session_scope(started.engine) as db:
        second = db.get(LoginSession, auth.token_hash(renewed))
    assert second.created_at == first.created_at
    assert (second.user_agent, second.client_address) == (first.user_agent, first.client_address)


def test_refresh_without_a_live_token_is_unauthorized(api):
    assert error_code(api.post("/api/auth/refresh"), 401) == "UNAUTHORIZED"
    assert error_code(api.post("/api/auth/refresh", headers=bearer("nonsense")), 401) == "UNAUTHORIZED"
    token = logged_in(api)
    assert api.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    assert error_code(api.post("/api/auth/refresh", headers=bearer(token)), 401) == "UNAUTHORIZED"


def test_sessions_name_their_browser_and_address(api):
    token = logged_in(api)
    listed = api.get("/api/auth/sessions", headers=bearer(token)).json()["sessions"]
    assert [(s["browser"], s["address"]) for s in listed] == [("Chrome on Linux", "testclient")]


def test_openapi_documents_refresh(api):
    operation = api.get("/openapi.json").json()["paths"]["/api/auth/refresh"]["post"]
    assert {"200", "401"} <= set(operation["responses"])


def test_renew_leaves_the_old_token_to_be_ended_by_its_holder(api, started):
    old = logged_in(api)
    with session_scope(started.engine) as db:
        renewed = auth.renew(db, started.cache, old)
    assert api.get("/api/auth/me", headers=bearer(renewed.token)).status_code == 200
    assert api.get("/api/auth/me", headers=bearer(old)).status_code == 200  # until the page that renewed ends it
    assert api.post("/api/auth/logout", headers=bearer(old)).status_code == 204
    assert api.get("/api/auth/me", headers=bearer(renewed.token)).status_code == 200
