"""The market feed in real app processes: one publisher across instances, failover, and resuming after a restart."""

import signal
import time
from decimal import Decimal

import httpx
import pytest
import redis

from settings import load_settings
from tests.support.api import wait_until
from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.server import started_app

LEADING = "now runs the market feed"


def live_quotes(url: str) -> dict[str, dict]:
    body = httpx.get(f"{url}/api/quotes", timeout=5).json()
    return {} if body["stale"] else {q["symbol"]: q for q in body["quotes"]}


def count_published(namespace: str, seconds: float) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(namespace + "quotes")
    count, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message:
            count += message["data"].count(b'"symbol"')
    pubsub.close()
    client.close()
    return count


@pytest.fixture
def feed_database():
    """A database (and Redis namespace) of its own: a running feed must not reach other tests' apps."""
    with fresh_postgres("feed") as url:
        yield url


def test_two_instances_share_one_feed_and_hand_it_over(feed_database, tmp_path):
    postgres_url = feed_database
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL, "MARKET_FEED": "simulator"}
    with started_app(tmp_path / "a.log", **env) as a, started_app(tmp_path / "b.log", **env) as b:
        wait_until(lambda: live_quotes(a.url) and live_quotes(b.url), "quotes on both instances", timeout=60, every=0.2)
        leaders = [app for app in (a, b) if LEADING in app.log()]
        assert len(leaders) == 1, "exactly one instance publishes"
        leader, follower = leaders[0], (b if leaders[0] is a else a)

        rate = count_published(load_settings(database_url=postgres_url).redis_namespace(), 3.0) / 3.0
        assert rate >= 160, f"{rate:.0f} quotes/s published, expected about 200"

        def same_prices():
            first, second = live_quotes(a.url), live_quotes(b.url)
            common = [s for s in first if s in second and first[s]["timestamp"] == second[s]["timestamp"]]
            return common if len(common) >= 10 else None

        wait_until(same_prices, "quotes both instances have seen", timeout=10, every=0.2)
        first, second = live_quotes(a.url), live_quotes(b.url)
        for symbol in first.keys() & second.keys():
            if first[symbol]["timestamp"] == second[symbol]["timestamp"]:
                assert first[symbol] == second[symbol]

        before = live_quotes(follower.url)["AAPL"]
        leader.process.send_signal(signal.SIGKILL)
        wait_until(lambda: LEADING in follower.log(), "the follower to take over the feed", timeout=15, every=0.2)
        wait_until(
            lambda: live_quotes(follower.url).get("AAPL", {}).get("timestamp", 0) > before["timestamp"],
            "fresh quotes after the failover",
            timeout=10,
            every=0.2,
        )
        after = live_quotes(follower.url)["AAPL"]
        drift = abs(Decimal(after["last"]) / Decimal(before["last"]) - 1)
        assert drift < Decimal("0.01"), "the new leader continues from the last prices"
        assert after["prevClose"] == before["prevClose"]


def test_embedded_feed_resumes_where_it_stopped(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'sherwood.db'}", "MARKET_FEED": "simulator", "MARKET_SEED": "5"}
    with started_app(tmp_path / "first.log", **env) as app:
        first = wait_until(lambda: live_quotes(app.url), "quotes from the embedded feed", timeout=60, every=0.2)
        time.sleep(1)
        moved = live_quotes(app.url)
        assert any(moved[s]["timestamp"] > first[s]["timestamp"] for s in first), "prices move"
        last_seen = moved
    with started_app(tmp_path / "second.log", **env) as app:
        resumed = wait_until(lambda: live_quotes(app.url), "quotes after the restart", timeout=30, every=0.2)
        for symbol in ("AAPL", "MSFT", "SPY"):
            drift = abs(Decimal(resumed[symbol]["last"]) / Decimal(last_seen[symbol]["last"]) - 1)
            assert drift < Decimal("0.01"), f"{symbol} resumed near its last price"
        assert "backfilled" not in app.log(), "history is laid down once"
