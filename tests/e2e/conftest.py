"""A real browser (Debian's Chromium, headless) against a real Sherwood process on PostgreSQL + Redis."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.server import ROOT, running_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
# Every notification a page shows is handed to the test (across page loads), so the fixture can fail any journey
# in which the user was told that something went wrong.
RECORD_NOTICES = """
new MutationObserver(() => {
  for (const note of document.querySelectorAll('.q-notification:not([data-recorded])')) {
    note.setAttribute('data-recorded', '');
    window.__notice(note.innerText.trim());
  }
}).observe(document, {childList: true, subtree: true});
"""
ORDER_RATE_LIMIT = 20  # orders a minute per user: small, so a journey can come near it
ERROR_NOTICES = ("Something went wrong", "Please retry", "please retry")
# Signing up hashes a password on a machine that CI shares with the rest of the suite: 5 s is too tight.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
def app_database() -> Iterator[str]:
    """The app's database, for journeys that must move time on (a session about to end)."""
    # A database of its own: this app runs the market feed, whose quotes must not reach other tests.
    with fresh_postgres("e2e") as database:
        yield database


@pytest.fixture(scope="session")
def app_url(app_database, tmp_path_factory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("e2e") / "app.log"
    env = {"DATABASE_URL": app_database, "REDIS_URL": REDIS_URL, "MARKET_FEED": "simulator"}
    with running_app(log, ORDER_RATE_LIMIT=str(ORDER_RATE_LIMIT), **env) as url:
        yield url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    told: list[str] = []
    await context.expose_binding("__notice", lambda _source, text: told.append(text))
    await context.add_init_script(RECORD_NOTICES)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()
    wrong = [text for text in told if any(error in text for error in ERROR_NOTICES)]
    assert not wrong, f"the user was told: {wrong}"


async def expect_told(page: Page, text: str) -> None:
    """The user sees a notification containing this text."""
    await expect(page.locator(".q-notification", has_text=text).first).to_be_visible()


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"
