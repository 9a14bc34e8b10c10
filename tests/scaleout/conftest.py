"""A site of two app instances on one PostgreSQL and one Redis behind the repo's nginx config.

Each test module gets a site of its own (the failover test kills an instance). Instance `a` starts first and
is waited for until it leads the market feed and the execution engine, so the leader is known; `b` follows.
"""

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.conftest import browser, page  # noqa: F401 - the same headless Chromium as the e2e tests
from tests.support.api import wait_until
from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.nginx import nginx_binary, running_nginx
from tests.support.server import AppProcess, started_app

LEADER_ROLES = {"market_feed", "execution_engine"}


@dataclass
class Site:
    url: str  # nginx
    instances: dict[str, AppProcess]  # by INSTANCE_NAME
    database_url: str

    def health(self, name: str) -> dict:
        return httpx.get(f"{self.instances[name].url}/api/health", timeout=5).json()

    def roles(self, name: str) -> set[str]:
        return leads(self.instances[name])

    def route_cookie_for(self, name: str) -> dict[str, str]:
        """A `sherwood_route` cookie that nginx sends to instance `name` (found by asking through nginx)."""
        with httpx.Client(timeout=5) as client:
            for attempt in range(200):
                cookies = {"sherwood_route": f"probe-{attempt}"}
                headers = {"Cookie": f"sherwood_route=probe-{attempt}"}
                if client.get(f"{self.url}/api/health", headers=headers).json()["instance"] == name:
                    return cookies
        raise AssertionError(f"no route cookie reaches instance {name}")


def leads(app: AppProcess) -> set[str]:
    return set(httpx.get(f"{app.url}/api/health", timeout=5).json()["roles"])


def quoted(app: AppProcess, symbol: str) -> bool:
    return bool(httpx.get(f"{app.url}/api/quotes?symbols={symbol}", timeout=5).json()["quotes"])


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    if nginx_binary() is None:
        pytest.fail("nginx is not installed: run scripts/setup.sh test")
    workdir = tmp_path_factory.mktemp("site")
    with ExitStack() as stack:
        database = stack.enter_context(fresh_postgres("scaleout"))
        env = {"DATABASE_URL": database, "REDIS_URL": REDIS_URL, "MARKET_FEED": "simulator", "MARKET_SEED": "7"}
        a = stack.enter_context(started_app(workdir / "a.log", INSTANCE_NAME="a", **env))
        wait_until(lambda: leads(a) >= LEADER_ROLES, "instance a to lead", timeout=15, every=0.1)
        b = stack.enter_context(started_app(workdir / "b.log", INSTANCE_NAME="b", **env))
        for app in (a, b):  # each serves once it has heard the feed; the site is used only once both have
            wait_until(lambda app=app: quoted(app, "MSFT"), f"instance {app.url} to have quotes", timeout=60, every=0.1)
        upstreams = [app.url.removeprefix("http://") for app in (a, b)]
        url = stack.enter_context(running_nginx(workdir / "nginx", upstreams))
        yield Site(url, {"a": a, "b": b}, database)
