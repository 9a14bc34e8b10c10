"""Fault: PostgreSQL restarted under a running app (a private cluster, so the shared one is never touched)."""

import secrets
import time

import httpx

from tests.faults.trading import (
    Trader,
    assert_books_hold,
    assert_no_unhandled_errors,
    place,
    run_traders,
    sign_up,
    stop_traders,
    wait_for_answers,
)
from tests.support.private_servers import Ticker, private_postgres, private_redis
from tests.support.server import started_app

TRADERS = 4
OUTAGE = 2.0  # seconds PostgreSQL stays down
RECOVERY_LIMIT = 5.0  # seconds after PostgreSQL is back by which the app must serve orders again
RESTING = {"symbol": "AAPL", "side": "buy", "orderType": "limit", "quantity": "1", "limitPrice": "99.00"}


def test_postgres_restart_fails_requests_cleanly_and_recovers(tmp_path):
    """Injected: a fast shutdown of PostgreSQL (every connection cut, open transactions rolled back) while four
    traders place orders as fast as they can, 2 s down, then PostgreSQL started again; the app is not restarted.

    Checked: every request got an answer, and every answer was 201, a 400 the order itself earned, or 503
    SERVICE_UNAVAILABLE in the contract's error shape (never a 500 or a dropped connection); some requests did
    meet the outage; the app placed orders again within 5 s of PostgreSQL's return without being restarted;
    each key answered 503 retried afterwards gets exactly one order; the execution engine, which failed with the
    database, fills a resting order afterwards; no request ended in an unhandled exception; and nothing was
    half-applied: the ledger reconciles, reservations equal the open orders', and every order has exactly one
    idempotency key."""
    with private_postgres() as pg, private_redis() as cache:
        database_url = pg.create_database(f"sherwood_pgfault_{secrets.token_hex(4)}")
        env = {"DATABASE_URL": database_url, "REDIS_URL": cache.url, "ORDER_RATE_LIMIT": "0", "API_RATE_LIMIT": "0"}
        prices = {"AAPL": "100.00"}
        with started_app(tmp_path / "app.log", **env) as app, Ticker(cache.url, database_url, prices):
            traders = [Trader(*sign_up(app.url), target=lambda: app.url) for _ in range(TRADERS)]
            _wait_for_live_quotes(app.url)
            stop, threads = run_traders(traders)
            wait_for_answers(traders, 40)
            pg.stop()
            time.sleep(OUTAGE)
            pg.start()
            back = time.monotonic()
            recovered_after = _first_success_after(traders, back)
            time.sleep(1.0)
            stop_traders(stop, threads, traders)

            attempts = [a for t in traders for a in t.attempts]
            statuses = {a.status for a in attempts}
            assert statuses <= {201, 400, 503}, (statuses, app.log()[-3000:])
            unavailable = [a for a in attempts if a.status == 503]
            assert unavailable, "no request met the outage"
            for attempt in unavailable:
                assert attempt.answer["error"]["code"] == "SERVICE_UNAVAILABLE" and attempt.answer["error"]["message"]
            assert all(a.answer["error"]["code"] == "INSUFFICIENT_SHARES" for a in attempts if a.status == 400)
            assert recovered_after < RECOVERY_LIMIT, recovered_after

            # A client retries what was answered 503, with the same key: one order each, never two.
            retried = 0
            with httpx.Client(timeout=30) as client:
                for trader in traders:
                    for i, attempt in enumerate(trader.attempts):
                        if attempt.status == 503:
                            trader.attempts[i] = place(client, app.url, trader.headers, attempt.key, attempt.body)
                            assert trader.attempts[i].status in (201, 400), trader.attempts[i].answer
                            retried += 1

            # The execution engine failed with the database and started again by itself: a resting order fills.
            with httpx.Client(timeout=30) as client:
                resting = place(client, app.url, traders[0].headers, "after-restart", RESTING)
            assert resting.answer["order"]["status"] == "pending"
            prices["AAPL"] = "98.00"
            _wait_for_status(app.url, traders[0].headers, resting.answer["order"]["id"], "filled")
            traders[0].attempts.append(resting)
            books = assert_books_hold(database_url, traders)
            assert_no_unhandled_errors(app.log())
        print(
            f"\n{len(attempts)} placements, {len(unavailable)} answered 503 during the outage, {retried} retried;"
            f" {books.orders} orders; placing again {recovered_after:.2f} s after PostgreSQL returned"
        )


def _wait_for_status(base: str, headers: dict, order_id: str, status: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{base}/api/orders/{order_id}", headers=headers).json()["order"]["status"] == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"order {order_id} did not become {status}")


def _wait_for_live_quotes(base: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = httpx.get(f"{base}/api/quotes?symbols=AAPL").json()
        if body["quotes"] and not body["stale"]:
            return
        time.sleep(0.1)
    raise AssertionError("the app never saw a live quote")


def _first_success_after(traders: list[Trader], since: float, timeout: float = 15.0) -> float:
    """Seconds from `since` until a trader's placement started after it was answered 201."""
    counts = [len(t.attempts) for t in traders]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for trader, seen in zip(traders, counts, strict=True):
            if any(a.status == 201 for a in trader.attempts[seen:]):
                return time.monotonic() - since
        time.sleep(0.02)
    return float("inf")
