"""SIGKILL the instance that leads: the survivor takes over the market feed and the execution engine within
10 s, quotes keep flowing, a limit order resting from before the kill still fills, and the dead instance's
browsers land on the survivor, still logged in."""

import time
import uuid
from decimal import Decimal

import httpx
import orjson
from playwright.async_api import expect
from websockets.asyncio.client import connect

from tests.scaleout.conftest import LEADER_ROLES
from tests.scaleout.test_one_site import serving_instance, sign_up_in_browser, socket_is_live
from tests.support.api import wait_until
from tests.support.factories import quote
from tests.support.ws import Tape, receive_type, sign_up, ws_url

TAKEOVER_LIMIT = 10.0  # seconds


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def test_killing_the_leader_hands_both_roles_to_the_survivor(site, page):
    a = site.instances["a"]
    assert site.roles("a") >= LEADER_ROLES
    assert not site.roles("b") & LEADER_ROLES

    _user_id, token = sign_up(site.url)
    auth = {"Authorization": f"Bearer {token}"}
    ask = Decimal(str(httpx.get(f"{site.url}/api/quotes?symbols=MSFT").json()["quotes"][0]["ask"]))
    limit = (ask * Decimal("0.9")).quantize(Decimal("0.01"))
    body = {"symbol": "MSFT", "side": "buy", "orderType": "limit", "quantity": "2", "limitPrice": str(limit)}
    placed = httpx.post(f"{site.url}/api/orders", json=body, headers={**auth, "X-Idempotency-Key": str(uuid.uuid4())})
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["order"]["id"]
    assert placed.json()["order"]["status"] == "pending"

    routed_to_a = site.route_cookie_for("a")
    cookies = [{"name": name, "value": value, "url": site.url} for name, value in routed_to_a.items()]
    await page.context.add_cookies(cookies)
    await sign_up_in_browser(page, site.url)
    await socket_is_live(page)
    assert await serving_instance(page, site.url) == "a"
    await page.evaluate("window.renderedByTheDeadInstance = true")

    a.process.kill()  # SIGKILL: no release of the locks, no goodbye
    killed_at, killed_ms = time.monotonic(), now_ms()
    wait_until(lambda: site.roles("b") >= LEADER_ROLES, "b to take over", timeout=TAKEOVER_LIMIT, every=0.05)
    takeover = time.monotonic() - killed_at
    print(f"\nboth leader roles taken over {takeover:.2f} s after SIGKILL")
    assert a.process.wait(timeout=5) == -9

    # Browsers that were on `a` now reach `b`, still logged in (sessions are in PostgreSQL and Redis).
    on_a = {"Cookie": "; ".join(f"{k}={v}" for k, v in routed_to_a.items())}
    health = httpx.get(f"{site.url}/api/health", headers=on_a)
    assert health.status_code == 200
    assert health.json()["instance"] == "b"
    assert health.json()["status"] == "ok"
    # Its page noticed, loaded itself again from `b` and is live there, still logged in.
    await page.wait_for_function("window.renderedByTheDeadInstance === undefined", timeout=20_000)
    await socket_is_live(page)
    assert await serving_instance(page, site.url) == "b"
    await expect(page.get_by_test_id("cash")).to_have_text("$100,000.00")
    async with connect(ws_url(site.url)) as ws:
        await receive_type(ws, "connected")
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        await ws.send('{"type":"subscribe_all"}')

        async def fresh_quotes() -> list:  # quotes of the new feed: stamped after the old one died
            batch = await receive_type(ws, "quote_batch")
            return [q for q in batch["data"] if q["timestamp"] > killed_ms]

        for _ in range(50):
            if await fresh_quotes():
                break
        else:
            raise AssertionError("no quote from the new market feed")

        # The market reaches the resting order: the new execution engine, which rebuilt its book from the
        # database when it took over, fills it.
        tape = Tape(site.database_url)
        try:
            await tape.publish(quote("MSFT", str(limit), bid=str(limit - Decimal("0.02")), ask=str(limit)))
        finally:
            await tape.close()
        update = await receive_type(ws, "order_update", timeout=10)
        assert update["data"]["id"] == order_id
        assert update["data"]["status"] == "filled"
        assert Decimal(str(update["data"]["avgFillPrice"])) == limit
    order = httpx.get(f"{site.url}/api/orders/{order_id}", headers={**auth, **on_a}).json()["order"]
    assert order["status"] == "filled"
