"""The general API quota (API_RATE_LIMIT) and the order placement quota (ORDER_RATE_LIMIT), on real app processes.

Injected: calls past small quotas, split over two instances sharing PostgreSQL and Redis, from several client
addresses (X-Forwarded-For, which uvicorn trusts from 127.0.0.1), and with Redis stopped under the app.
Checked: 429 RATE_LIMITED in the error shape with Retry-After and X-RateLimit-* headers, counts that agree
across instances, in-process counting on the embedded default, and no 5xx when the counter store is gone.
"""

import uuid

import httpx
import pytest

from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import PASSWORD, random_email
from tests.support.private_servers import private_redis
from tests.support.server import running_app

LIMIT = 6


@pytest.fixture
def postgres_url():
    """A database, and so a Redis namespace, of each test's own: counts left by other tests on the session's
    database (every test client calls from 127.0.0.1) would use up the small quotas here."""
    with fresh_postgres("quota") as url:
        yield url


def sign_up(base_url: str, address: str) -> dict[str, str]:
    """Authorization headers of a new user, registered from `address`."""
    email = random_email()
    body = {"email": email, "password": PASSWORD}
    forwarded = {"X-Forwarded-For": address}
    assert httpx.post(f"{base_url}/api/auth/register", json=body, headers=forwarded).status_code == 201
    token = httpx.post(f"{base_url}/api/auth/login", json=body, headers=forwarded).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def quota(response: httpx.Response) -> tuple[int, int, int]:
    headers = response.headers
    return int(headers["X-RateLimit-Limit"]), int(headers["X-RateLimit-Remaining"]), int(headers["X-RateLimit-Reset"])


def assert_limited(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "RATE_LIMITED" and error["message"]
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60
    assert quota(response) == (limit, 0, retry_after)


def test_a_users_calls_count_once_across_instances(postgres_url, tmp_path):
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "API_RATE_LIMIT": str(LIMIT)}
    with running_app(tmp_path / "a.log", **env) as a, running_app(tmp_path / "b.log", **env) as b:
        headers = sign_up(a, "10.1.0.1")
        seen = []
        for i in range(LIMIT):  # alternating instances: one shared count
            response = httpx.get(f"{(a, b)[i % 2]}/api/auth/me", headers=headers)
            assert response.status_code == 200, response.text
            seen.append(quota(response))
        assert [remaining for _, remaining, _ in seen] == list(range(LIMIT - 1, -1, -1))
        assert all(limit == LIMIT and 0 < reset <= 60 for limit, _, reset in seen)
        assert_limited(httpx.get(f"{a}/api/portfolio", headers=headers), LIMIT)
        assert_limited(httpx.get(f"{b}/api/orders", headers=headers), LIMIT)

        # Another user, even from the same address, has a quota of their own.
        other = sign_up(b, "10.1.0.1")
        assert httpx.get(f"{a}/api/auth/me", headers=other).status_code == 200


def test_an_api_keys_calls_count_against_its_users_quota(postgres_url, tmp_path):
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "API_RATE_LIMIT": str(LIMIT)}
    with running_app(tmp_path / "app.log", **env) as url:
        session = sign_up(url, "10.6.0.1")
        creating = httpx.post(f"{url}/api/keys", json={"name": "bot"}, headers=session)
        assert quota(creating)[1] == LIMIT - 1  # the user's first call
        created = creating.json()
        key = {"APCA-API-KEY-ID": created["key"]["keyId"], "APCA-API-SECRET-KEY": created["secret"]}
        # The key's first call, before the cache knows it, counts against its address, like a made-up key.
        first = httpx.get(f"{url}/api/orders", headers={**key, "X-Forwarded-For": "10.6.0.2"})
        assert first.status_code == 200 and quota(first)[1] == LIMIT - 1
        remaining = []
        for i in range(LIMIT - 1):  # from now on the key and the session share one count
            response = httpx.get(f"{url}/api/orders", headers=(key, session)[i % 2])
            assert response.status_code == 200, response.text
            remaining.append(quota(response)[1])
        assert remaining == list(range(LIMIT - 2, -1, -1))
        assert_limited(httpx.get(f"{url}/api/portfolio", headers=key), LIMIT)
        assert_limited(httpx.get(f"{url}/api/portfolio", headers=session), LIMIT)


