"""Two app processes on one PostgreSQL and one Redis agree about sessions."""

import httpx

from tests.support.databases import REDIS_URL
from tests.support.factories import PASSWORD, random_email
from tests.support.server import running_app


def test_a_token_logged_out_on_one_instance_is_dead_on_the_other(postgres_url, tmp_path):
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL}
    with running_app(tmp_path / "a.log", **env) as a, running_app(tmp_path / "b.log", **env) as b:
        email = random_email()
        assert httpx.post(f"{a}/api/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
        token = httpx.post(f"{b}/api/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{a}/api/auth/me", headers=headers).json()["user"]["email"] == email
        assert httpx.get(f"{b}/api/auth/me", headers=headers).status_code == 200

        assert httpx.post(f"{a}/api/auth/logout", headers=headers).status_code == 204
        assert httpx.get(f"{b}/api/auth/me", headers=headers).status_code == 401
        assert httpx.get(f"{a}/api/auth/me", headers=headers).status_code == 401
