"""On a 390×844 phone: the stock page's Buy/Sell comes before the stock's order history, and tables turn into
stacked rows, each line named by its column, none cut off."""

import re

from playwright.async_api import Page, expect

from tests.e2e.conftest import expect_told
from tests.support.factories import PASSWORD, random_email

PHONE = {"width": 390, "height": 844}


async def sign_up(page: Page, app_url: str) -> None:
    await page.goto(f"{app_url}/signup")
    await page.get_by_test_id("email").fill(random_email())
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{app_url}/")


async def assert_stacked_within_the_screen(page: Page, testid: str) -> None:
    """Every cell of the table shows whole inside the phone's width, led by its column's name."""
    table = page.get_by_test_id(testid)
    await expect(table.locator("thead")).to_be_hidden()
    cells = []
    for _ in range(50):  # the rows shown, not while a live refresh redraws them
        cells = await table.locator("tbody td").evaluate_all(
            """cells => cells.filter(c => c.offsetParent).map(c => {
                 const box = c.getBoundingClientRect();
                 return {left: box.left, right: box.right, label: c.dataset.label,
                         name: getComputedStyle(c, '::before').content, overflows: c.scrollWidth > c.clientWidth,
                         over: getComputedStyle(c, '::before').position === 'absolute'};
               })"""
        )
        if cells:
            break
        await page.wait_for_timeout(200)
    assert cells, f"{testid} shows rows"
    for cell in cells:
        assert cell["left"] >= 0 and cell["right"] <= PHONE["width"], f"a cell of {testid} is cut off: {cell}"
        assert not cell["overflows"], f"a cell of {testid} hides some of its text: {cell}"
        assert not cell["over"], f"a cell's name is drawn over its value: {cell}"
        assert cell["label"] is not None and cell["name"] == f'"{cell["label"]}"', cell
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"no sideways scrolling ({width} px wide)"


async def test_stock_page_and_tables_on_a_phone(browser, app_url):
    context = await browser.new_context(viewport=PHONE, is_mobile=True)
    told: list[str] = []
    await context.expose_binding("__notice", lambda _source, text: told.append(text))
    page = await context.new_page()
    await sign_up(page, app_url)
    await page.goto(f"{app_url}/stock/AAPL")
    await expect(page.get_by_test_id("last-price")).to_have_text(re.compile(r"^\$\d"))
    await expect(page.get_by_test_id("remaining")).to_have_text("Buying power $100,000.00")
    for _ in range(2):  # two orders in the history
        await page.get_by_test_id("amount").fill("1")
        await page.get_by_test_id("review").click()
        await page.get_by_test_id("submit-order").click()
        await expect_told(page, "Order filled: buy 1 AAPL")
        await expect(page.get_by_test_id("review-dialog")).to_have_count(0)
    history = page.get_by_test_id("symbol-orders")
    await expect(history.locator("tbody tr")).to_have_count(2)

    review, orders = await page.get_by_test_id("review").bounding_box(), await history.bounding_box()
    assert review["y"] + review["height"] <= orders["y"], "Buy/Sell comes before the order history"
    await assert_stacked_within_the_screen(page, "symbol-orders")
    await expect(history.locator("td[data-label='Status']").first).to_contain_text("Filled")

    await page.goto(f"{app_url}/")
    await expect(page.get_by_test_id("positions").locator("tbody tr")).to_have_count(1)
    await assert_stacked_within_the_screen(page, "positions")
    await page.goto(f"{app_url}/orders")
    await expect(page.get_by_test_id("all-orders").locator("tbody tr")).to_have_count(2)
    await assert_stacked_within_the_screen(page, "all-orders")
    await context.close()
    assert not [text for text in told if "wrong" in text or "retry" in text], told


async def test_tables_keep_their_columns_on_a_desktop(page, app_url):
    await sign_up(page, app_url)
    await page.goto(f"{app_url}/orders")
    await expect(page.get_by_test_id("all-orders").locator("thead")).to_be_visible()