def test_anonymous_calls_count_per_address_and_made_up_tokens_do_not_escape(postgres_url, tmp_path):
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "API_RATE_LIMIT": str(LIMIT)}
    with running_app(tmp_path / "app.log", **env) as url:
        crowded = {"X-Forwarded-For": "10.2.0.1"}
        for i in range(LIMIT):
            # A made-up token is nobody's session: it counts against its address like no token at all.
            fake = {"Authorization": f"Bearer {uuid.uuid4()}"} if i % 2 else {}
            response = httpx.get(f"{url}/api/symbols", headers={**crowded, **fake})
            assert response.status_code == 200 and quota(response)[1] == LIMIT - 1 - i
        assert_limited(httpx.get(f"{url}/api/symbols", headers=crowded), LIMIT)
        assert_limited(httpx.get(f"{url}/api/symbols", headers={**crowded, "Authorization": "Bearer x"}), LIMIT)
        assert httpx.get(f"{url}/api/symbols", headers={"X-Forwarded-For": "10.2.0.2"}).status_code == 200
        # Pages and their assets are not API calls.
        assert httpx.get(f"{url}/login", headers=crowded).status_code == 200


def test_the_embedded_default_counts_in_process(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'sherwood.db'}", "API_RATE_LIMIT": str(LIMIT)}
    with running_app(tmp_path / "app.log", **env) as url:
        headers = sign_up(url, "10.3.0.1")
        for _ in range(LIMIT):
            assert httpx.get(f"{url}/api/watchlist", headers=headers).status_code == 200
        assert_limited(httpx.get(f"{url}/api/watchlist", headers=headers), LIMIT)


def test_order_placements_carry_their_own_quota(postgres_url, tmp_path):
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "ORDER_RATE_LIMIT": "3", "API_RATE_LIMIT": "100"}
    order = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "1", "limitPrice": "1.00"}
    with running_app(tmp_path / "app.log", **env) as url:
        headers = sign_up(url, "10.4.0.1")

        def place(key: str, **changes) -> httpx.Response:
            return httpx.post(
                f"{url}/api/orders", json={**order, **changes}, headers={**headers, "X-Idempotency-Key": key}
            )

        placed = [place(f"k{i}") for i in range(3)]
        assert [r.status_code for r in placed] == [201, 201, 201]
        assert [quota(r)[:2] for r in placed] == [(3, 2), (3, 1), (3, 0)]
        replay = place("k0")
        assert replay.headers["Idempotent-Replayed"] == "true" and quota(replay)[:2] == (3, 0)
        assert_limited(place("k3"), 3)
        # A placement refused by a rule still counted, and says so with the same headers.
        refused = place("k4", symbol="ZZZZZ")
        assert_limited(refused, 3)
        # Other calls show the general quota.
        assert quota(httpx.get(f"{url}/api/orders", headers=headers))[0] == 100


def test_redis_down_lets_calls_through_with_a_log_line(tmp_path):
    with private_redis() as redis_server:
        env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'sherwood.db'}", "REDIS_URL": redis_server.url}
        with running_app(tmp_path / "app.log", API_RATE_LIMIT="3", **env) as url:
            client = {"X-Forwarded-For": "10.5.0.1"}  # not the address start-up's readiness probe used
            for _ in range(3):
                assert httpx.get(f"{url}/api/symbols", headers=client).status_code == 200
            assert httpx.get(f"{url}/api/symbols", headers=client).status_code == 429
            redis_server.stop()
            answers = [httpx.get(f"{url}/api/symbols", headers=client, timeout=10) for _ in range(5)]
            assert [r.status_code for r in answers] == [200] * 5, [r.text for r in answers]
        log = (tmp_path / "app.log").read_text()
        assert "rate counter failed, allowing" in log


def test_zero_turns_the_quota_off(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'sherwood.db'}", "API_RATE_LIMIT": "0"}
    with running_app(tmp_path / "app.log", **env) as url:
        response = httpx.get(f"{url}/api/symbols")
        assert response.status_code == 200 and "X-RateLimit-Limit" not in response.headers
