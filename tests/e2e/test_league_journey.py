"""A class league in a real browser: a teacher creates a private league, two students join by the invite link
(signing up on the way), trade, see each other on the live leaderboard; the teacher ends the league, the standings
freeze, and the teacher downloads the standings as CSV."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from playwright.async_api import Page, expect

from tests.e2e.conftest import expect_told
from tests.e2e.test_trading_journey import sign_up
from tests.support.factories import PASSWORD, random_email


async def new_page(browser) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    return page


async def student_joins(browser, link: str, name: str) -> Page:
    page = await new_page(browser)
    await page.goto(link)  # not signed in: the login page, then sign-up, then back to the invite
    await page.get_by_text("Create an account").click()
    await page.get_by_test_id("name").fill(name)
    await page.get_by_test_id("email").fill(random_email())
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page.get_by_text("Join Period 3")).to_be_visible()
    await page.get_by_test_id("join-league").click()
    await expect(page.get_by_test_id("league-title")).to_have_text("Period 3")
    await expect(page.get_by_test_id("account-name")).to_have_text("Period 3")  # trading the league account now
    return page


async def buy(page: Page, app_url: str, symbol: str, shares: str) -> None:
    await page.goto(f"{app_url}/stock/{symbol}")
    await page.get_by_test_id("amount").fill(shares)
    await page.get_by_test_id("review").click()
    await page.get_by_test_id("submit-order").click()
    await expect_told(page, f"Order filled: buy {shares} {symbol}")


async def test_a_class_league_from_the_invite_link_to_the_final_standings(page, browser, app_url):
    await sign_up(page, app_url)  # the teacher
    await page.goto(f"{app_url}/leagues")
    await page.get_by_test_id("create-league").click()
    await page.get_by_test_id("league-name").fill("Period 3")
    await page.get_by_test_id("league-cash").fill("10000")
    await page.get_by_test_id("league-starts").fill(datetime.now(UTC).strftime("%Y-%m-%d %H:%M"))
    await page.get_by_test_id("dialog-confirm").click()
    await expect(page.get_by_test_id("league-title")).to_have_text("Period 3")
    await expect(page.get_by_test_id("leaderboard-empty")).to_be_visible()
    link = await page.get_by_test_id("invite-link").input_value()
    assert "/join/" in link

    marian = await student_joins(browser, link, "Maid Marian")
    much = await student_joins(browser, link, "Much")
    await buy(marian, app_url, "AAPL", "3")
    await buy(much, app_url, "NVDA", "2")

    await marian.goto(f"{app_url}/leagues")
    await marian.get_by_test_id("league-Period 3").click()
    standings = marian.get_by_test_id("standings")
    await expect(standings).to_contain_text("Maid Marian (you)", timeout=30_000)
    await expect(standings).to_contain_text("Much")
    await expect(marian.get_by_test_id("my-rank")).to_contain_text("of 2")

    await page.reload()
    await expect(page.get_by_test_id("members")).to_contain_text("Maid Marian")
    await page.get_by_test_id("end-league").click()
    await page.get_by_test_id("end-dialog").get_by_test_id("dialog-confirm").click()
    await expect(page.get_by_test_id("league-status")).to_have_text("Ended")
    await expect(marian.get_by_test_id("leaderboard-note")).to_have_text("Final standings", timeout=30_000)
    frozen = await marian.get_by_test_id("standings").inner_text()
    await page.reload()
    await expect(page.get_by_test_id("leaderboard-note")).to_have_text("Final standings")
    async with page.expect_download() as waiting:
        await page.get_by_test_id("export-standings").click()
    download = await waiting.value
    rows = list(csv.DictReader(io.StringIO(Path(await download.path()).read_text(encoding="utf-8"))))
    assert sorted(r["displayName"] for r in rows) == ["Maid Marian", "Much"]
    assert all("@" in r["email"] and r["trades"] == "1" for r in rows)
    await marian.wait_for_timeout(6000)  # another refresh: the final standings do not move
    assert await marian.get_by_test_id("standings").inner_text() == frozen
