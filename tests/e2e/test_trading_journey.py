"""A newcomer finds a stock, buys it, watches the portfolio change, rests and cancels a limit order,
switches the theme and logs out — in a real browser, against a real app with the simulated market."""

import re
from decimal import Decimal

from playwright.async_api import expect

from tests.e2e.conftest import expect_told, screenshot_path
from tests.support.factories import PASSWORD, random_email


def dollars(text: str) -> Decimal:
    return Decimal(re.sub(r"[^0-9.\-]", "", text))


async def sign_up(page, app_url) -> None:
    await page.goto(f"{app_url}/signup")
    await page.get_by_test_id("name").fill("Will Scarlet")
    await page.get_by_test_id("email").fill(random_email())
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{app_url}/")


async def test_find_buy_watch_rest_cancel_theme_logout(page, app_url):
    await sign_up(page, app_url)
    await expect(page.get_by_test_id("empty-state")).to_be_visible()
    await expect(page.get_by_test_id("cash")).to_have_text("$100,000.00")

    await page.get_by_test_id("search").click()
    await page.keyboard.type("nvda")  # an exact ticker in any case, then Enter: no need to pick from the list
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{app_url}/stock/NVDA")
    await expect(page.get_by_test_id("last-price")).to_have_text(re.compile(r"^\$\d+\.\d{2}$"))
    first_price = await page.get_by_test_id("last-price").text_content()
    await expect(page.get_by_test_id("last-price")).not_to_have_text(first_price, timeout=20_000)  # it moves

    await page.get_by_test_id("amount").fill("2")
    await expect(page.get_by_test_id("estimate")).to_contain_text("Estimated cost")
    await page.wait_for_timeout(500)  # the field's label floats up in a 0.36 s transition
    await page.screenshot(path=screenshot_path("stock"))
    await page.get_by_test_id("review").click()
    await page.get_by_test_id("submit-order").click()
    await expect_told(page, "Order filled: buy 2 NVDA")
    await expect(page.get_by_test_id("review-dialog")).to_be_hidden()
    await expect(page.get_by_test_id("amount")).to_have_value("")  # ready for the next order
    await expect(page.get_by_test_id("position-summary")).to_contain_text("2 shares")
    await expect(page.get_by_test_id("symbol-orders")).to_contain_text("Filled")

    await page.get_by_test_id("order-type").click()  # a buy stop under the market triggers at once
    await page.get_by_role("option", name="Stop", exact=True).click()
    await page.get_by_test_id("amount").fill("1")
    await page.get_by_test_id("stop-price").fill("1.00")
    await expect(page.get_by_test_id("estimate")).to_contain_text("for 1 share")  # at the market, one share
    await page.get_by_test_id("review").click()
    review = page.get_by_test_id("review-dialog")
    await expect(review).to_contain_text("When NVDA trades at $1.00 or higher, this becomes a market order")
    await expect(review.get_by_test_id("review-warning")).to_contain_text("this order would trigger at once")
    await page.get_by_test_id("submit-order").click()
    await expect_told(page, "Order filled: buy 1 NVDA")
    await expect(page.get_by_test_id("symbol-orders")).to_contain_text("stop $1.00")  # filled, its stop still said

    await page.get_by_role("link", name="Portfolio").click()
    await expect(page.get_by_test_id("positions")).to_contain_text("NVDA")
    await expect(page.get_by_test_id("recent-fills").locator("th").first).to_have_text("Filled")  # when it filled
    await expect(page.get_by_test_id("recent-fills")).to_contain_text("stop $1.00")
    await expect(page.get_by_test_id("empty-state")).to_be_hidden()
    cash = dollars(await page.get_by_test_id("cash").text_content())
    assert Decimal("99000") < cash < Decimal("100000")
    await page.screenshot(path=screenshot_path("portfolio"))

    await page.get_by_test_id("search").click()
    await page.keyboard.type("NVDA")
    await page.get_by_role("option", name=re.compile("NVDA")).click()
    await expect(page).to_have_url(f"{app_url}/stock/NVDA")
    await page.get_by_test_id("order-type").click()
    await page.get_by_role("option", name="Limit", exact=True).click()
    await page.get_by_test_id("amount").fill("1")
    await page.get_by_test_id("limit-price").fill("1.00")
    await page.get_by_test_id("review").click()
    await page.get_by_test_id("submit-order").click()
    await expect_told(page, "Order placed: buy 1 NVDA")
    await expect(page.get_by_test_id("symbol-orders")).to_contain_text("Pending")
    await page.get_by_role("link", name="Orders").click()
    await expect(page.get_by_test_id("all-orders")).to_contain_text("Pending")
    await page.screenshot(path=screenshot_path("orders"))
    await page.get_by_test_id("all-orders").get_by_text("Pending").click()  # a row opens the order's detail
    detail = page.get_by_test_id("order-detail")
    await expect(detail).to_contain_text("Limit buy · 1 NVDA")
    await expect(detail.get_by_test_id("detail-limit")).to_have_text("$1.00")
    await expect(detail.get_by_test_id("detail-step")).to_contain_text(["Placed"])
    await detail.get_by_test_id("detail-close").click()
    await expect(detail).to_have_count(0)
    await page.get_by_test_id("cancel-NVDA").click()  # asks first
    confirm = page.get_by_test_id("cancel-dialog")
    await expect(confirm).to_contain_text("Cancel your limit buy of 1 NVDA (limit $1.00)?")
    await confirm.get_by_role("button", name="Keep order").click()
    await expect(confirm).to_have_count(0)
    await expect(page.get_by_test_id("all-orders")).to_contain_text("Pending")  # kept
    await page.get_by_test_id("cancel-NVDA").click()
    await page.get_by_test_id("cancel-dialog").get_by_role("button", name="Cancel order").click()
    await expect_told(page, "Canceled your limit buy of 1 NVDA (limit $1.00)")
    await expect(page.get_by_test_id("cancel-dialog")).to_have_count(0)
    await expect(page.get_by_test_id("all-orders")).to_contain_text("Canceled")
    await expect(page.get_by_test_id("all-orders")).not_to_contain_text("Pending")

    await page.get_by_test_id("theme").click()
    await expect(page.locator("body")).to_have_class(re.compile("body--dark"))
    await page.reload()
    await expect(page.locator("body")).to_have_class(re.compile("body--dark"))  # remembered
    await page.screenshot(path=screenshot_path("orders-dark"))

    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/login"))


