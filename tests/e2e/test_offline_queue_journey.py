"""Orders submitted while the browser is offline wait in a queue on the page instead of being sent when the socket
comes back: a queued order can be canceled; the others go once the page is back, each exactly once under its key,
and one whose price moved more than 1 % meanwhile is sent only when the user says so again."""

from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.conftest import expect_told
from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import PASSWORD, random_email
from tests.support.private_servers import Ticker
from tests.support.server import running_app

OFFLINE_NOTE = "You're offline: orders you submit are queued and sent when you're back."


@pytest.fixture(scope="module")
def market(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    """An app whose prices the test sets (the ticker reads the dict), so that a price can move while offline."""
    prices = {"AAPL": "100.00"}
    log = tmp_path_factory.mktemp("e2e-offline") / "app.log"
    with fresh_postgres("e2e_offline") as database:
        env = {"DATABASE_URL": database, "REDIS_URL": REDIS_URL}
        with running_app(log, **env) as url, Ticker(REDIS_URL, database, prices, every=0.2):
            yield url, prices


def orders_of(url: str, token: str) -> list[dict]:
    response = httpx.get(f"{url}/api/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()["orders"]


async def queued_keys(page: Page) -> list[str]:
    return await page.evaluate(
        """() => Object.keys(localStorage).filter((name) => name.startsWith("sherwood.orderQueue."))
                  .flatMap((name) => JSON.parse(localStorage.getItem(name)).map((entry) => entry.key))"""
    )


async def sign_in_at_the_stock_page(page: Page, url: str) -> str:
    credentials = {"email": random_email(), "password": PASSWORD}
    assert httpx.post(f"{url}/api/auth/register", json=credentials).status_code == 201
    token = httpx.post(f"{url}/api/auth/login", json=credentials).json()["token"]
    await page.goto(f"{url}/login?redirect_to=/stock/AAPL")
    await page.get_by_test_id("email").fill(credentials["email"])
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{url}/stock/AAPL")
    await expect(page.get_by_test_id("last-price")).to_have_text("$100.00")
    await page.wait_for_function("window.did_handshake && window.socket.connected")  # the page is live
    return token


async def drop_connection(page: Page) -> None:
    """The network goes, and the page notices at once (as when the link resets): the server still holds the page's
    elements for a few seconds, so a click NiceGUI held back would reach them on reconnect."""
    await page.context.set_offline(True)
    await page.evaluate("window.socket.io.engine.close()")
    await page.wait_for_function("!window.socket.connected")


async def test_orders_submitted_offline_are_queued_then_sent_once_when_back(page, market):
    url, _prices = market
    token = await sign_in_at_the_stock_page(page, url)
    form, said = page.get_by_test_id("order-form"), page.get_by_test_id("queue-said")
    queued, review = page.get_by_test_id("queued-order"), page.get_by_test_id("review-dialog")

    # Reviewed online, submitted offline: queued, not sent.
    await page.get_by_test_id("amount").fill("1")
    await expect(page.get_by_test_id("estimate")).to_contain_text("Estimated cost")
    await page.get_by_test_id("review").click()
    await expect(review).to_be_visible()
    await expect(page.get_by_test_id("offline-note")).to_have_count(0)
    await drop_connection(page)
    await expect(form.get_by_test_id("offline-note")).to_have_text(OFFLINE_NOTE)
    await page.get_by_test_id("submit-order").click()
    await expect(said).to_have_text("Queued: Buy 1 share of AAPL · Market. It will be sent when you're back online.")
    await expect(review).to_be_hidden()
    await expect(queued).to_have_count(1)
    await expect(queued).to_contain_text("Queued")
    assert orders_of(url, token) == []

    await queued.get_by_test_id("queued-cancel").click()
    await expect(said).to_have_text("Canceled: Buy 1 share of AAPL · Market.")
    await expect(queued).to_have_count(0)

    # Typed and submitted offline (Enter in the amount): queued under a key of its own.
    await page.get_by_test_id("amount").fill("2")
    await page.get_by_test_id("amount").press("Enter")
    await expect(said).to_have_text("Queued: Buy 2 shares of AAPL · Market. It will be sent when you're back online.")
    await expect(queued).to_have_count(1)
    await page.get_by_test_id("review").click()  # the same order again is not queued twice
    await expect(said).to_have_text("This order is queued already.")
    await expect(queued).to_have_count(1)
    [key] = await queued_keys(page)
    assert orders_of(url, token) == []

    # Back before the server forgot the page: the queued order goes once; the canceled one, whose submit NiceGUI
    # would have replayed, does not; no review opens from a replayed click.
    await page.context.set_offline(False)
    await expect_told(page, "Order filled: buy 2 AAPL")
    await expect(said).to_have_text("Sent: Buy 2 shares of AAPL · Market. Order filled: buy 2 AAPL")
    await expect(queued).to_have_count(0)
    await expect(form.get_by_test_id("offline-note")).to_have_count(0)
    await expect(page.get_by_test_id("amount")).to_have_value("")  # ready for the next order
    [order] = orders_of(url, token)
    assert (order["side"], order["quantity"], order["status"]) == ("buy", "2", "filled")
    again = httpx.post(  # its key is spent: sending it again answers the same order
        f"{url}/api/orders",
        json={"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "2"},
        headers={"Authorization": f"Bearer {token}", "X-Idempotency-Key": key, "X-Account-Id": order["accountId"]},
    )
    assert again.headers.get("Idempotent-Replayed") == "true", again.text
    assert again.json()["order"]["id"] == order["id"]
    assert len(orders_of(url, token)) == 1
    assert await queued_keys(page) == []
    await expect(review).to_have_count(0)

    # Offline long enough for the server to forget the page: the page reloads once back, and the queue, kept in
    # the browser, is sent from the new page.
    await page.get_by_test_id("amount").fill("3")
    await page.get_by_test_id("review").click()
    await expect(review).to_be_visible()
    await drop_connection(page)
    await page.get_by_test_id("edit-order").click()  # back to the form, offline too: nothing is queued
    await expect(review).to_be_hidden()
    await expect(queued).to_have_count(0)
    await page.get_by_test_id("review").click()
    await expect(said).to_have_text("Queued: Buy 3 shares of AAPL · Market. It will be sent when you're back online.")
    await page.wait_for_timeout(12_000)  # past the server's wait for the page to come back
    assert len(orders_of(url, token)) == 1
    await page.context.set_offline(False)
    await expect_told(page, "Order filled: buy 3 AAPL")
    await expect(said).to_have_text("Sent: Buy 3 shares of AAPL · Market. Order filled: buy 3 AAPL")
    assert sorted(o["quantity"] for o in orders_of(url, token)) == ["2", "3"]
    assert await queued_keys(page) == []


async def test_a_queued_order_whose_price_moved_more_than_one_percent_asks_again(page, market):
    url, prices = market
    token = await sign_in_at_the_stock_page(page, url)
    said, queued = page.get_by_test_id("queue-said"), page.get_by_test_id("queued-order")

    await page.context.set_offline(True)  # the browser knows: the form says so before the socket times out
    await expect(page.get_by_test_id("offline-note")).to_have_text(OFFLINE_NOTE)
    await page.get_by_test_id("review").click()  # the form as the server last checked it: nothing to queue
    await expect(said).to_have_text("Enter how many shares to trade.")
    await expect(queued).to_have_count(0)
    await page.get_by_test_id("amount").fill("1e3")  # typed offline: checked once the page is back
    await page.get_by_test_id("review").click()
    await expect(said).to_have_text("Queued: Buy 1e3 shares of AAPL · Market. It will be sent when you're back online.")
    await page.get_by_test_id("amount").fill("1")
    await page.get_by_test_id("review").click()
    await expect(said).to_have_text("Queued: Buy 1 share of AAPL · Market. It will be sent when you're back online.")
    prices["AAPL"] = "102.00"  # +2 % while the browser cannot see it
    await page.context.set_offline(False)

    garbled, moved = queued.filter(has_text="1e3"), queued.filter(has_text="Buy 1 share")
    await expect(garbled).to_have_attribute("data-state", "refused")
    await expect(garbled.get_by_test_id("queued-message")).to_have_text("Enter a number, like 10 or 2.5.")
    await garbled.get_by_test_id("queued-cancel").click()
    await expect(said).to_have_text("Discarded: Buy 1e3 shares of AAPL · Market.")
    await expect(moved).to_have_attribute("data-state", "confirm")
    await expect(moved.get_by_test_id("queued-message")).to_have_text(
        "AAPL moved from $100.00 to $102.00 (+2.00%) since you queued this order. Send it at today's price, "
        "or discard it."
    )
    assert orders_of(url, token) == []
    await expect(page.get_by_test_id("review-dialog")).to_have_count(0)  # the offline click is not replayed
    await moved.get_by_test_id("queued-confirm").click()
    await expect_told(page, "Order filled: buy 1 AAPL")
    await expect(said).to_have_text("Sent: Buy 1 share of AAPL · Market. Order filled: buy 1 AAPL")
    await expect(queued).to_have_count(0)
    [order] = orders_of(url, token)
    assert (order["quantity"], order["status"]) == ("1", "filled")
    prices["AAPL"] = "100.00"
