"""Schemathesis against /openapi.json of a real app process on PostgreSQL + Redis with a live market.

Every operation gets generated schema-valid and schema-invalid input, logged in (unless the case is about the
missing token). Checked: no 5xx ever; every status code, content type, header and body as documented; invalid
input refused.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import PASSWORD, random_email
from tests.support.server import AppProcess, started_app

# A schema cannot say "this symbol is listed" or "you can afford it": schema-valid input may still be refused
# with a documented 4xx, so that one check stays off.
BUSINESS_RULES = [checks.positive_data_acceptance]
EXAMPLES_PER_OPERATION = 25  # per operation and mode: ~50 calls per operation


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[AppProcess]:
    env = {"REDIS_URL": REDIS_URL, "MARKET_FEED": "simulator", "ORDER_RATE_LIMIT": "0", "API_RATE_LIMIT": "0"}
    with fresh_postgres("fuzz") as database_url:
        log = Path(tmp_path_factory.mktemp("fuzz")) / "app.log"
        with started_app(log, DATABASE_URL=database_url, **env) as app:
            yield app


class Login:
    """One user's token; logs in again when a fuzzed call (a logout, say) has killed it."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.email = random_email()
        httpx.post(f"{base_url}/api/auth/register", json={"email": self.email, "password": PASSWORD}, timeout=30)
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None or not self._alive(self._token):
            credentials = {"email": self.email, "password": PASSWORD}
            self._token = httpx.post(f"{self.base_url}/api/auth/login", json=credentials, timeout=30).json()["token"]
        return self._token

    def _alive(self, token: str) -> bool:
        return httpx.get(f"{self.base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"}).is_success


def logged_in_schema(app: AppProcess):
    schema = schemathesis.openapi.from_url(f"{app.url}/openapi.json")
    login = Login(app.url)

    @schema.auth(refresh_interval=None)  # asked every case: the token may have been logged out meanwhile
    class Bearer:
        def get(self, case, context) -> str:
            return login.token()

        def set(self, case, token, context) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

    return schema


def fuzz(operation, mode: GenerationMode, base_url: str) -> str | None:
    """Run one operation's generated cases of one mode; the report of the first failure, or None."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same inputs every run: a failure here is a regression, not bad luck
        database=None,
    )
    def run(case) -> None:
        case.call_and_validate(base_url=base_url, excluded_checks=BUSINESS_RULES)

    try:
        run()
    except Unsatisfiable:  # an operation without parameters has no invalid input to send
        return None
    except BaseExceptionGroup as failure:  # schemathesis reports a case's broken checks as one group
        return f"{operation.label} ({mode.value}): {failure}"
    return None


@pytest.mark.timeout(1200)  # some 35 operations, 50 cases each: 11 min on a busy machine, past the suite's 300 s
def test_no_input_breaks_the_api(app):
    schema = logged_in_schema(app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19
    failures = [
        report
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (report := fuzz(operation, mode, app.url))
    ]
    assert not failures, "\n\n".join([*failures, "The app's log:", app.log()[-20_000:]])
    # The fuzz got past the login: every logged-in read without parameters was answered 2xx at least once.
    for operation in operations:
        if operation.method == "get" and "{" not in operation.path:
            assert re.search(rf'"GET {re.escape(operation.path)}(\?[^ ]*)? HTTP/1.1" 2\d\d', app.log()), operation.label
