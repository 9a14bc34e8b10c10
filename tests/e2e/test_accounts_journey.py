"""A member opens a second account, switches to it in the header, trades it, sees the first one untouched, resets
the second and closes it — in a real browser; the choice of account outlives a reload."""

from decimal import Decimal

from playwright.async_api import Page, expect

from tests.e2e.conftest import expect_told, screenshot_path
from tests.e2e.test_trading_journey import dollars, sign_up

PHONE = {"width": 390, "height": 844}


async def switch_to(page: Page, name: str) -> None:
    await page.get_by_test_id("account-switcher").click()
    await page.get_by_test_id(f"account-option-{name}").click()
    await expect(page.get_by_test_id("account-name")).to_have_text(name)  # the page came back for that account


async def account_action(page: Page, name: str, action: str) -> None:
    await page.get_by_test_id(f"account-actions-{name}").click()
    await page.locator(".q-menu").get_by_text(action, exact=True).click()


async def open_account(page: Page, name: str) -> None:
    await page.get_by_test_id("new-account-name").fill(name)
    await page.get_by_test_id("open-account").click()
    await expect_told(page, f"Opened {name} with $100,000.00")


async def test_open_switch_trade_reset_and_close_an_account(page, app_url):
    await sign_up(page, app_url)
    await expect(page.get_by_test_id("account-name")).to_have_text("Individual")

    await page.goto(f"{app_url}/account")
    individual, swing = page.get_by_test_id("account-Individual"), page.get_by_test_id("account-Swing")
    await expect(individual).to_contain_text("Default")
    await page.get_by_test_id("open-account").click()
    await expect(page.get_by_text("Give the account a name.")).to_be_visible()  # said next to the field
    await open_account(page, "Swing")
    await expect(swing.get_by_test_id("account-cash")).to_have_text("$100,000.00")
    await expect(swing).not_to_contain_text("Default")
    await page.wait_for_timeout(500)  # the notification slides in
    await page.screenshot(path=screenshot_path("accounts"), full_page=True)

    await page.get_by_test_id("account-switcher").click()
    menu = page.get_by_test_id("account-option-Swing")
    await expect(menu).to_contain_text("$100,000.00")
    await expect(page.get_by_test_id("account-option-Individual")).to_contain_text("default")
    await page.wait_for_timeout(300)  # the menu's transition
    await page.screenshot(path=screenshot_path("account-switcher"))
    await menu.click()
    await expect(page.get_by_test_id("account-name")).to_have_text("Swing")

    await page.goto(f"{app_url}/stock/NVDA")
    await expect(page.get_by_test_id("remaining")).to_have_text("Buying power $100,000.00")
    await page.get_by_test_id("amount").fill("1")
    await page.get_by_test_id("review").click()
    await page.get_by_test_id("submit-order").click()
    await expect_told(page, "Order filled: buy 1 NVDA")
    await expect(page.get_by_test_id("position-summary")).to_contain_text("1 share ·")

    await page.get_by_role("link", name="Portfolio").click()
    await expect(page.get_by_test_id("positions")).to_contain_text("NVDA")
    await expect(page.get_by_test_id("cash")).not_to_have_text("$100,000.00")
    swing_cash = dollars(await page.get_by_test_id("cash").text_content())
    assert Decimal("99000") < swing_cash < Decimal("100000")
    await page.reload()  # the choice belongs to the browser, not to the page
    await expect(page.get_by_test_id("account-name")).to_have_text("Swing")
    await expect(page.get_by_test_id("positions")).to_contain_text("NVDA")

    await switch_to(page, "Individual")
    await expect(page.get_by_test_id("positions")).to_contain_text("You have no positions yet.")
    await expect(page.get_by_test_id("cash")).to_have_text("$100,000.00")
    await expect(page.get_by_test_id("empty-state")).to_be_visible()
    await page.get_by_role("link", name="Orders").click()
    await expect(page.get_by_test_id("all-orders")).to_contain_text("No orders yet.")  # Swing's buy is not here

    await page.goto(f"{app_url}/account")
    await expect(swing.get_by_test_id("account-cash")).to_have_text(f"${swing_cash:,.2f}")
    await account_action(page, "Swing", "Reset")
    dialog = page.get_by_test_id("reset-dialog")
    await expect(dialog).to_contain_text("Its open orders are canceled, its positions cleared")
    await expect(dialog).to_contain_text("set back to $100,000.00, its starting cash. Its order history is kept.")
    await dialog.get_by_test_id("dialog-confirm").click()
    await expect_told(page, "Swing was reset: cash back to $100,000.00")
    await expect(dialog).to_have_count(0)
    await expect(swing.get_by_test_id("account-cash")).to_have_text("$100,000.00")
    await expect(swing.get_by_test_id("account-equity")).to_have_text("$100,000.00")  # no shares left

    await account_action(page, "Swing", "Make default")
    await expect_told(page, "Swing is now your default account")
    await expect(swing).to_contain_text("Default")
    await expect(individual).not_to_contain_text("Default")
    await page.get_by_test_id("account-actions-Swing").click()
    await expect(page.locator(".q-menu").get_by_text("Close account")).to_have_count(0)  # not for the default
    await page.keyboard.press("Escape")
    await account_action(page, "Individual", "Make default")
    await expect_told(page, "Individual is now your default account")
    await expect(individual).to_contain_text("Default")

    await switch_to(page, "Swing")  # closing the account the browser is on
    await account_action(page, "Swing", "Close account")
    dialog = page.get_by_test_id("close-dialog")
    await expect(dialog).to_contain_text("cannot be opened again")
    await dialog.get_by_test_id("dialog-confirm").click()
    await expect_told(page, "Closed Swing")
    await expect(swing).to_have_count(0)
    await expect(page.get_by_test_id("account-name")).to_have_text("Individual")  # the header fell back at once
    await page.goto(f"{app_url}/")
    await expect(page.get_by_test_id("account-name")).to_have_text("Individual")
    await page.get_by_test_id("account-switcher").click()
    await expect(page.get_by_test_id("account-option-Individual")).to_be_visible()
    await expect(page.get_by_test_id("account-option-Swing")).to_have_count(0)


async def test_accounts_on_a_phone(browser, app_url):
    context = await browser.new_context(viewport=PHONE, is_mobile=True)
    page = await context.new_page()
    await sign_up(page, app_url)
    await page.goto(f"{app_url}/account")
    await open_account(page, "Long term savings")
    await expect(page.get_by_test_id("account-Long term savings")).to_contain_text("$100,000.00")
    header = await page.locator(".q-header").bounding_box()
    assert header["height"] < 120, f"the header keeps to two lines on a phone ({header['height']} px high)"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"no sideways scrolling on a phone (the account page is {width} px wide)"
    await page.wait_for_timeout(500)
    await page.screenshot(path=screenshot_path("accounts-phone"), full_page=True)
    await switch_to(page, "Long term savings")
    await page.get_by_test_id("account-switcher").click()
    await expect(page.get_by_test_id("account-option-Individual")).to_be_visible()
    await page.wait_for_timeout(300)  # the menu's transition
    await page.screenshot(path=screenshot_path("account-switcher-phone"))
    await context.close()
