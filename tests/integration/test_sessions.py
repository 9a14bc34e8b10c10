"""Sessions on two real app processes sharing PostgreSQL and Redis: every login a new token, listing and ending
sessions, "log out everywhere" and a password change, each felt at once by both instances and their /ws sockets."""

from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.support.databases import REDIS_URL
from tests.support.factories import PASSWORD, random_email
from tests.support.server import running_app
from tests.support.ws import assert_closed_with, assert_open, receive, receive_type, ws_url

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(scope="module")
def instances(postgres_url, tmp_path_factory) -> Iterator[tuple[str, str]]:
    logs = tmp_path_factory.mktemp("sessions")
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "API_RATE_LIMIT": "0"}
    with running_app(logs / "a.log", **env) as a, running_app(logs / "b.log", **env) as b:
        yield a, b


class Member:
    """One registered user and the tokens of their logins."""

    def __init__(self, base_url: str):
        self.email = random_email()
        self.password = PASSWORD
        assert httpx.post(f"{base_url}/api/auth/register", json=self.credentials()).status_code == 201

    def credentials(self, password: str | None = None) -> dict[str, str]:
        return {"email": self.email, "password": password or self.password}

    def log_in(self, base_url: str) -> str:
        response = httpx.post(f"{base_url}/api/auth/login", json=self.credentials())
        assert response.status_code == 200, response.text
        return response.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def alive(base_url: str, token: str) -> bool:
    status = httpx.get(f"{base_url}/api/auth/me", headers=bearer(token)).status_code
    assert status in (200, 401)
    return status == 200


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]["code"]


def sessions(base_url: str, token: str) -> list[dict]:
    response = httpx.get(f"{base_url}/api/auth/sessions", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()["sessions"]


def test_every_login_is_a_new_session_listed_with_the_current_one_marked(instances):
    a, b = instances
    member = Member(a)
    first, second = member.log_in(a), member.log_in(b)
    assert first != second and alive(a, first) and alive(a, second)
    listed = sessions(b, second)
    assert len(listed) == 2 and [s["current"] for s in listed] == [True, False]  # newest first
    assert set(listed[0]) == {"id", "createdAt", "expiresAt", "current", "browser", "address"}
    assert first not in str(listed) and second not in str(listed)


async def test_logging_out_everywhere_kills_every_token_and_socket_on_every_instance(instances):
    a, b = instances
    member = Member(a)
    caller, by_query, by_message = member.log_in(a), member.log_in(b), member.log_in(a)
    bystander = Member(a).log_in(b)
    async with (
        connect(ws_url(b, by_query)) as ws_query,
        connect(ws_url(a)) as ws_message,
        connect(ws_url(b, bystander)) as ws_bystander,
    ):
        assert (await receive(ws_query))["authenticated"] is True
        assert (await receive(ws_message))["authenticated"] is False
        await ws_message.send(f'{{"type":"auth","token":"{by_message}"}}')
        assert (await receive_type(ws_message, "connected"))["authenticated"] is True
        await receive(ws_bystander)

        response = httpx.post(f"{a}/api/auth/logout-all", headers=bearer(caller))
        assert response.status_code == 204 and response.content == b""

        for ws in (ws_query, ws_message):
            assert (await receive_type(ws, "error"))["code"] == "INVALID_TOKEN"
            await assert_closed_with(ws, 4401)
        await assert_open(ws_bystander)
    for token in (caller, by_query, by_message):
        assert not alive(a, token) and not alive(b, token)
    assert alive(a, bystander)
    assert error_of(httpx.post(f"{b}/api/auth/logout-all", headers=bearer(caller)), 401) == "UNAUTHORIZED"


def test_one_session_can_be_ended_by_its_id_and_only_by_its_owner(instances):
    a, b = instances
    member, stranger = Member(a), Member(a)
    keep, end = member.log_in(a), member.log_in(b)
    strangers_token = stranger.log_in(a)
    target = next(s["id"] for s in sessions(a, end) if s["current"])

    refused = httpx.delete(f"{a}/api/auth/sessions/{target}", headers=bearer(strangers_token))
    assert error_of(refused, 404) == "SESSION_NOT_FOUND" and alive(b, end)
    made_up = httpx.delete(f"{a}/api/auth/sessions/{'0' * 32}", headers=bearer(keep))
    assert error_of(made_up, 404) == "SESSION_NOT_FOUND"

    assert httpx.delete(f"{a}/api/auth/sessions/{target}", headers=bearer(keep)).status_code == 204
    assert not alive(b, end) and alive(b, keep)
    assert [s["current"] for s in sessions(b, keep)] == [True]


async def test_a_password_change_rechecks_the_password_and_ends_every_other_session(instances):
    a, b = instances
    member = Member(a)
    current, other = member.log_in(a), member.log_in(b)
    url = f"{a}/api/auth/password"

    guess = {"currentPassword": "not it at all", "newPassword": NEW_PASSWORD}
    wrong = httpx.post(url, json=guess, headers=bearer(current))
    assert error_of(wrong, 401) == "INVALID_CREDENTIALS"
    short = httpx.post(url, json={"currentPassword": PASSWORD, "newPassword": "short"}, headers=bearer(current))
    assert error_of(short, 400) == "VALIDATION_ERROR"
    same = httpx.post(url, json={"currentPassword": PASSWORD, "newPassword": PASSWORD}, headers=bearer(current))
    assert error_of(same, 400) == "VALIDATION_ERROR"
    anonymous = httpx.post(url, json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})
    assert error_of(anonymous, 401) == "UNAUTHORIZED"
    assert alive(b, other) and httpx.post(f"{b}/api/auth/login", json=member.credentials()).status_code == 200

    async with connect(ws_url(b, other)) as ws_other, connect(ws_url(a, current)) as ws_current:
        await receive(ws_other)
        await receive(ws_current)
        body = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
        changed = httpx.post(url, json=body, headers=bearer(current))
        assert changed.status_code == 204, changed.text
        assert (await receive_type(ws_other, "error"))["code"] == "INVALID_TOKEN"
        await assert_closed_with(ws_other, 4401)
        await assert_open(ws_current)  # the session that changed the password stays signed in

    assert alive(a, current) and alive(b, current) and not alive(a, other)
    assert [s["current"] for s in sessions(b, current)] == [True]
    old = httpx.post(f"{b}/api/auth/login", json=member.credentials())
    assert error_of(old, 401) == "INVALID_CREDENTIALS"
    assert httpx.post(f"{b}/api/auth/login", json=member.credentials(NEW_PASSWORD)).status_code == 200


def test_guessing_the_current_password_is_limited_without_locking_the_owner_out(instances):
    a, _ = instances
    member = Member(a)
    token = member.log_in(a)
    url = f"{a}/api/auth/password"
    for _ in range(5):
        body = {"currentPassword": "a wrong guess", "newPassword": NEW_PASSWORD}
        assert error_of(httpx.post(url, json=body, headers=bearer(token)), 401) == "INVALID_CREDENTIALS"
    limited = httpx.post(url, json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}, headers=bearer(token))
    assert error_of(limited, 429) == "RATE_LIMITED" and int(limited.headers["Retry-After"]) > 0
    assert httpx.post(f"{a}/api/auth/login", json=member.credentials()).status_code == 200
