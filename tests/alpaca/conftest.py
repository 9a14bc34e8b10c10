"""A real Sherwood server for the Alpaca SDKs: uvicorn on a free port in a thread, on PostgreSQL + Redis and on the
embedded default (SQLite, in-process bus), each with a database of its own (its quotes reach no other test)."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from app import create_app
from services import runtime
from services.runtime import Runtime
from settings import load_settings
from tests.support.api import publish
from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import PASSWORD, random_email
from tests.support.server import free_port


@dataclass
class Sherwood:
    url: str
    rt: Runtime

    @property
    def alpaca(self) -> str:
        return f"{self.url}/alpaca"

    def quote(self, symbol: str, bid: str, ask: str, last: str | None = None):
        return publish(self.rt, symbol, bid, ask, last)


@dataclass
class Trader:
    """A signed-up user with a session token and an API key on the default account."""

    token: str
    key_id: str
    secret: str
    account_id: str

    @property
    def session(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def key(self) -> dict[str, str]:
        return {"APCA-API-KEY-ID": self.key_id, "APCA-API-SECRET-KEY": self.secret}


@contextmanager
def _serve(rt: Runtime) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(create_app(rt, with_ui=False), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the Alpaca test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _installed() -> Runtime | None:
    try:
        return runtime.current()
    except RuntimeError:
        return None


def _start(settings) -> Runtime:
    """A runtime of our own, without leaving it installed for the tests that follow."""
    previous = _installed()
    rt = runtime.start(settings)
    if previous is not None:
        runtime.install(previous)
    return rt


@pytest.fixture(scope="session", params=["postgres+redis", "sqlite+memory"])
def sherwood_server(request, tmp_path_factory) -> Iterator[Sherwood]:
    common = {"market_feed": "none", "order_rate_limit": 0, "api_rate_limit": 0}
    if request.param == "postgres+redis":
        with fresh_postgres("alpaca") as database:
            rt = _start(load_settings(database_url=database, redis_url=REDIS_URL, **common))
            with _serve(rt) as url:
                yield Sherwood(url, rt)
    else:
        sqlite_file = tmp_path_factory.mktemp("alpaca") / "sherwood.db"
        rt = _start(load_settings(database_url=f"sqlite:///{sqlite_file}", redis_url=None, **common))
        with _serve(rt) as url:
            yield Sherwood(url, rt)


@pytest.fixture
def sherwood(sherwood_server) -> Iterator[Sherwood]:
    previous = _installed()
    runtime.install(sherwood_server.rt)  # routes find the runtime here; other tests install their own
    yield sherwood_server
    if previous is not None:
        runtime.install(previous)


def sign_up(base_url: str) -> Trader:
    email = random_email()
    with httpx.Client(base_url=base_url, timeout=30) as client:
        assert client.post("/api/auth/register", json={"email": email, "password": PASSWORD}).status_code == 201
        token = client.post("/api/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
        session = {"Authorization": f"Bearer {token}"}
        created = client.post("/api/keys", json={"name": "bot"}, headers=session).json()
    key = created["key"]
    return Trader(token, key["keyId"], created["secret"], key["accountId"])


@pytest.fixture
def trader(sherwood) -> Trader:
    return sign_up(sherwood.url)
