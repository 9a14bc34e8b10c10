"""A newcomer reads a stock's key statistics, its about line and its change over a range, in a real browser
against the simulated market (which backfills a year of history at start)."""

import re

from playwright.async_api import expect

from tests.e2e.conftest import screenshot_path
from tests.e2e.test_trading_journey import sign_up

MONEY = re.compile(r"^\$\d[\d,]*\.\d{2}$")


async def test_stock_page_key_statistics_and_range_change(page, app_url):
    await sign_up(page, app_url)
    await page.goto(f"{app_url}/stock/AAPL")
    stats = page.get_by_test_id("key-stats")
    for name in ("open", "high", "low", "year-high", "year-low"):
        await expect(stats.get_by_test_id(f"stat-{name}")).to_have_text(MONEY)
    await expect(stats.get_by_test_id("stat-volume")).to_have_text(re.compile(r"^\d+(\.\d{2}[KMB])?$"))
    await expect(stats.get_by_test_id("stat-average-volume")).to_have_text(re.compile(r"^\d+\.\d{2}[KMB]$"))
    await expect(stats.get_by_test_id("stat-market-cap")).to_have_text(re.compile(r"^\$\d+\.\d{2}T$"))  # Apple's
    await expect(stats).to_contain_text("Market cap from shares outstanding as of")
    await expect(page.get_by_test_id("about-line")).to_contain_text("iPhone")
    await expect(page.get_by_test_id("sector")).to_have_text("Sector: Technology")

    change = page.get_by_test_id("price-change")
    await expect(change).to_have_text(re.compile(r"^[+-]\$[\d,]+\.\d{2} \([+-]?\d+\.\d{2}%\) Today$"))
    await page.get_by_test_id("range-1Y").click()
    await expect(change).to_have_text(re.compile(r"^[+-]\$[\d,]+\.\d{2} \([+-]?\d+\.\d{2}%\) Past year$"))
    await page.get_by_test_id("range-1W").click()
    await expect(change).to_contain_text("Past week")
    await page.wait_for_timeout(300)
    await page.screenshot(path=screenshot_path("stock-statistics"), full_page=True)


async def test_discover_lists_the_days_movers_live_and_by_sector(page, app_url):
    await sign_up(page, app_url)
    await page.get_by_role("link", name="Discover").click()
    await expect(page).to_have_url(f"{app_url}/discover")
    for kind, title in (("gainers", "Top gainers"), ("losers", "Top losers"), ("active", "Most active")):
        await expect(page.get_by_test_id(kind)).to_contain_text(title)
    active = page.get_by_test_id("active-rows")
    first = active.locator("a").first
    await expect(first).to_contain_text(re.compile(r"\d+\.\d{2}[KMB]? shares"))  # shares traded today
    gainer = page.get_by_test_id("gainers-rows").locator("a").first
    await expect(gainer).to_contain_text(re.compile(r"\+\d+\.\d{2}%"))
    loser = page.get_by_test_id("losers-rows").locator("a").first
    await expect(loser).to_contain_text(re.compile(r"-\d+\.\d{2}%"))
    # Live: the most active list's prices move on the page by themselves.
    symbol = (await first.get_attribute("data-testid")).removeprefix("active-")
    price = page.get_by_test_id(f"active-last-{symbol}")
    before = await price.text_content()
    await expect(price).not_to_have_text(before, timeout=30_000)
    await page.screenshot(path=screenshot_path("discover"), full_page=True)

    await page.get_by_test_id("sector").click()
    await page.get_by_role("option", name="Semiconductors", exact=True).click()
    semis = {"NVDA", "AMD", "AVGO", "INTC", "QCOM", "MU", "TSM", "TXN", "ARM", "AMAT"}
    await expect(active.locator("a")).to_have_count(len(semis))  # ten listed: all of them trade
    shown = {text.split("\n")[1] for text in await active.locator("a").all_inner_texts()}
    assert shown == semis, shown
    await active.locator("a").first.click()  # a row opens its stock
    await expect(page).to_have_url(re.compile(r"/stock/[A-Z]+$"))
    await expect(page.get_by_test_id("key-stats")).to_be_visible()
