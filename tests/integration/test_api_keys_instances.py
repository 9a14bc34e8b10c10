"""API keys on two real app processes sharing PostgreSQL and Redis: a deleted key is dead on both at once, and a
`/ws` socket authenticated by a key hears its account's order updates only, no alerts, and closes when it dies."""

import uuid
from collections.abc import Iterator

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from services.infra.bus import RedisBus
from services.infra.event_hub import publish_user_event
from settings import load_settings
from tests.support.databases import REDIS_URL
from tests.support.server import running_app
from tests.support.ws import assert_closed_with, assert_open, receive, receive_type, sign_up, ws_url


@pytest.fixture(scope="module")
def instances(postgres_url, tmp_path_factory) -> Iterator[tuple[str, str]]:
    logs = tmp_path_factory.mktemp("keys")
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "API_RATE_LIMIT": "0"}
    with running_app(logs / "a.log", **env) as a, running_app(logs / "b.log", **env) as b:
        yield a, b


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_key(base_url: str, token: str, **body) -> tuple[str, dict[str, str]]:
    """A new key's id and its two headers."""
    response = httpx.post(f"{base_url}/api/keys", json={"name": "bot", **body}, headers=bearer(token))
    assert response.status_code == 201, response.text
    created = response.json()
    return created["key"]["id"], {"APCA-API-KEY-ID": created["key"]["keyId"], "APCA-API-SECRET-KEY": created["secret"]}


def auth_message(headers: dict[str, str]) -> str:
    return orjson.dumps(
        {"type": "auth", "keyId": headers["APCA-API-KEY-ID"], "secret": headers["APCA-API-SECRET-KEY"]}
    ).decode()


def rest_order(base_url: str, headers: dict[str, str]) -> dict:
    """A buy limit far below the market: it rests, so its placement is the one update it sends."""
    body = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "2", "limitPrice": "1.00"}
    response = httpx.post(
        f"{base_url}/api/orders", json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex}
    )
    assert response.status_code == 201, response.text
    return response.json()["order"]


def test_a_key_deleted_on_one_instance_is_dead_on_the_other_at_once(instances):
    a, b = instances
    _, token = sign_up(a)
    key, headers = create_key(a, token)
    assert httpx.get(f"{b}/api/portfolio", headers=headers).status_code == 200  # b has it cached now
    assert httpx.get(f"{a}/api/portfolio", headers=headers).status_code == 200
    assert httpx.delete(f"{a}/api/keys/{key}", headers=bearer(token)).status_code == 204
    for base_url in (b, a):
        response = httpx.get(f"{base_url}/api/portfolio", headers=headers)
        assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_a_keys_socket_hears_its_accounts_order_updates_only_and_no_alerts(instances, postgres_url):
    a, b = instances
    user, token = sign_up(a)
    bots = httpx.post(f"{a}/api/accounts", json={"name": "Bots"}, headers=bearer(token)).json()["account"]["id"]
    _, headers = create_key(a, token, accountId=bots)
    bus = RedisBus(REDIS_URL, load_settings(database_url=postgres_url).redis_namespace())
    async with connect(ws_url(b)) as by_key, connect(ws_url(b, token)) as by_session:
        assert await receive(by_key) == {"type": "connected", "authenticated": False}
        await by_key.send(auth_message(headers))
        assert await receive(by_key) == {"type": "connected", "authenticated": True}
        await receive(by_session)

        publish_user_event(bus, user, "alert", {"id": "a-1", "symbol": "AAPL", "status": "triggered"})
        in_default = rest_order(a, bearer(token))
        in_bots = rest_order(a, headers)
        assert in_bots["accountId"] == bots and in_default["accountId"] != bots

        # The session hears everything of its user; the key, its account's order alone.
        seen = [(await receive_type(by_session, kind))["data"]["id"] for kind in ("alert", "order_update")]
        assert seen[0] == "a-1" and seen[1] == in_default["id"]
        assert (await receive_type(by_session, "order_update"))["data"]["id"] == in_bots["id"]
        # By now instance b has handed every event to both sockets: the key's got its account's order alone.
        await by_key.send('{"type":"ping"}')
        heard = []
        while (message := await receive(by_key))["type"] != "pong":
            heard.append(message)
        assert [(m["type"], m["data"]["id"], m["data"]["accountId"]) for m in heard] == [
            ("order_update", in_bots["id"], bots)
        ]
    await bus.close()


async def test_a_deleted_keys_sockets_close_with_4401_on_every_instance(instances):
    a, b = instances
    _, token = sign_up(a)
    key, headers = create_key(a, token)
    _, other_headers = create_key(a, token)
    async with connect(ws_url(a)) as on_a, connect(ws_url(b)) as on_b, connect(ws_url(b)) as other:
        for ws, pair in ((on_a, headers), (on_b, headers), (other, other_headers)):
            await receive(ws)
            await ws.send(auth_message(pair))
            assert (await receive(ws))["authenticated"] is True
        assert httpx.delete(f"{a}/api/keys/{key}", headers=bearer(token)).status_code == 204
        for ws in (on_a, on_b):
            assert (await receive_type(ws, "error"))["code"] == "INVALID_TOKEN"
            await assert_closed_with(ws, 4401)
        await assert_open(other)  # another key of the same user lives on


async def test_a_wrong_key_pair_on_the_socket_is_refused_with_4401(instances):
    a, _ = instances
    async with connect(ws_url(a)) as ws:
        await receive(ws)
        await ws.send(orjson.dumps({"type": "auth", "keyId": "PK" + "0" * 18, "secret": "x" * 40}).decode())
        assert (await receive(ws))["code"] == "INVALID_TOKEN"
        await assert_closed_with(ws, 4401)