async def test_order_form_says_what_is_wrong_next_to_the_field(page, app_url):
    await sign_up(page, app_url)
    await page.goto(f"{app_url}/stock/AAPL")
    await page.get_by_test_id("amount").fill("1e3")
    await page.get_by_test_id("review").click()
    await expect(page.get_by_text("Enter a number, like 10 or 2.5.")).to_be_visible()
    await page.get_by_test_id("order-type").click()
    await page.get_by_role("option", name="Stop limit", exact=True).click()
    stop, limit = page.get_by_test_id("stop-price"), page.get_by_test_id("limit-price")
    assert (await stop.bounding_box())["y"] < (await limit.bounding_box())["y"]  # the stop first, as it works
    await page.get_by_test_id("amount").fill("1")
    await page.get_by_test_id("review").click()
    await expect(page.get_by_text("Enter a stop price.")).to_be_visible()
    await expect(page.get_by_text("Enter a limit price.")).to_be_visible()
    await page.get_by_test_id("order-type").click()
    await page.get_by_role("option", name="Market", exact=True).click()
    await page.get_by_test_id("amount").fill("0.001")
    await page.get_by_test_id("review").click()
    await expect(page.get_by_text("An order must be worth at least $1.00.")).to_be_visible()
    await page.get_by_test_id("amount").fill("100000")
    await page.get_by_test_id("review").click()  # checked before the review opens
    await expect(page.get_by_text("Not enough buying power: this costs about")).to_be_visible()
    await expect(page.get_by_test_id("review-dialog")).to_have_count(0)
    await page.get_by_test_id("side").get_by_text("Sell AAPL").click()
    await page.get_by_test_id("amount").fill("1")
    await page.get_by_test_id("review").click()
    await expect(page.get_by_text("You have 0 shares available to sell.")).to_be_visible()


