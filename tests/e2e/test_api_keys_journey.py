"""A member creates an API key on the account page, copies its secret from the one dialog that shows it, a bot
trades with it over HTTP, and once the key is deleted the same call is refused — in a real browser."""

import re
import uuid

import httpx
from playwright.async_api import Browser, Page, expect

from tests.e2e.conftest import expect_told, screenshot_path
from tests.e2e.test_accounts_journey import PHONE
from tests.e2e.test_trading_journey import sign_up


async def create_key(page: Page, name: str) -> tuple[str, str]:
    """Create a key for the default account through the dialogs; its key id and secret as the dialog shows them."""
    await page.get_by_test_id("create-key").click()
    form = page.get_by_test_id("create-key-dialog")
    await expect(form.get_by_test_id("key-account-select")).to_contain_text("Individual")  # the default, preselected
    await form.get_by_test_id("dialog-confirm").click()
    await expect(form.get_by_text("Give the key a name.")).to_be_visible()  # said next to the field
    await form.get_by_test_id("key-name-input").fill(name)
    await form.get_by_test_id("dialog-confirm").click()
    shown = page.get_by_test_id("key-secret-dialog")
    await expect(shown).to_contain_text(f"{name} is ready")
    await expect(shown).to_contain_text("it will not be shown again")
    await expect(form).to_have_count(0)
    key_id = await shown.get_by_test_id("secret-key-id").text_content()
    secret = await shown.get_by_test_id("secret-secret").text_content()
    assert re.fullmatch(r"PK[A-Z0-9]{18}", key_id) and re.fullmatch(r"[A-Za-z0-9]{40}", secret)
    return key_id, secret


async def until_copied(page: Page, text: str) -> None:
    """The clipboard holds this text (written by the page a moment after the click)."""
    await page.wait_for_function(
        "async (text) => (await navigator.clipboard.readText()) === text", arg=text, polling=100
    )


async def test_create_use_and_delete_an_api_key(page, app_url):
    await sign_up(page, app_url)
    await page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
    await page.goto(f"{app_url}/account")
    card = page.get_by_test_id("api-keys-card")
    await expect(card.get_by_test_id("api-keys-empty")).to_have_text(
        "No API keys yet. Create one to let a bot trade an account."
    )
    for header in ("APCA-API-KEY-ID", "APCA-API-SECRET-KEY"):  # the hint a bot's author needs
        await expect(card.get_by_test_id("api-keys-headers")).to_contain_text(header)

    key_id, secret = await create_key(page, "Bot")
    shown = page.get_by_test_id("key-secret-dialog")
    await shown.get_by_test_id("copy-secret-secret").click()
    await expect_told(page, "Copied")
    await until_copied(page, secret)
    await shown.get_by_test_id("copy-secret-key-id").click()
    await expect_told(page, "Copied")
    await until_copied(page, key_id)
    await page.wait_for_timeout(500)  # the dialog's transition and the notification
    await page.screenshot(path=screenshot_path("api-key-secret"))
    await page.mouse.click(5, 400)  # beside the dialog: it stays, the secret with it
    await expect(shown).to_be_visible()
    await shown.get_by_test_id("secret-done").click()
    await expect(shown).to_have_count(0)

    row = card.get_by_test_id(f"key-{key_id}")  # listed already, the secret nowhere on the page
    await expect(row.get_by_test_id("key-name")).to_have_text("Bot")
    await expect(row.get_by_test_id("key-account")).to_have_text("Individual")
    await expect(row.get_by_test_id("key-created")).to_have_text(re.compile(r"^Created \d{4}-\d\d-\d\d \d\d:\d\d UTC$"))
    await expect(row.get_by_test_id("key-last-used")).to_have_text("Last used Never")
    await expect(card.get_by_test_id("api-keys-empty")).to_have_count(0)
    assert secret not in await page.content()
    await card.scroll_into_view_if_needed()
    await card.screenshot(path=screenshot_path("api-keys"))

    headers = {"APCA-API-KEY-ID": key_id, "APCA-API-SECRET-KEY": secret}
    async with httpx.AsyncClient(base_url=app_url, headers=headers, timeout=15) as bot:
        portfolio = await bot.get("/api/portfolio")
        assert portfolio.status_code == 200, portfolio.text
        order = {"symbol": "AAPL", "side": "buy", "orderType": "market", "quantity": "1"}
        placed = await bot.post("/api/orders", json=order, headers={"X-Idempotency-Key": str(uuid.uuid4())})
        assert placed.status_code == 201, placed.text
        assert placed.json()["order"]["symbol"] == "AAPL"

        # Its last use reaches the list within a minute: not waited for here.
        await row.get_by_test_id("delete-key").click()
        confirm = page.get_by_test_id("delete-key-dialog")
        await expect(confirm).to_contain_text("Delete Bot?")
        await expect(confirm).to_contain_text("Bots using this key stop working at once.")
        await confirm.get_by_test_id("dialog-confirm").click()
        await expect_told(page, "Deleted Bot")
        await expect(confirm).to_have_count(0)
        await expect(row).to_have_count(0)
        await expect(card.get_by_test_id("api-keys-empty")).to_be_visible()

        refused = await bot.get("/api/portfolio")
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["code"] == "UNAUTHORIZED"


async def test_api_keys_on_a_phone(browser: Browser, app_url):
    context = await browser.new_context(viewport=PHONE, is_mobile=True)
    page = await context.new_page()
    await sign_up(page, app_url)
    await page.goto(f"{app_url}/account")
    await create_key(page, "Rebalancing bot for the long term account")
    shown = page.get_by_test_id("key-secret-dialog")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"no sideways scrolling on a phone (the page is {width} px wide)"
    for testid in ("secret-secret", "copy-secret-secret", "secret-done"):
        box = await shown.get_by_test_id(testid).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{testid} fits on the screen"
    await page.wait_for_timeout(500)
    await page.screenshot(path=screenshot_path("api-key-secret-phone"))
    await shown.get_by_test_id("secret-done").click()
    card = page.get_by_test_id("api-keys-card")
    await expect(card).to_contain_text("Rebalancing bot for the long term account")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"no sideways scrolling on a phone (the page is {width} px wide)"
    await card.scroll_into_view_if_needed()
    await card.screenshot(path=screenshot_path("api-keys-phone"))
    await context.close()
