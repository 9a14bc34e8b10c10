"""Helpers for tests that talk to the API in-process (the `api` fixture) and drive its market."""

import time

from models.market import Quote
from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from services.runtime import Runtime
from tests.support.factories import PASSWORD, random_email
from tests.support.factories import quote as make_quote


def sign_up(api) -> tuple[dict[str, str], str]:
    """A new user, logged in: (Authorization headers, user id)."""
    email = random_email()
    user = api.post("/api/auth/register", json={"email": email, "password": PASSWORD}).json()["user"]
    token = api.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}, user["id"]


def default_account(api, headers) -> str:
    """The id of the signed-in user's default account."""
    accounts = api.get("/api/accounts", headers=headers).json()["accounts"]
    return next(a["id"] for a in accounts if a["isDefault"])


def error_code(response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["error"]["code"]


def wait_until(condition, what: str, timeout: float = 10.0, every: float = 0.02):
    """Poll `condition()` every `every` seconds until it is truthy; returns its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def publish(started: Runtime, symbol: str, bid: str, ask: str, last: str | None = None) -> Quote:
    """Put a quote on the market through the bus, as the feed does, and wait until the hub has it."""
    previous = started.hub.latest.get(symbol)
    stamp = max(time.time_ns() // 1_000_000, previous.timestamp + 1 if previous else 0)  # never older than the last
    quote = make_quote(symbol, last or bid, bid=bid, ask=ask, volume=1000, timestamp=stamp)
    started.bus.publish(QUOTES_CHANNEL, encode_batch([quote]))
    wait_until(lambda: started.hub.latest.get(symbol) == quote, f"the hub to see {symbol}")
    return quote
