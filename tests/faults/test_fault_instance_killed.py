"""Fault: an app instance killed with SIGKILL in the middle of an order burst, with a second instance serving."""

import signal
import time

from tests.faults.trading import (
    Trader,
    assert_books_hold,
    assert_no_unhandled_errors,
    run_traders,
    sign_up,
    stop_traders,
    wait_for_answers,
)
from tests.support.databases import fresh_postgres
from tests.support.private_servers import Ticker, private_redis
from tests.support.server import started_app

TRADERS = 6


def test_sigkill_mid_burst_loses_nothing_and_doubles_nothing(tmp_path):
    """Injected: two instances on one PostgreSQL and one Redis; six traders send a burst of orders to instance A,
    which is killed with SIGKILL (no shutdown, transactions cut wherever they were) once 40 orders are answered.
    Clients whose request went unanswered retry it with the same idempotency key against instance B, and keep
    retrying while B answers 409 DUPLICATE_REQUEST (the dead instance's in-flight claim).

    Checked: every key ends with an answer from B (201, or a 400 the order itself earned); the ledger reconciles
    on every account; no reservation leaks (reserved cash and shares equal the sums over open orders); every order
    has exactly one idempotency key, and every key answered 201 maps to exactly the order it was answered with."""
    with fresh_postgres("sigkill") as database_url, private_redis() as cache:
        env = {"DATABASE_URL": database_url, "REDIS_URL": cache.url, "ORDER_RATE_LIMIT": "0", "API_RATE_LIMIT": "0"}
        with (
            started_app(tmp_path / "a.log", **env) as a,
            started_app(tmp_path / "b.log", **env) as b,
            Ticker(cache.url, database_url, {"AAPL": "100.00"}),
        ):
            live = {"url": a.url}
            traders = [Trader(*sign_up(b.url), target=lambda: live["url"], fail_over=True) for _ in range(TRADERS)]
            time.sleep(1.0)  # both instances have heard the ticker
            stop, threads = run_traders(traders)
            wait_for_answers(traders, 40)
            before_kill = sum(len(t.attempts) for t in traders)
            a.process.send_signal(signal.SIGKILL)
            live["url"] = b.url
            a.process.wait(timeout=10)
            time.sleep(1.5)
            stop_traders(stop, threads, traders)

            attempts = [x for t in traders for x in t.attempts]
            statuses = {x.status for x in attempts}
            assert statuses <= {201, 400}, statuses
            assert all(x.answer["error"]["code"] == "INSUFFICIENT_SHARES" for x in attempts if x.status == 400)
            retried = sum(len(t.retried) for t in traders)
            assert retried, (
                f"no request was caught by the kill ({before_kill} answered before it, {len(attempts)} in all)"
            )
            books = assert_books_hold(database_url, traders)
            assert_no_unhandled_errors(b.log())
        replayed = sum(x.replayed for x in attempts)
        print(
            f"\n{len(attempts)} keys answered ({before_kill} before the kill), {retried} retried on the survivor"
            f" ({replayed} replayed an order the dead instance had committed); {books.orders} orders"
        )
