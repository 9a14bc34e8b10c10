"""The portfolio as a Robinhood user expects it, in a real browser: scrubbing the chart (desktop pointer and a
phone's finger) shows that moment's value and change in the headline, and the live figures come back after;
named watchlists; positions with their day change, share of the portfolio and mini chart, and the watchlist's
mini charts, with no error notice."""

import re
import uuid

from playwright.async_api import expect

from tests.e2e.conftest import ERROR_NOTICES, RECORD_NOTICES, expect_told, screenshot_path
from tests.e2e.test_phone_journey import assert_stacked_within_the_screen
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


async def named_lists(page, app_url, viewport) -> None:
    """Make a list, fill it, switch between lists, rename one and delete it, as the user sees them."""
    watch = page.get_by_test_id("watchlist")
    lists = watch.get_by_test_id("watch-lists")
    await expect(lists).to_contain_text("My First List")
    await expect(watch.get_by_test_id("watch-AAPL")).to_be_visible()

    await watch.get_by_role("button", name="List actions").click()
    await page.get_by_test_id("watch-new").click()
    dialog = page.get_by_test_id("new-list-dialog")
    await dialog.get_by_test_id("list-name").fill("my first list")  # taken, whatever the case
    await dialog.get_by_test_id("dialog-confirm").click()
    await expect(dialog).to_contain_text("You already have a list named my first list.")
    await dialog.get_by_test_id("list-name").fill("Chips")
    await dialog.get_by_test_id("dialog-confirm").click()
    await expect(dialog).to_be_hidden()
    await expect_told(page, "Made the list Chips")
    await expect(lists).to_contain_text("Chips")
    await expect(watch.get_by_test_id("watch-rows")).to_contain_text("Add symbols to follow their prices here.")

    picker = watch.get_by_test_id("watch-add")
    for symbol in ("NVDA", "AMD"):
        await picker.click()
        await page.keyboard.type(symbol)
        await page.keyboard.press("Enter")
        await expect(watch.get_by_test_id(f"watch-{symbol}")).to_be_visible()
        await expect(picker).to_have_value("")  # ready for the next symbol
    await page.keyboard.press("Escape")  # the picker's menu closes
    await expect(watch.get_by_test_id("watch-last-AMD")).to_have_text(re.compile(r"^\d+\.\d{2}$"))  # live
    await expect(watch.get_by_test_id("watch-AAPL")).to_have_count(0)  # the other list's symbols are not here
    await watch.get_by_test_id("unwatch-NVDA").click()
    await expect(watch.get_by_test_id("watch-NVDA")).to_have_count(0)
    await page.screenshot(path=screenshot_path(f"portfolio-watchlists-{viewport}"), full_page=True)

    await lists.click()
    await page.get_by_role("option", name="My First List").click()
    await expect(watch.get_by_test_id("watch-AAPL")).to_be_visible()
    await expect(watch.get_by_test_id("watch-AMD")).to_have_count(0)
    await page.reload()  # kept for the user, not just on the page
    await lists.click()
    await page.get_by_role("option", name="Chips").click()
    await expect(watch.get_by_test_id("watch-AMD")).to_be_visible()

    await watch.get_by_role("button", name="List actions").click()
    await page.get_by_test_id("watch-rename").click()
    dialog = page.get_by_test_id("rename-list-dialog")
    await expect(dialog.get_by_test_id("list-name")).to_have_value("Chips")
    await dialog.get_by_test_id("list-name").fill("Semiconductors")
    await dialog.get_by_test_id("list-name").press("Enter")
    await expect(dialog).to_be_hidden()
    await expect(lists).to_contain_text("Semiconductors")

    await watch.get_by_role("button", name="List actions").click()
    await page.get_by_test_id("watch-delete").click()
    dialog = page.get_by_test_id("delete-list-dialog")
    await expect(dialog).to_contain_text("Delete Semiconductors?")
    await expect(dialog).to_contain_text("Its 1 symbol will no longer be followed here.")
    await dialog.get_by_test_id("dialog-confirm").click()
    await expect_told(page, "Deleted the list Semiconductors")
    await expect(lists).to_contain_text("My First List")
    await expect(watch.get_by_test_id("watch-AAPL")).to_be_visible()
    await lists.click()
    await expect(page.get_by_role("option", name="Semiconductors")).to_have_count(0)


async def test_named_watchlists_on_a_desktop(page, app_url):
    await sign_up(page, app_url)
    await named_lists(page, app_url, "desktop")


async def test_named_watchlists_on_a_phone(browser, app_url):
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = await context.new_page()
    await sign_up(page, app_url)
    await named_lists(page, app_url, "phone")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"no sideways scrolling on a phone (the portfolio is {width} px wide)"
    await context.close()


DAY_CHANGE = re.compile(r"^[+-]\$[\d,]+\.\d{2} \([+-]?\d+\.\d{2}%\)$")
SHARE = re.compile(r"^\d+\.\d{2}%$")
PATH = re.compile(r"^M0,[\d.]+(L[\d.]+,[\d.]+)+$")


async def positions_and_mini_charts(page, app_url, viewport: str) -> None:
    """A position shows its day change, its share of the portfolio and the day's mini chart; the watchlist rows
    show theirs, redrawn on their clock."""
    email = await sign_up(page, app_url)
    await buy_through_the_api(page, app_url, email, "NVDA", "5")
    await page.reload()
    row = page.get_by_test_id("positions").locator("tbody tr").first
    await expect(row.locator("td[data-label='Today']")).to_have_text(DAY_CHANGE)
    await expect(row.locator("td[data-label='% of portfolio']")).to_have_text(SHARE)
    spark = page.get_by_test_id("position-spark-NVDA")
    await expect(spark).to_have_attribute("data-state", "drawn")
    await expect(spark.locator("path")).to_have_attribute("d", PATH)

    watched = page.get_by_test_id("watch-spark-AAPL")
    await expect(watched).to_have_attribute("data-state", "drawn")
    line = watched.locator("path")
    await expect(line).to_have_attribute("d", PATH)
    await page.screenshot(path=screenshot_path(f"portfolio-positions-{viewport}"), full_page=True)
    first = await line.get_attribute("d")
    await expect(line).not_to_have_attribute("d", first, timeout=60_000)  # redrawn within a third of a minute


async def test_positions_and_mini_charts_on_a_desktop(page, app_url):
    await positions_and_mini_charts(page, app_url, "desktop")


async def test_positions_and_mini_charts_on_a_phone(browser, app_url):
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    told: list[str] = []
    await context.expose_binding("__notice", lambda _source, text: told.append(text))
    await context.add_init_script(RECORD_NOTICES)
    page = await context.new_page()
    await positions_and_mini_charts(page, app_url, "phone")
    await assert_stacked_within_the_screen(page, "positions")
    await context.close()
    assert not [text for text in told if any(error in text for error in ERROR_NOTICES)], told
