"""A newcomer signs up, stays signed in across a reload, logs out and is sent back to log in."""

import re

from playwright.async_api import expect

from tests.e2e.conftest import screenshot_path
from tests.support.factories import PASSWORD, random_email


async def test_sign_up_reload_log_out_and_log_back_in(page, app_url):
    await page.goto(f"{app_url}/")
    await expect(page).to_have_url(re.compile(r"/login\?redirect_to=/$"))
    await page.screenshot(path=screenshot_path("login"))

    await page.get_by_role("link", name="Create an account").click()
    await expect(page).to_have_url(re.compile(r"/signup"))
    email = random_email()
    await page.get_by_test_id("name").fill("Robin")
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill("short")
    await page.get_by_test_id("submit").click()
    await expect(page.get_by_text("Choose a password of at least 8 characters.")).to_be_visible()  # under its field
    await page.screenshot(path=screenshot_path("signup"))
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()

    await expect(page).to_have_url(f"{app_url}/")
    await expect(page.get_by_test_id("welcome")).to_have_text("Welcome, Robin")
    await expect(page.get_by_test_id("cash")).to_have_text("$100,000.00")
    await expect(page).to_have_title("Portfolio · Sherwood")
    await page.screenshot(path=screenshot_path("home"))

    await page.reload()
    await expect(page.get_by_test_id("welcome")).to_have_text("Welcome, Robin")

    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(re.compile(r"/login"))
    await page.goto(f"{app_url}/")
    await expect(page).to_have_url(re.compile(r"/login\?redirect_to=/$"))

    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill("wrong password")
    await page.get_by_test_id("submit").click()
    await expect(page.get_by_test_id("error")).to_have_text("The email or password is incorrect.")
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("password").press("Enter")
    await expect(page).to_have_url(f"{app_url}/")
    await expect(page.get_by_test_id("welcome")).to_have_text("Welcome, Robin")


async def test_login_redirect_only_goes_to_our_own_pages(page, app_url):
    email = random_email()
    response = await page.request.post(f"{app_url}/api/auth/register", data={"email": email, "password": PASSWORD})
    assert response.status == 201
    await page.goto(f"{app_url}/login?redirect_to=//evil.example.com")
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{app_url}/")
