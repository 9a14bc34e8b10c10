"""Fault: an API key deleted on one instance while Redis is stopped (a private redis-server), so the `key_revoked`
word cannot reach the other instance's sockets over the bus."""

import asyncio
import time
import uuid

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from services.trading.api_keys import RECHECK_EVERY
from tests.faults.trading import assert_no_unhandled_errors
from tests.support.databases import fresh_postgres
from tests.support.private_servers import private_redis
from tests.support.server import started_app
from tests.support.ws import assert_closed_with, assert_open, receive, receive_type, sign_up, ws_url

CLOSE_LIMIT = 10.0  # seconds the contract gives another instance to close a deleted key's sockets during an outage
RECOVERY_LIMIT = 10.0  # seconds after Redis returns by which B hears the bus again


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_key(base: str, token: str) -> tuple[str, dict[str, str]]:
    """A new key's id and its two headers."""
    response = httpx.post(f"{base}/api/keys", json={"name": "bot"}, headers=bearer(token))
    assert response.status_code == 201, response.text
    created = response.json()
    return created["key"]["id"], {"APCA-API-KEY-ID": created["key"]["keyId"], "APCA-API-SECRET-KEY": created["secret"]}


async def key_socket(base: str, headers: dict[str, str]) -> ClientConnection:
    ws = await connect(ws_url(base))
    assert (await receive(ws))["type"] == "connected"
    pair = {"type": "auth", "keyId": headers["APCA-API-KEY-ID"], "secret": headers["APCA-API-SECRET-KEY"]}
    await ws.send(orjson.dumps(pair).decode())
    assert await receive(ws) == {"type": "connected", "authenticated": True}
    return ws


def resting_order(base: str, headers: dict[str, str]) -> dict:
    """A buy limit far below any price: it rests (no quote needed), and its placement is one order_update."""
    body = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "1", "limitPrice": "1.00"}
    response = httpx.post(f"{base}/api/orders", json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 201, response.text
    return response.json()["order"]


async def closed_within(ws: ClientConnection, seconds: float) -> float:
    """Seconds until the server tells the socket its key is deleted and closes it with 4401."""
    started = time.monotonic()
    async with asyncio.timeout(seconds):
        told = await receive_type(ws, "error", timeout=seconds)
        assert told == {"type": "error", "code": "INVALID_TOKEN", "message": "The API key has been deleted."}, told
        await assert_closed_with(ws, 4401)
    return time.monotonic() - started


async def test_a_key_deleted_during_a_redis_outage_closes_its_sockets_on_the_other_instance(tmp_path):
    """Injected: two instances share a fresh PostgreSQL and a private Redis; a key's socket is open on B (and one
    of another key of the same user); Redis is stopped, the key is deleted through A, and Redis is started again
    empty.

    Checked while Redis is down: B's socket of the deleted key is told "The API key has been deleted." and closed
    with 4401 within 10 s (B re-checks its key sockets against PostgreSQL every RECHECK_EVERY s while its bus is
    down), and the other key's socket stays open; REST with the deleted key on B is 401 at once. Checked once Redis
    is back: B hears the bus again (an order placed on A reaches a new key's socket on B within 10 s), deleting that
    key through A once B's last re-check is over closes its socket on B through the bus (within RECHECK_EVERY), and
    no request or socket failed."""
    with fresh_postgres("keysoutage") as database_url, private_redis() as cache:
        env = {"DATABASE_URL": database_url, "REDIS_URL": cache.url, "API_RATE_LIMIT": "0"}
        with started_app(tmp_path / "a.log", **env) as a, started_app(tmp_path / "b.log", **env) as b:
            _, token = sign_up(a.url)
            doomed, headers = create_key(a.url, token)
            _, other_headers = create_key(a.url, token)
            assert httpx.get(f"{b.url}/api/portfolio", headers=headers).status_code == 200  # in B's cache now
            on_b, other_on_b = await key_socket(b.url, headers), await key_socket(b.url, other_headers)
            try:
                cache.stop()
                await assert_open(on_b)  # the outage alone closes nothing
                deleted = httpx.delete(f"{a.url}/api/keys/{doomed}", headers=bearer(token))
                assert deleted.status_code == 204, deleted.text
                refused = httpx.get(f"{b.url}/api/portfolio", headers=headers)
                assert refused.status_code == 401 and refused.json()["error"]["code"] == "UNAUTHORIZED", refused.text
                closed_after = await closed_within(on_b, CLOSE_LIMIT)
                await assert_open(other_on_b)  # a live key of the same user is left alone
                assert httpx.get(f"{b.url}/api/portfolio", headers=other_headers).status_code == 200

                cache.start()
                back = time.monotonic()
                fresh, fresh_headers = create_key(a.url, token)
                on_b_again = await key_socket(b.url, fresh_headers)
                try:
                    while True:  # until B has resubscribed: an update A publishes on Redis reaches B's socket
                        assert time.monotonic() - back < RECOVERY_LIMIT, "B did not hear the bus again"
                        placed = resting_order(a.url, fresh_headers)
                        try:
                            heard = await receive_type(on_b_again, "order_update", timeout=1)
                        except TimeoutError:
                            continue
                        assert heard["data"]["id"] == placed["id"]
                        break
                    hearing_after = time.monotonic() - back
                    # Past B's last re-check (the first tick after it resubscribed): from here only the bus can
                    # close a socket.
                    await asyncio.sleep(max(0.0, back + 2 * RECHECK_EVERY + 0.5 - time.monotonic()))
                    assert httpx.delete(f"{a.url}/api/keys/{fresh}", headers=bearer(token)).status_code == 204
                    bus_closed_after = await closed_within(on_b_again, RECHECK_EVERY - 0.5)
                finally:
                    await on_b_again.close()
            finally:
                await on_b.close()
                await other_on_b.close()
            assert_no_unhandled_errors(a.log(), b.log())
        print(
            f"\nduring the outage B closed the deleted key's socket in {closed_after:.2f} s; after Redis returned B"
            f" heard the bus in {hearing_after:.2f} s and closed a key deleted then in {bus_closed_after:.2f} s"
        )
