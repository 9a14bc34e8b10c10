"""No token, password or password hash in any log line: a real app process at DEBUG goes through sign-up, failed
and good logins, authenticated calls, an order, /ws with the token in the URL and in a message, a password change
and logout; then its whole log is searched for every secret it was shown."""

import hashlib

import httpx
import psycopg
from websockets.asyncio.client import connect

from tests.support.databases import REDIS_URL
from tests.support.factories import random_email
from tests.support.server import started_app
from tests.support.ws import receive, receive_type, ws_url

PASSWORD = "hunter2 but longer"
NEW_PASSWORD = "an even longer secret"
WRONG_PASSWORD = "a wrong guess of a password"


def password_hash(postgres_url: str, email: str) -> str:
    with psycopg.connect(postgres_url.replace("+psycopg", "", 1)) as db:
        return db.execute("SELECT password_hash FROM users WHERE email = %s", (email,)).fetchone()[0]


async def test_no_secret_reaches_the_log(postgres_url, tmp_path):
    email = random_email()
    secrets: dict[str, str] = {"password": PASSWORD, "new password": NEW_PASSWORD, "wrong password": WRONG_PASSWORD}
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "LOG_LEVEL": "DEBUG", "API_RATE_LIMIT": "0"}
    with started_app(tmp_path / "app.log", **env) as app:
        url = app.url
        credentials = {"email": email, "password": PASSWORD}
        assert httpx.post(f"{url}/api/auth/register", json=credentials).status_code == 201
        secrets["hash"] = password_hash(postgres_url, email)
        wrong = httpx.post(f"{url}/api/auth/login", json={"email": email, "password": WRONG_PASSWORD})
        assert wrong.status_code == 401
        tokens = [httpx.post(f"{url}/api/auth/login", json=credentials).json()["token"] for _ in range(3)]
        for i, token in enumerate(tokens):
            secrets[f"token {i}"] = token
            secrets[f"token hash {i}"] = hashlib.sha256(token.encode()).hexdigest()
        headers = {"Authorization": f"Bearer {tokens[0]}"}

        assert httpx.get(f"{url}/api/auth/me", headers=headers).status_code == 200
        order = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "1", "limitPrice": "1.00"}
        placed = httpx.post(f"{url}/api/orders", json=order, headers={**headers, "X-Idempotency-Key": "log-1"})
        assert placed.status_code == 201
        assert httpx.get(f"{url}/api/orders", headers=headers).status_code == 200
        assert httpx.get(f"{url}/api/auth/me", headers={"Authorization": f"Bearer {tokens[1]}x"}).status_code == 401

        async with connect(ws_url(url, tokens[1])) as by_query, connect(ws_url(url)) as by_message:
            assert (await receive(by_query))["authenticated"] is True
            await receive(by_message)
            await by_message.send(f'{{"type":"auth","token":"{tokens[2]}"}}')
            assert (await receive_type(by_message, "connected"))["authenticated"] is True
            change = {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD}
            assert httpx.post(f"{url}/api/auth/password", json=change, headers=headers).status_code == 204
            assert (await receive_type(by_query, "error"))["code"] == "INVALID_TOKEN"
        async with connect(ws_url(url, tokens[1] + "x")) as bad:
            await receive_type(bad, "error")
        secrets["new hash"] = password_hash(postgres_url, email)
        assert httpx.post(f"{url}/api/auth/logout", headers=headers).status_code == 204

    log = app.log()
    leaked = [name for name, secret in secrets.items() if secret in log]
    assert leaked == [], f"found in the log: {leaked}"
    assert "DEBUG" in log and "/ws?token=[redacted]" in log  # the log saw the requests, and the redaction worked
