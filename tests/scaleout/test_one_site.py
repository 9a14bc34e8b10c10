"""Two instances behind nginx serve one site: a browser stays on its instance, the proxy's headers are
believed only from the proxy, and each leader role runs on exactly one instance."""

import re
import time

import httpx
from playwright.async_api import expect

from tests.scaleout.conftest import LEADER_ROLES
from tests.support.factories import PASSWORD, random_email


async def sign_up_in_browser(page, base_url: str) -> tuple[str, str]:
    """A new user, signed up and logged in through the browser: (email, password)."""
    email = random_email()
    await page.goto(f"{base_url}/signup")
    await socket_is_live(page)  # a click sent before the page's socket is up is lost (seen once in CI, via nginx)
    await page.get_by_test_id("name").fill("Friar Tuck")
    await page.get_by_test_id("email").fill(email)
    await page.get_by_test_id("password").fill(PASSWORD)
    await page.get_by_test_id("submit").click()
    await expect(page).to_have_url(f"{base_url}/")
    return email, PASSWORD


async def socket_is_live(page) -> None:
    """The page's socket.io connection reached the process that rendered the page, over a WebSocket."""
    await page.wait_for_function("window.did_handshake === true && window.socket.connected", timeout=15_000)
    assert await page.evaluate("window.socket.io.engine.transport.name") == "websocket"


async def serving_instance(page, base_url: str) -> str:
    """The instance nginx sends this browser's requests to (the browser's cookies go along)."""
    return (await (await page.request.get(f"{base_url}/api/health")).json())["instance"]


async def test_a_browser_session_stays_on_its_instance_across_reloads(site, page):
    await sign_up_in_browser(page, site.url)
    await socket_is_live(page)
    cookies = {c["name"] for c in await page.context.cookies()}
    assert "sherwood_route" in cookies
    home = await serving_instance(page, site.url)
    assert home in site.instances

    for _ in range(4):
        await page.reload()
        await socket_is_live(page)
        assert await serving_instance(page, site.url) == home
        await expect(page.get_by_test_id("cash")).to_have_text("$100,000.00")  # still logged in
    await page.goto(f"{site.url}/orders")
    await socket_is_live(page)
    await expect(page).to_have_url(re.compile(r"/orders$"))
    assert await serving_instance(page, site.url) == home


def failed_login(url: str, email: str, *, source: str, headers: dict[str, str] | None = None) -> int:
    transport = httpx.HTTPTransport(local_address=source)  # the whole of 127.0.0.0/8 is this machine
    with httpx.Client(transport=transport, timeout=10) as client:
        body = {"email": email, "password": "not the password"}
        return client.post(f"{url}/api/auth/login", json=body, headers=headers).status_code


def test_the_app_sees_each_client_behind_nginx_and_believes_forwarded_headers_only_from_it(site):
    """The login limit counts failures per email and client address. Behind nginx every connection comes
    from nginx; only X-Forwarded-For tells clients apart, and only nginx may set it."""
    email = random_email()
    statuses = [failed_login(site.url, email, source="127.0.0.2") for _ in range(6)]
    assert statuses[-1] == 429, statuses  # 127.0.0.2, seen through nginx, is now limited

    assert failed_login(site.url, email, source="127.0.0.3") == 401  # another client through nginx is not
    spoofed = {"X-Forwarded-For": "127.0.0.2"}
    assert failed_login(site.url, email, source="127.0.0.4", headers=spoofed) == 401  # nginx overwrites it
    direct = site.instances["b"].url  # listens on 127.0.0.1; a client on 127.0.0.5 is no trusted proxy
    assert failed_login(direct, email, source="127.0.0.5", headers=spoofed) == 401


def test_each_leader_role_runs_on_exactly_one_instance(site):
    for _ in range(10):
        holders = {name: site.roles(name) for name in site.instances}
        for role in [*LEADER_ROLES, "alert_engine", "league_clock"]:
            assert sum(role in held for held in holders.values()) == 1, holders
        time.sleep(0.3)
    # Only one instance ever started the market feed (its log says so each time it takes the role).
    started_feed = {name: app.log().count("now runs the market feed") for name, app in site.instances.items()}
    assert started_feed == {"a": 1, "b": 0}
