"""What the fault tests share: traders placing a stream of orders with idempotency keys, and the checks that
the books survived (reconciliation, reservations, one order per answered key)."""

import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from sqlalchemy import func
from sqlmodel import select

from models.order import IdempotencyRecord, Order
from services.infra import db
from services.trading.reconcile import reconcile
from settings import load_settings
from tests.support.factories import PASSWORD, random_email

# Orders a trader cycles through: fills at the market, and limit orders that rest (reserving cash or shares).
ORDER_CYCLE = (
    {"side": "buy", "orderType": "market", "quantity": "0.5"},
    {"side": "buy", "orderType": "limit", "quantity": "1", "limitPrice": "50.00"},
    {"side": "sell", "orderType": "market", "quantity": "0.1"},
    {"side": "sell", "orderType": "limit", "quantity": "0.1", "limitPrice": "900.00"},
)

RETRY_FOR = 30.0  # seconds a failing-over client keeps retrying one key


def sign_up(base: str) -> tuple[str, dict[str, str]]:
    """A new user who opened a second account to trade in: its id, and headers that authorize and choose it."""
    email = random_email()
    httpx.post(f"{base}/api/auth/register", json={"email": email, "password": PASSWORD}, timeout=30)
    token = httpx.post(f"{base}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
    headers = {"Authorization": f"Bearer {token.json()['token']}"}
    opened = httpx.post(f"{base}/api/accounts", json={"name": "Faults"}, headers=headers, timeout=30)
    account_id = opened.json()["account"]["id"]
    return account_id, {**headers, "X-Account-Id": account_id}


@dataclass
class Attempt:
    key: str
    body: dict
    status: int | None  # None: no answer at all (connection refused or cut)
    answer: dict | None
    replayed: bool = False


def place(client: httpx.Client, base: str, headers: dict, key: str, body: dict) -> Attempt:
    try:
        response = client.post(f"{base}/api/orders", json=body, headers={**headers, "X-Idempotency-Key": key})
    except httpx.TransportError:
        return Attempt(key, body, None, None)
    replayed = response.headers.get("Idempotent-Replayed") == "true"
    return Attempt(key, body, response.status_code, response.json(), replayed)


@dataclass
class Trader:
    """One account placing orders in a loop on one thread, against whichever instance `target()` names."""

    account_id: str
    headers: dict[str, str]
    target: "callable"
    symbol: str = "AAPL"
    fail_over: bool = False  # retry a request left unanswered (or still in flight) with its key until answered
    attempts: list[Attempt] = field(default_factory=list)
    retried: set[str] = field(default_factory=set)  # keys sent more than once
    failure: Exception | None = None

    def trade(self, stop: threading.Event) -> None:
        try:
            self._trade(stop)
        except Exception as exc:  # reported by stop_traders: a thread must not die unseen
            self.failure = exc

    def _trade(self, stop: threading.Event) -> None:
        with httpx.Client(timeout=30) as client:
            n = 0
            while not stop.is_set():
                body = {"symbol": self.symbol, **ORDER_CYCLE[n % len(ORDER_CYCLE)]}
                key = f"k-{secrets.token_hex(8)}"
                attempt = place(client, self.target(), self.headers, key, body)
                deadline = time.monotonic() + RETRY_FOR
                while self.fail_over and attempt.status in (None, 409) and time.monotonic() < deadline:
                    self.retried.add(key)
                    time.sleep(0.2)
                    attempt = place(client, self.target(), self.headers, key, body)
                self.attempts.append(attempt)
                if attempt.status == 503:
                    time.sleep(0.05)  # a client backs off while the service is unavailable
                n += 1


def run_traders(traders: list[Trader]) -> tuple[threading.Event, list[threading.Thread]]:
    stop = threading.Event()
    threads = [threading.Thread(target=t.trade, args=(stop,), daemon=True) for t in traders]
    for thread in threads:
        thread.start()
    return stop, threads


def stop_traders(stop: threading.Event, threads: list[threading.Thread], traders: list[Trader]) -> None:
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a trader hung"
    assert [t.failure for t in traders if t.failure] == []


def wait_for_answers(traders: list[Trader], count: int, timeout: float = 30.0) -> None:
    """Until the traders have had `count` answers between them: the burst is under way."""
    deadline = time.monotonic() + timeout
    while sum(len(t.attempts) for t in traders) < count:
        assert time.monotonic() < deadline, "the traders got no answers"
        time.sleep(0.02)


@dataclass
class Books:
    orders: int
    keys: int
    orders_per_key: Counter  # (account id, key) -> orders recorded under it
    order_of_key: dict  # (account id, key) -> order id
    discrepancies: list


def read_books(database_url: str) -> Books:
    """The database's own account of what happened (read directly, not through the app)."""
    engine = db.make_engine(load_settings(database_url=database_url))
    try:
        with db.session_scope(engine) as session:
            orders = session.exec(select(func.count()).select_from(Order)).one()
            chosen = (IdempotencyRecord.account_id, IdempotencyRecord.key, IdempotencyRecord.order_id)
            per_key, order_of_key = Counter(), {}
            for account_id, key, order_id in session.exec(select(*chosen)):
                per_key[(str(account_id), key)] += 1
                order_of_key[(str(account_id), key)] = str(order_id)
            return Books(orders, len(per_key), per_key, order_of_key, reconcile(session))
    finally:
        engine.dispose()


def assert_books_hold(database_url: str, traders: list[Trader]) -> Books:
    """The ledger reconciles (cash, reserved cash and shares equal what the ledger and the open orders say),
    every order has exactly one idempotency key, and every key that was answered 201 maps to exactly the
    order it was answered with."""
    books = read_books(database_url)
    assert books.discrepancies == [], books.discrepancies
    assert books.orders == books.keys, "an order without its idempotency record, or the reverse"
    assert set(books.orders_per_key.values()) <= {1}
    for trader in traders:
        for attempt in trader.attempts:
            if attempt.status == 201:
                key = (trader.account_id, attempt.key)
                assert books.order_of_key.get(key) == attempt.answer["order"]["id"], key
    return books


def assert_no_unhandled_errors(*logs: str) -> None:
    """No request or socket ended in an unexpected exception (those would be 500s / 1011 closes)."""
    for log in logs:
        assert "unhandled error" not in log and "WebSocket connection failed" not in log, log[-5000:]


def roles(base: str) -> list[str]:
    """The leader roles an instance holds now."""
    return httpx.get(f"{base}/api/health", timeout=5).json()["roles"]


def wait_for(condition, what: str, *, timeout: float = 30.0, step: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(step)
