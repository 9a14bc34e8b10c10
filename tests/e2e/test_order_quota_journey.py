"""A user near the placement limit is told by the order form how many orders are left and when the count starts
again; past it, the form says so in plain words (no error notice)."""

import re
import uuid

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import ORDER_RATE_LIMIT, expect_told
from tests.support.factories import PASSWORD, random_email


def place_by_api(app_url: str, token: str, count: int) -> None:
    for _ in range(count):
        response = httpx.post(
            f"{app_url}/api/orders",
            json={"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "1"},
            headers={"Authorization": f"Bearer {token}", "X-Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.text


async def buy_one(page) -> None:
    await page.get_by_test_id("amount").fill("1")
    await page.get_by_test_id("review").click()
    await page.get_by_test_id("submit-order").click()
    await expect(page.get_by_test_id("review-dialog")).to_be_hidden()


async def test_the_order_form_counts_down_the_last_orders_of_the_minute(page, app_url):
    email = random_email()
    credentials = {"email": email, "password": PASSWORD}
    assert httpx.post(f"{app_url}/api/auth/register", json=credentials).status_code == 201
    token = httpx.post(f"{app_url}/api/auth/login", json=credentials).json()["token"]
    await page.goto(f"{app_url}/login?redirect_to=/stock/AAPL")
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{app_url}/stock/AAPL")
    await expect(page.get_by_test_id("last-price")).to_have_text(re.compile(r"^\$\d"))

    place_by_api(app_url, token, ORDER_RATE_LIMIT - 4)  # the API and the browser count against one user
    await buy_one(page)
    await expect_told(page, "Order filled: buy 1 AAPL")
    await expect(page.get_by_test_id("order-quota")).to_have_text("")  # 3 left of 20: not yet near

    await buy_one(page)
    await expect_told(page, "Order filled: buy 1 AAPL")
    quota = page.get_by_test_id("order-quota")
    await expect(quota).to_have_text(re.compile(r"^2 orders left this minute; the count starts again in \d+ seconds\."))

    place_by_api(app_url, token, 2)
    await buy_one(page)
    await expect(quota).to_have_text(
        re.compile(
            rf"^You have placed the most orders allowed in a minute \({ORDER_RATE_LIMIT}\)\. "
            r"You can place orders again in \d+ seconds?\.$"
        )
    )
    await expect(page.get_by_test_id("order-error")).to_have_text("")
    await expect(page.get_by_test_id("amount")).to_have_value("1")  # kept, to send again once the minute is up
