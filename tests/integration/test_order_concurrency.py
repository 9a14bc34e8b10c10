"""Orders under concurrency: real app processes on one PostgreSQL + Redis, hit by parallel clients.

The apps run without a market feed; the test is the feed, publishing one fixed top of book onto Redis
(fresh timestamps keep it live) so that every fill price is known in advance.
"""

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from decimal import ROUND_CEILING, Decimal

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from models.account import Account, LedgerEntry
from models.order import IdempotencyRecord, Order
from services.infra import db
from services.infra.db import session_scope
from services.trading.reconcile import reconcile
from settings import load_settings
from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import PASSWORD, quote, random_email
from tests.support.server import AppProcess, started_app
from tests.support.ws import Tape

STARTING_CASH = Decimal("1000.00")
SYMBOL = "AAPL"
LAST = Decimal("100.00")  # tests.support.ws.quote puts the bid a cent below and the ask a cent above
ASK = LAST + Decimal("0.01")
TIMEOUT = 30.0  # seconds any one request may take on a loaded machine


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with fresh_postgres("orders") as url:
        yield url


@pytest.fixture(scope="module")
def engine(database_url) -> Iterator:
    engine = db.make_engine(load_settings(database_url=database_url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def apps(database_url, tmp_path_factory) -> Iterator[tuple[AppProcess, AppProcess]]:
    """Two instances of one site: same database, same Redis."""
    logs = tmp_path_factory.mktemp("orders")
    env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "STARTING_CASH": str(STARTING_CASH)}
    with started_app(logs / "a.log", **env) as a, started_app(logs / "b.log", **env) as b:
        yield a, b


@pytest.fixture
async def market(database_url, apps) -> AsyncIterator[None]:
    """Keep one fixed quote live on every instance for the length of a test."""
    tape = Tape(database_url)
    stop = asyncio.Event()

    async def publish_until_stopped() -> None:
        while not stop.is_set():
            await tape.publish(quote(SYMBOL, str(LAST)))  # stamped now: a fresh heartbeat every time
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    publisher = asyncio.create_task(publish_until_stopped())
    try:
        for app in apps:
            await until_live(app.url)
        yield
    finally:
        # A flag and bounded waits, not cancel-and-await: twice a cancel got lost in a Redis call (Python 3.11)
        # and this teardown waited until CI's time ran out.
        stop.set()
        await asyncio.wait({publisher}, timeout=15)
        await asyncio.wait({asyncio.ensure_future(tape.close())}, timeout=15)


async def until_live(base_url: str, timeout: float = 15.0) -> None:
    """Wait (bounded) until this instance quotes the test's ask and counts it as live."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            answer = (await client.get("/api/quotes", params={"symbols": SYMBOL})).json()
            if not answer["stale"] and [q["ask"] for q in answer["quotes"]] == [str(ASK)]:
                return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base_url} never saw a live quote for {SYMBOL}")


def sign_up(base_url: str) -> tuple[uuid.UUID, dict[str, str]]:
    """(the new user's default account id, their Authorization headers)."""
    email = random_email()
    httpx.post(f"{base_url}/api/auth/register", json={"email": email, "password": PASSWORD}, timeout=TIMEOUT)
    token = httpx.post(f"{base_url}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=TIMEOUT)
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    (account,) = httpx.get(f"{base_url}/api/accounts", headers=headers, timeout=TIMEOUT).json()["accounts"]
    return uuid.UUID(account["id"]), headers


async def place_all(requests: list[tuple[str, str, dict]], headers: dict[str, str]) -> list[httpx.Response]:
    """POST every (base url, idempotency key, body) at once, one connection each."""
    limits = httpx.Limits(max_connections=len(requests))
    async with httpx.AsyncClient(headers=headers, timeout=TIMEOUT, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(f"{url}/api/orders", json=body, headers={"X-Idempotency-Key": key})
                for url, key, body in requests
            )
        )


def market_buy(quantity: Decimal) -> dict:
    return {"symbol": SYMBOL, "side": "buy", "orderType": "market", "quantity": str(quantity)}


def notional(quantity: Decimal) -> Decimal:
    """What a buy of `quantity` at the ask costs: rounded up to the cent."""
    return (quantity * ASK).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


def count(engine, model, *where) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def error_code(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


async def test_parallel_buys_never_spend_more_than_the_cash(apps, market, engine):
    a, _ = apps
    account_id, headers = sign_up(a.url)
    quantities = [Decimal("0.5") + Decimal(i % 5) / 4 for i in range(50)]  # 0.5 to 1.5 shares, ~$50-$150 each
    assert sum(map(notional, quantities)) > 2 * STARTING_CASH
    responses = await place_all([(a.url, uuid.uuid4().hex, market_buy(q)) for q in quantities], headers)

    filled = [q for q, r in zip(quantities, responses, strict=True) if r.status_code == 201]
    refused = [q for q, r in zip(quantities, responses, strict=True) if r.status_code != 201]
    assert filled and refused
    assert all(r.json()["order"]["status"] == "filled" for r in responses if r.status_code == 201)
    assert {r.json()["order"]["avgFillPrice"] for r in responses if r.status_code == 201} == {str(ASK)}
    assert {(r.status_code, error_code(r)) for r in responses if r.status_code != 201} == {(400, "INSUFFICIENT_FUNDS")}

    with session_scope(engine) as session:
        account = session.get(Account, account_id)
        assert account.cash == STARTING_CASH - sum(map(notional, filled)) >= 0
        assert account.reserved_cash == 0
        assert reconcile(session) == []
    # Cash only went down, so each refusal saw at least what is left now: none of them would fit.
    assert min(map(notional, refused)) > account.cash
    assert count(engine, Order, Order.account_id == account_id) == len(filled)
    assert count(engine, LedgerEntry, LedgerEntry.account_id == account_id, LedgerEntry.kind == "buy") == len(filled)


def answer_kind(response: httpx.Response) -> str:
    if response.status_code == 201:
        return "replay" if response.headers.get("Idempotent-Replayed") == "true" else "first"
    if response.status_code == 409 and error_code(response) == "DUPLICATE_REQUEST":
        return "in-flight"
    return f"unexpected {response.status_code} {response.text}"


def assert_one_order(responses: list[httpx.Response], engine, account_id: uuid.UUID) -> None:
    """Exactly one order was made: one first answer, every other one its replay or a 409 while it was in flight."""
    kinds = Counter(map(answer_kind, responses))
    assert kinds["first"] == 1 and kinds["first"] + kinds["replay"] + kinds["in-flight"] == len(responses), kinds
    assert (
        len({r.content for r in responses if r.status_code == 201}) == 1
    )  # a replay is the first answer, byte for byte
    assert count(engine, Order, Order.account_id == account_id) == 1
    assert count(engine, IdempotencyRecord, IdempotencyRecord.account_id == account_id) == 1
    with session_scope(engine) as session:
        assert session.get(Account, account_id).cash == STARTING_CASH - notional(Decimal(1))
        assert reconcile(session) == []


async def test_one_key_sent_twenty_times_at_once_makes_one_order(apps, market, engine):
    a, _ = apps
    account_id, headers = sign_up(a.url)
    key = uuid.uuid4().hex
    responses = await place_all([(a.url, key, market_buy(Decimal(1)))] * 20, headers)
    assert_one_order(responses, engine, account_id)


async def test_one_key_sent_to_two_instances_at_once_makes_one_order(apps, market, engine):
    a, b = apps
    account_id, headers = sign_up(a.url)
    key = uuid.uuid4().hex
    responses = await place_all([(app.url, key, market_buy(Decimal(1))) for app in (a, b) * 10], headers)
    assert_one_order(responses, engine, account_id)


async def test_a_reset_racing_placements_on_two_instances_leaves_the_books_whole(apps, market, engine):
    """Buys, resting buys and sells sent to both instances while the account is reset in the middle of them: each
    placement lands wholly before the reset (and is undone by it) or wholly after; nothing is left reserved that no
    resting order holds, and no balance goes negative."""
    a, b = apps
    account_id, headers = sign_up(a.url)
    opening = [(a.url, uuid.uuid4().hex, market_buy(Decimal(2)))]
    assert (await place_all(opening, headers))[0].status_code == 201
    orders = [
        market_buy(Decimal("0.5")),
        {"symbol": SYMBOL, "side": "buy", "orderType": "limit", "quantity": "1", "limitPrice": "90.00"},
        {"symbol": SYMBOL, "side": "sell", "orderType": "limit", "quantity": "0.5", "limitPrice": "200.00"},
    ]
    requests = [(app.url, uuid.uuid4().hex, orders[n % 3]) for n, app in enumerate((a, b) * 15)]
    limits = httpx.Limits(max_connections=len(requests) + 1)
    async with httpx.AsyncClient(headers=headers, timeout=TIMEOUT, limits=limits) as client:
        placing = asyncio.gather(
            *(
                client.post(f"{url}/api/orders", json=body, headers={"X-Idempotency-Key": key})
                for url, key, body in requests
            )
        )
        await asyncio.sleep(0.05)
        reset = await client.post(f"{b.url}/api/accounts/{account_id}/reset")
        answers = await placing
    assert reset.status_code == 200, reset.text
    assert {r.status_code for r in answers} <= {201, 400}, [r.text for r in answers if r.status_code not in (201, 400)]
    with session_scope(engine) as session:
        assert reconcile(session) == []
        account = session.get(Account, account_id)
        pending = session.exec(select(Order).where(Order.account_id == account_id, Order.status == "pending")).all()
        assert 0 <= account.reserved_cash == sum((o.reserved_cash for o in pending), Decimal(0)) <= account.cash