async def test_phone_sized_screen(browser, app_url):
    context = await browser.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    page = await context.new_page()
    await sign_up(page, app_url)
    for name, path, ready in (
        ("portfolio", "/", "equity"),
        ("stock", "/stock/AAPL", "order-form"),
        ("orders", "/orders", "all-orders"),
        ("discover", "/discover", "gainers"),
        ("alerts", "/alerts", "alert-form"),
    ):
        await page.goto(f"{app_url}{path}")
        await expect(page.get_by_test_id(ready)).to_be_visible()
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"no sideways scrolling on a phone ({path} is {width} px wide)"
        await page.screenshot(path=screenshot_path(f"{name}-phone"), full_page=True)
    await page.get_by_role("button", name="Log out").click()  # an icon on a phone, still named for what it does
    await expect(page).to_have_url(re.compile(r"/login"))
    await context.close()


async def test_watchlist_follows_prices_and_an_alert_fires(page, app_url):
    await sign_up(page, app_url)
    watchlist = page.get_by_test_id("watchlist")
    await expect(watchlist.get_by_test_id("watch-AAPL")).to_be_visible()  # new users start with popular symbols
    picker = watchlist.get_by_test_id("watch-add")
    await picker.click()
    await page.keyboard.type("NOW")
    await page.get_by_role("option", name=re.compile(r"^NOW ·")).click()
    await expect(picker).to_have_value("")  # ready for the next symbol
    await picker.click()
    await page.keyboard.type("ms")  # MS exactly, though MSFT and "Systems" match too
    await page.keyboard.press("Enter")
    await expect(watchlist.get_by_test_id("watch-MS")).to_be_visible()
    await expect(picker).to_have_value("")
    now_last = watchlist.get_by_test_id("watch-last-NOW")
    await expect(now_last).to_have_text(re.compile(r"^\d+\.\d{2}$"))
    before = await now_last.text_content()
    await expect(now_last).not_to_have_text(before, timeout=30_000)  # the price moves on the page by itself
    await page.screenshot(path=screenshot_path("portfolio-watchlist"))
    await watchlist.get_by_test_id("unwatch-NOW").click()
    await expect(watchlist.get_by_test_id("watch-NOW")).to_have_count(0)

    await page.goto(f"{app_url}/stock/AAPL")
    await page.get_by_test_id("alert-price").fill("1.00")  # far below the market: fires at once
    await page.get_by_test_id("create-alert").click()
    await expect(page.get_by_text("Alert: AAPL is above $1.00")).to_be_visible()
    await page.get_by_role("link", name="Alerts").click()
    await expect(page.get_by_test_id("alerts")).to_contain_text("Triggered")
    await page.screenshot(path=screenshot_path("alerts"))


async def test_numbers_look_stale_while_the_connection_is_down(page, app_url):
    await sign_up(page, app_url)
    equity, price = page.get_by_test_id("equity"), page.get_by_test_id("watch-last-AAPL")
    status = page.get_by_test_id("market-status")  # its visible text (innerText) is what the user reads
    await expect(equity).to_have_css("opacity", "1")
    await expect(status).to_contain_text("Market open", use_inner_text=True)
    await expect(status).not_to_contain_text("Reconnecting", use_inner_text=True)
    # The page must be connected before we cut it off: a socket that never connected never says it lost the line.
    await page.wait_for_function("window.did_handshake && window.socket.connected")
    await page.context.set_offline(True)  # reconnecting fails from now on...
    await page.evaluate("window.socket.io.engine.close()")  # ...and the open socket drops now, not at a ping timeout
    await expect(equity).to_have_css("opacity", "0.45")  # greyed out: these may be out of date
    await expect(page.get_by_text("Connection lost.")).to_be_visible()
    await expect(status).to_contain_text("Reconnecting…", use_inner_text=True)  # not the market state last heard
    await expect(status).not_to_contain_text("Market", use_inner_text=True)
    await page.screenshot(path=screenshot_path("reconnecting"))
    before = await price.text_content()
    await page.context.set_offline(False)
    await expect(equity).to_have_css("opacity", "1", timeout=20_000)
    await expect(status).to_contain_text("Market open", use_inner_text=True)
    await expect(status).not_to_contain_text("Reconnecting", use_inner_text=True)
    await expect(price).not_to_have_text(before, timeout=30_000)  # live again
