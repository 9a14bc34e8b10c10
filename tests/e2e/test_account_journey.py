"""A member logs in (a signed-in browser is not asked again), changes the password on the account page (other
sessions end, this one stays), then logs out everywhere from the header menu; no page breaks the CSP."""

import re

import httpx
from playwright.async_api import expect

from tests.e2e.conftest import screenshot_path
from tests.support.factories import PASSWORD, random_email

NEW_PASSWORD = "a fresh passphrase"


async def log_in(tab, app_url: str, email: str, password: str, landing: str = "/") -> None:
    await tab.goto(f"{app_url}/login?redirect_to={landing}")
    await tab.get_by_test_id("email").fill(email)
    await tab.get_by_test_id("password").fill(password)
    await tab.get_by_test_id("submit").click()
    await expect(tab).to_have_url(f"{app_url}{landing}")


async def test_rotate_change_password_and_log_out_everywhere(page, app_url):
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    email = random_email()
    credentials = {"email": email, "password": PASSWORD}
    assert httpx.post(f"{app_url}/api/auth/register", json=credentials).status_code == 201
    elsewhere = httpx.post(f"{app_url}/api/auth/login", json=credentials).json()["token"]

    def sessions() -> int:
        response = httpx.get(f"{app_url}/api/auth/sessions", headers={"Authorization": f"Bearer {elsewhere}"})
        return len(response.json()["sessions"]) if response.status_code == 200 else -1

    await log_in(page, app_url, email, PASSWORD)
    assert sessions() == 2
    # Signed in already: the login page sends this browser on to the portfolio rather than logging in again.
    await page.goto(f"{app_url}/login")
    await expect(page).to_have_url(f"{app_url}/")
    assert sessions() == 2

    await page.get_by_test_id("account-menu").click()
    await page.locator(".q-menu").get_by_text("Account and security").click()
    await expect(page).to_have_url(f"{app_url}/account")
    await expect(page.get_by_test_id("session")).to_have_count(2)
    await expect(page.get_by_test_id("sessions")).to_contain_text("this browser")

    await page.get_by_test_id("current-password").fill("not my password")
    await page.get_by_test_id("new-password").fill(NEW_PASSWORD)
    await page.get_by_test_id("repeat-password").fill(NEW_PASSWORD)
    await page.get_by_test_id("change-password").click()
    await expect(page.get_by_test_id("password-message")).to_have_text("The current password is incorrect.")
    await page.get_by_test_id("current-password").fill(PASSWORD)
    await page.get_by_test_id("change-password").click()
    await expect(page.get_by_test_id("password-message")).to_have_text(
        "Password changed. Every other session was logged out."
    )
    await expect(page.get_by_test_id("session")).to_have_count(1)
    await page.screenshot(path=screenshot_path("account"))
    assert sessions() == -1  # the API session ended
    await page.reload()
    await expect(page).to_have_url(f"{app_url}/account")  # this browser stayed signed in

    credentials["password"] = NEW_PASSWORD
    elsewhere = httpx.post(f"{app_url}/api/auth/login", json=credentials).json()["token"]
    assert sessions() == 2
    await page.get_by_test_id("account-menu").click()
    await page.locator(".q-menu").get_by_text("Log out everywhere").click()  # the header menu's item
    await expect(page).to_have_url(re.compile(r"/login"))
    assert sessions() == -1
    await page.goto(f"{app_url}/")
    await expect(page).to_have_url(re.compile(r"/login\?redirect_to=/$"))
    assert violations == []
