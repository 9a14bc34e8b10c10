"""Shared fixtures: a fresh PostgreSQL database + Redis namespace per test session, and the API on each backend."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app import create_app
from services import runtime
from settings import Settings, load_settings
from tests.support.databases import REDIS_URL, fresh_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with fresh_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture(scope="session", params=["postgres+redis", "sqlite+memory"])
def backend_settings(request, postgres_url, redis_url, tmp_path_factory) -> Settings:
    """The production backends and the embedded default: API behaviour must match on both."""
    # A low order rate limit, so that the test of the limit stays quick; no general API quota, since every
    # anonymous call of the session comes from one address (tests/integration/test_rate_limits.py covers it).
    common = {"market_feed": "none", "order_rate_limit": 40, "api_rate_limit": 0}
    if request.param == "postgres+redis":
        return load_settings(database_url=postgres_url, redis_url=redis_url, **common)
    sqlite_file = tmp_path_factory.mktemp("sqlite") / "sherwood.db"
    return load_settings(database_url=f"sqlite:///{sqlite_file}", redis_url=None, **common)


@pytest.fixture(scope="session")
def started(backend_settings) -> runtime.Runtime:
    return runtime.start(backend_settings)


@pytest.fixture(scope="session")
def _served(started) -> Iterator[TestClient]:
    # One app per backend for the whole session: its async Redis clients belong to the app's event loop.
    with TestClient(create_app(started, with_ui=False), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api(started, _served) -> TestClient:
    """The REST API over the backend under test, with start-up and shut-down run as in production."""
    runtime.install(started)  # the other backend's session fixtures may have started last
    return _served
