"""Every page a signed-in user reaches, in a real browser: light and dark on a desktop, and on a 390×844 phone.
Each one shows its content with no error notice and, on the phone, nothing wider than the screen; the screenshots
land in test-artifacts/ (`make screenshots` puts some in the README)."""

import re
from datetime import UTC, datetime

from playwright.async_api import Page, expect

from tests.e2e.conftest import screenshot_path
from tests.e2e.test_account_journey import log_in
from tests.e2e.test_league_journey import buy, new_page
from tests.e2e.test_phone_journey import PHONE
from tests.support.factories import PASSWORD, random_email

# (name, path, the element that says the page has its content); the league's path is known once it is created.
PAGES = [
    ("portfolio", "/", "positions"),
    ("stock", "/stock/AAPL", "last-price"),
    ("orders", "/orders", "all-orders"),
    ("discover", "/discover", "gainers-rows"),
    ("alerts", "/alerts", "alert-price"),
    ("leagues", "/leagues", "my-leagues"),
    ("league", None, "leaderboard"),
    ("account", "/account", "sessions"),
]


async def tour(page: Page, app_url: str, league_path: str, suffix: str, *, width: int | None = None) -> None:
    for name, path, ready in PAGES:
        await page.goto(f"{app_url}{path or league_path}")
        await expect(page.get_by_test_id(ready).first).to_be_visible()
        await page.wait_for_timeout(600)  # charts draw and labels float up in short transitions
        if width is not None:
            wide = await page.evaluate("document.scrollingElement.scrollWidth")
            assert wide <= width, f"the {name} page is {wide} px wide on a {width} px phone"
        else:  # a desktop's header is one line
            header = await page.locator(".sw-header").bounding_box()
            assert header["height"] < 80, f"the {name} page's header is {header['height']} px high: it wraps"
        await page.screenshot(path=screenshot_path(f"gallery-{name}{suffix}"))


async def test_every_page_light_dark_and_on_a_phone(page, browser, app_url):
    email = random_email()
    await page.goto(f"{app_url}/signup")
    await page.get_by_test_id("name").fill("Alan-a-Dale")
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{app_url}/")
    await buy(page, app_url, "AAPL", "2")
    await page.goto(f"{app_url}/leagues")
    await page.get_by_test_id("create-league").click()
    await page.get_by_test_id("league-name").fill("Minstrels")
    await page.get_by_test_id("league-starts").fill(datetime.now(UTC).strftime("%Y-%m-%d %H:%M"))
    await page.get_by_test_id("dialog-confirm").click()
    await expect(page.get_by_test_id("league-title")).to_have_text("Minstrels")
    league_path = re.sub(r"^https?://[^/]+", "", page.url)

    await tour(page, app_url, league_path, "")
    await page.get_by_test_id("theme").click()
    await expect(page.locator("body")).to_have_class(re.compile("body--dark"))
    await tour(page, app_url, league_path, "-dark")

    phone = await new_page(browser)
    await phone.set_viewport_size(PHONE)
    await log_in(phone, app_url, email, PASSWORD)
    await tour(phone, app_url, league_path, "-phone", width=PHONE["width"])
    await phone.context.close()
