"""An order placed through one instance shows up live on the other: in a browser page and on `/ws`."""

import uuid

import httpx
import orjson
from playwright.async_api import expect
from websockets.asyncio.client import connect

from tests.scaleout.test_one_site import serving_instance, sign_up_in_browser, socket_is_live
from tests.support.ws import receive, receive_type, ws_url


def login(base_url: str, email: str, password: str) -> str:
    response = httpx.post(f"{base_url}/api/auth/login", json={"email": email, "password": password}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["token"]


async def test_an_order_placed_on_one_instance_shows_live_in_the_page_and_on_ws_of_the_other(site, page):
    on_b = site.route_cookie_for("b")
    await page.context.add_cookies([{"name": name, "value": value, "url": site.url} for name, value in on_b.items()])
    email, password = await sign_up_in_browser(page, site.url)
    assert await serving_instance(page, site.url) == "b"
    await page.goto(f"{site.url}/orders")
    await socket_is_live(page)
    await expect(page.get_by_test_id("all-orders")).not_to_contain_text("AAPL")

    a = site.instances["a"].url
    token = login(a, email, password)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in on_b.items())}
    async with connect(ws_url(site.url), additional_headers=headers) as ws:  # through nginx, to b
        assert await receive(ws) == {"type": "connected", "authenticated": False}
        await ws.send(orjson.dumps({"type": "auth", "token": token}).decode())
        assert await receive(ws) == {"type": "connected", "authenticated": True}

        body = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "3", "limitPrice": "1.00"}
        placed = httpx.post(
            f"{a}/api/orders",
            json=body,
            headers={"Authorization": f"Bearer {token}", "X-Idempotency-Key": str(uuid.uuid4())},
            timeout=10,
        )
        assert placed.status_code == 201, placed.text
        order = placed.json()["order"]

        update = await receive_type(ws, "order_update")
        assert update["data"]["id"] == order["id"]
        assert update["data"]["status"] == "pending"
    orders_table = page.get_by_test_id("all-orders")
    await expect(orders_table).to_contain_text("AAPL", timeout=5_000)
    await expect(orders_table).to_contain_text("Pending")
