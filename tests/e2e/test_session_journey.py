"""Sessions in the browser: the account page names each session's browser and address; a signed-in browser that
opens /login goes to the portfolio; an open page renews its session before it ends (its other tabs keep going
with the new token) and says plainly when the 30-day chain ends; logging out loads the login page once."""

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import create_engine, text

from components.session_keeper import ENDED_NOTICE, RENEW_BEFORE
from models.types import utcnow
from services.identity.auth import CHAIN_LIFETIME, SESSION_LIFETIME
from tests.support.factories import PASSWORD, random_email


@pytest.fixture(scope="module")
def database(app_database) -> Iterator:
    engine = create_engine(app_database)
    yield engine
    engine.dispose()


def sessions_of(database, email: str) -> list[tuple[str, object, object]]:
    """(token hash, created, expires) of each session of the user."""
    with database.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT s.token_hash, s.created_at, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id"
                " WHERE u.email = :email"
            ),
            {"email": email},
        )
        return [tuple(row) for row in rows]


def set_times(database, email: str, *, created, expires) -> None:
    """Move the user's sessions in time: the login happened at `created`, the token ends at `expires`."""
    with database.begin() as connection:
        connection.execute(
            text(
                "UPDATE sessions SET created_at = :created, expires_at = :expires"
                " WHERE user_id = (SELECT id FROM users WHERE email = :email)"
            ),
            {"created": created, "expires": expires, "email": email},
        )


async def signed_in(page: Page, app_url: str, landing: str = "/") -> str:
    email = random_email()
    credentials = {"email": email, "password": PASSWORD}
    assert httpx.post(f"{app_url}/api/auth/register", json=credentials).status_code == 201
    await page.goto(f"{app_url}/login?redirect_to={landing}")
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{app_url}{landing}")
    return email


async def wait_for(page: Page, condition, what: str, seconds: float = 20):
    for _ in range(int(seconds * 4)):
        if result := condition():
            return result
        await page.wait_for_timeout(250)
    raise AssertionError(f"timed out waiting for {what}")


async def test_sessions_list_names_the_browser_and_login_sends_a_signed_in_user_on(page, app_url):
    await signed_in(page, app_url, "/account")
    session = page.get_by_test_id("session")
    await expect(session).to_have_count(1)
    await expect(session).to_contain_text(re.compile(r"Chrome on Linux · 127\.0\.0\.1 · this browser"))

    await page.goto(f"{app_url}/login")  # signed in already: on to the portfolio, not a second login
    await expect(page).to_have_url(f"{app_url}/")
    await expect(page.get_by_test_id("welcome")).to_be_visible()
    await page.goto(f"{app_url}/signup")
    await expect(page).to_have_url(f"{app_url}/")


async def test_an_open_page_renews_its_session_before_it_ends(page, app_url, database):
    email = await signed_in(page, app_url, "/account")
    other_tab = await page.context.new_page()
    await other_tab.goto(f"{app_url}/orders")
    await expect(other_tab.get_by_test_id("account-menu")).to_be_visible()
    [(old, created, _)] = sessions_of(database, email)
    # The token ends in a few seconds more than the renewal margin: the page renews it in a few seconds.
    set_times(database, email, created=created, expires=utcnow() + RENEW_BEFORE + timedelta(seconds=3))
    await page.reload()
    await expect(page.get_by_test_id("session")).to_have_count(1)

    def renewed():
        rows = sessions_of(database, email)
        return rows if rows and rows[0][0] != old else None

    [(_, kept, expires)] = await wait_for(page, renewed, "the page to renew its session")
    assert kept == created  # the same login, listed as it was
    assert expires > utcnow() + SESSION_LIFETIME - timedelta(minutes=1)  # 24 h from the renewal
    # Both tabs go on with the new token: nothing asks to log in again, and a reload stays signed in.
    await page.wait_for_timeout(1000)
    for tab, path in ((page, "/account"), (other_tab, "/orders")):
        await expect(tab).to_have_url(f"{app_url}{path}")
        await tab.reload()
        await expect(tab).to_have_url(f"{app_url}{path}")
        await expect(tab.get_by_test_id("account-menu")).to_be_visible()


async def test_the_page_says_when_the_30_day_chain_ends(page, app_url, database):
    email = await signed_in(page, app_url, "/orders")
    ends = utcnow() + timedelta(seconds=8)
    set_times(database, email, created=ends - CHAIN_LIFETIME, expires=ends)  # the last token of its chain
    await page.reload()
    warning = page.locator(".q-notification", has_text="sessions last 30 days from logging in")
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text(f"Your session ends at {ends:%H:%M} UTC")

    await expect(page).to_have_url(re.compile(r"/login\?ended=1&redirect_to=/orders$"), timeout=20_000)
    await expect(page.get_by_test_id("session-ended")).to_have_text(ENDED_NOTICE)
    assert sessions_of(database, email) == []  # ended here and everywhere
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{app_url}/orders")  # back where the user was


async def test_logging_out_loads_the_login_page_once(page, app_url):
    await signed_in(page, app_url)
    loads: list[str] = []
    page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(f"{app_url}/login")
    await page.wait_for_timeout(1500)  # a second load would come within milliseconds
    assert [url for url in loads if "/login" in url] == [f"{app_url}/login"]
    await expect(page.get_by_test_id("email")).to_be_visible()
