"""NiceGUI's simulated user (no browser, no socket): page logic against the real services on a fresh SQLite file.

NiceGUI's pytest plugin (`nicegui.testing.user_plugin`) builds its `user` fixture by running a main file, and
`app.py` would start uvicorn there; a root conftest's `pytest_plugins` would also load it into every other test
folder. So this folder builds the same `User` itself: NiceGUI's globals are reset, the page modules registered
anew, and the real app (`create_app`) wired over a runtime of its own with no market feed, whose quotes the tests
put on the bus themselves.
"""

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from nicegui import Client, core
from nicegui.testing.general import nicegui_reset_globals
from nicegui.testing.user import User
from nicegui.testing.user_interaction import UserInteraction
from sqlalchemy import create_engine

import app as app_module
from services import runtime
from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from services.trading.store import Store
from settings import load_settings
from tests.support.factories import PASSWORD, random_email
from tests.support.factories import quote as make_quote


@pytest.fixture
async def started(tmp_path, monkeypatch) -> runtime.Runtime:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'sherwood.db'}",
        redis_url=None,
        market_feed="none",
        storage_secret="ui-tests",
    )
    monkeypatch.setattr(app_module, "DATA_DIR", tmp_path)  # browser storage files land in the test's folder
    return runtime.start(settings)


@pytest.fixture
async def user(started, caplog) -> AsyncIterator[User]:
    with nicegui_reset_globals():
        os.environ["NICEGUI_USER_SIMULATION"] = "true"
        try:
            served = app_module.create_app(started)
            async with served.router.lifespan_context(served):  # NiceGUI's start-up, then the runtime's work
                transport = httpx.ASGITransport(core.app)
                async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                    yield User(client)
                for page in list(Client.instances.values()):  # as when browsers leave: their subscriptions go too
                    page.delete()
        finally:
            os.environ.pop("NICEGUI_USER_SIMULATION", None)
    errors = [r.getMessage() for r in caplog.get_records("call") if r.levelname == "ERROR"]
    assert not errors, f"the pages logged errors: {errors}"  # as NiceGUI's own fixture checks


def shown(user: User, testid: str) -> bool:
    """Whether the open page shows an element with this `data-testid`."""
    try:
        by_testid(user, testid)
    except AssertionError:
        return False
    return True


def by_testid(user: User, testid: str) -> UserInteraction:
    """The visible elements of the open page with this `data-testid` (the hooks the browser tests use too)."""
    with user:
        found = {
            e
            for e in user.client.elements.values()
            if e.props.get("data-testid") == testid and all(a.visible for a in (e, *e.ancestors()))
        }
    assert found, f"nothing with data-testid={testid!r} is shown"
    return UserInteraction(user, found, testid)


def fill(user: User, testid: str, value) -> None:
    """Set a field's value as the browser would after typing or picking it."""
    with user:
        for element in by_testid(user, testid).elements:
            element.value = value


@pytest.fixture
def sign_in(user) -> Callable:
    """Sign a new user up through the sign-up page; returns the email."""

    async def go(name: str = "Robin") -> str:
        email = random_email()
        await user.open("/signup")
        fill(user, "name", name)
        fill(user, "email", email)
        fill(user, "password", PASSWORD)
        by_testid(user, "submit").click()
        await user.should_see(f"Welcome, {name}", retries=50)
        return email

    return go


async def publish(started: runtime.Runtime, symbol: str, last: str) -> None:
    """Put a quote on the bus as the feed does, and wait (without blocking the loop) until the hub has it."""
    quote = make_quote(symbol, last, volume=1000)
    started.bus.publish(QUOTES_CHANNEL, encode_batch([quote]))
    for _ in range(200):
        if started.hub.latest.get(symbol) == quote:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the hub never saw {symbol} at {last}")


def rows(user: User, testid: str) -> list[dict]:
    (table,) = by_testid(user, testid).elements
    return table.rows


async def eventually(condition, what: str, timeout: float = 5.0):
    """Await until `condition()` is truthy (page work runs in tasks and threads); returns its value."""
    for _ in range(int(timeout / 0.02)):
        if result := condition():
            return result
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def click(user: User, testid: str) -> None:
    """Click, and let the handler (a task on the loop) run its synchronous part."""
    by_testid(user, testid).click()
    await asyncio.sleep(0.05)


@contextmanager
def database_out_of_reach(started: runtime.Runtime, folder: Path) -> Iterator[None]:
    """Point the pages' runtime at a database file that cannot be opened, then back at the working one."""
    working = started.engine, started.store
    started.engine = create_engine(f"sqlite:///{folder / 'missing' / 'sherwood.db'}")
    started.store = Store(started.engine, None)
    try:
        yield
    finally:
        started.engine.dispose()
        started.engine, started.store = working
