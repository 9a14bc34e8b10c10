"""The portfolio as a Robinhood user expects it, in a real browser: scrubbing the chart (desktop pointer and a
phone's finger) shows that moment's value and change in the headline, and the live figures come back after."""

import re
import uuid

from playwright.async_api import expect

from tests.e2e.conftest import screenshot_path
from tests.support.factories import PASSWORD, random_email

PHONE = {"width": 390, "height": 844}
LIVE = re.compile(r"\) today$")
AT_THE_START = re.compile(r"^\+\$0\.00 \(0\.00%\) \d{1,2}:\d{2} [AP]M$")  # the range's first moment: no change yet


async def sign_up(page, app_url) -> str:
    """A new user through the sign-up page, on the portfolio; their email."""
    email = random_email()
    await page.goto(f"{app_url}/signup")
    await page.get_by_test_id("name").fill("Much")
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{app_url}/")
    return email


async def buy_through_the_api(page, app_url, email: str, symbol: str, quantity: str) -> None:
    """An order the same user places from a bot, so that the portfolio's line moves away from its start."""
    login = await page.request.post(f"{app_url}/api/auth/login", data={"email": email, "password": PASSWORD})
    token = (await login.json())["token"]
    headers = {"Authorization": f"Bearer {token}", "X-Idempotency-Key": str(uuid.uuid4())}
    body = {"symbol": symbol, "side": "buy", "orderType": "market", "quantity": quantity}
    placed = await page.request.post(f"{app_url}/api/orders", data=body, headers=headers)
    assert placed.status == 201, await placed.text()


async def chart_box(page):
    chart = page.get_by_test_id("equity-chart")
    await expect(chart.locator("canvas").first).to_be_visible()
    box = await chart.bounding_box()
    assert box is not None
    return box


async def test_scrubbing_the_chart_on_a_desktop(page, app_url):
    email = await sign_up(page, app_url)
    await buy_through_the_api(page, app_url, email, "NVDA", "50")
    await page.reload()
    equity, change = page.get_by_test_id("equity"), page.get_by_test_id("day-change")
    await expect(change).to_have_text(LIVE)
    box = await chart_box(page)
    middle = box["y"] + box["height"] / 2

    await page.mouse.move(box["x"] + 14, middle)  # the day's first moment: the deposit, before the buy
    await expect(change).to_have_text(AT_THE_START)
    await expect(equity).to_have_text("$100,000.00")
    label = page.get_by_test_id("equity-chart").get_by_text(re.compile(r"^\d{1,2}:\d{2} [AP]M$"))
    await expect(label).to_be_visible()  # the moment, over the crosshair
    await page.screenshot(path=screenshot_path("portfolio-scrubbing"))

    await page.mouse.move(box["x"] + box["width"] - 12, middle, steps=8)  # dragged across to now
    await expect(change).not_to_have_text(AT_THE_START)
    await expect(change).not_to_have_text(LIVE)
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] - 60)  # off the chart: the live figures again
    await expect(change).to_have_text(LIVE)
    await expect(equity).not_to_have_text("$100,000.00")  # the spread paid on the buy, at least


async def test_scrubbing_the_chart_with_a_finger_on_a_phone(browser, app_url):
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    email = await sign_up(page, app_url)
    await buy_through_the_api(page, app_url, email, "AAPL", "100")
    await page.reload()
    equity, change = page.get_by_test_id("equity"), page.get_by_test_id("day-change")
    await expect(change).to_have_text(LIVE)
    box = await chart_box(page)
    y = box["y"] + box["height"] / 2
    touch = await context.new_cdp_session(page)

    async def finger(kind: str, x: float | None = None) -> None:
        points = [] if x is None else [{"x": x, "y": y}]
        await touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    await finger("touchStart", box["x"] + 14)
    await expect(change).to_have_text(AT_THE_START)
    await expect(equity).to_have_text("$100,000.00")
    for step in range(1, 9):
        await finger("touchMove", box["x"] + 14 + (box["width"] - 26) * step / 8)
    await expect(change).not_to_have_text(AT_THE_START)
    await page.screenshot(path=screenshot_path("portfolio-scrubbing-phone"))
    await finger("touchEnd")  # the finger lifts: the live figures again
    await expect(change).to_have_text(LIVE)
    await expect(page).to_have_url(f"{app_url}/")  # the sideways drag was no swipe back to the sign-up page
    await context.close()
