"""Fault: Redis stopped in the middle of trading, and started again empty (a private redis-server)."""

import asyncio
import time
import uuid
from decimal import Decimal

import httpx
from websockets.asyncio.client import connect

from services.infra.bus import RedisBus
from services.infra.leader import RedisLeadership
from settings import load_settings
from tests.faults.trading import assert_books_hold, assert_no_unhandled_errors, sign_up
from tests.support.api import wait_until
from tests.support.databases import fresh_postgres
from tests.support.private_servers import private_redis
from tests.support.server import started_app
from tests.support.ws import receive, receive_type, ws_url

SYMBOL = "AAPL"
QUOTE_MAX_AGE = 3  # seconds of silence from the feed before quotes are stale (the setting under test)
RECOVERY_LIMIT = 5.0  # seconds after Redis returns by which everything must be live again


def order(base: str, headers: dict, **fields) -> httpx.Response:
    body = {"symbol": SYMBOL, "side": "buy", "orderType": "market", "quantity": "1", **fields}
    return httpx.post(f"{base}/api/orders", json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex})


def quote_of(base: str) -> tuple[dict | None, bool]:
    """The instance's latest quote of SYMBOL (None before its first) and whether its quotes are stale."""
    body = httpx.get(f"{base}/api/quotes?symbols={SYMBOL}").json()
    return (body["quotes"] or [None])[0], body["stale"]


async def next_quote_of(ws, *, stale: bool, timeout: float) -> dict:
    """The next quote of SYMBOL on this socket whose stale flag is as asked."""
    async with asyncio.timeout(timeout):
        while True:
            message = await receive(ws, timeout)
            for quote in message.get("data", []) if message["type"] in ("quotes", "quote_batch") else []:
                if quote["symbol"] == SYMBOL and quote.get("stale", False) is stale:
                    return quote


async def test_redis_outage_degrades_trading_and_recovers(tmp_path):
    """Injected: two instances (A runs the market feed and, started first, the execution engine; B serves only)
    share one PostgreSQL and a private Redis, which is stopped mid-trading for several seconds and then started
    again empty (no persistence: sessions, quotes, leader locks and idempotency keys in Redis are all gone).

    Checked while Redis is down: on A (feed in-process) a market order is placed and filled, and its order_update
    reaches A's socket; on B a session cached in Redis still validates (from PostgreSQL) and a new login works;
    once the feed has been silent QUOTE_MAX_AGE (3 s here), B flags its quotes stale on /ws and /api/quotes and
    refuses a market order with NO_QUOTE; a marketable limit order on B is accepted and rests (no fill against a
    stale quote), and A's execution engine, re-reading resting orders from PostgreSQL while the bus is down,
    fills it. Checked within 5 s of Redis returning: B's quotes are live again on /api/quotes and /ws and caught
    up with A's, a market order on B fills, and Redis is used again (a session cache entry is written, both leader
    locks are held again). Finally the books reconcile and every order has exactly one idempotency key."""
    with fresh_postgres("redisfault") as database_url, private_redis() as cache:
        env = {"DATABASE_URL": database_url, "REDIS_URL": cache.url, "QUOTE_MAX_AGE": str(QUOTE_MAX_AGE)}
        with (
            started_app(tmp_path / "a.log", MARKET_FEED="simulator", MARKET_SEED="7", **env) as a,
            started_app(tmp_path / "b.log", **env) as b,
        ):
            wait_until(lambda: (q := quote_of(b.url))[0] is not None and not q[1], "live quotes on B", 30)
            _, headers = sign_up(b.url)
            token = headers["Authorization"].removeprefix("Bearer ")
            async with connect(ws_url(a.url, token)) as ws_a, connect(ws_url(b.url)) as ws_b:
                for ws in (ws_a, ws_b):
                    assert (await receive(ws))["type"] == "connected"
                    await ws.send(f'{{"type":"subscribe","symbols":["{SYMBOL}"]}}')
                    await next_quote_of(ws, stale=False, timeout=5)
                assert order(a.url, headers).json()["order"]["status"] == "filled"

                cache.stop()
                stopped = time.monotonic()
                # A keeps trading from its in-process feed.
                filled_on_a = order(a.url, headers).json()["order"]
                assert filled_on_a["status"] == "filled"
                async with asyncio.timeout(5):
                    while (await receive_type(ws_a, "order_update"))["data"]["id"] != filled_on_a["id"]:
                        pass
                # B validates sessions from PostgreSQL, old and new.
                assert httpx.get(f"{b.url}/api/auth/me", headers=headers).status_code == 200
                assert sign_up(b.url)[1]["Authorization"]
                # B hears nothing from the feed: QUOTE_MAX_AGE after its last word, quotes are stale everywhere on B
                # and a market order is refused.
                wait_until(lambda: time.monotonic() - stopped > QUOTE_MAX_AGE + 0.5, "the quotes to age", 10)
                refused = order(b.url, headers)
                assert refused.status_code == 400 and refused.json()["error"]["code"] == "NO_QUOTE", refused.text
                last, stale = quote_of(b.url)
                assert stale and time.time() * 1000 - last["timestamp"] > QUOTE_MAX_AGE * 1000
                assert (await next_quote_of(ws_b, stale=True, timeout=5))["timestamp"] == last["timestamp"]
                # A marketable limit order on B rests, and A's engine fills it from PostgreSQL.
                limit = (Decimal(str(last["ask"])) * Decimal("1.5")).quantize(Decimal("0.01"))
                resting = order(b.url, headers, orderType="limit", limitPrice=str(limit)).json()["order"]
                assert resting["status"] == "pending"
                fill = wait_until(
                    lambda: (o := _order(b.url, headers, resting["id"]))["status"] == "filled" and o,
                    "A's engine to fill the order placed on B",
                    10,
                )
                assert Decimal(fill["avgFillPrice"]) <= limit
                outage = time.monotonic() - stopped

                cache.start()
                back = time.monotonic()
                wait_until(lambda: not quote_of(b.url)[1], "live quotes on B", RECOVERY_LIMIT)
                live_after = time.monotonic() - back
                # B catches up on the whole market at once (the feed republishes it on Redis's return), not a
                # symbol at a time as each ticks again.
                wait_until(lambda: quote_of(b.url)[0]["timestamp"] >= quote_of(a.url)[0]["timestamp"] - 1000, "B", 5)
                await next_quote_of(ws_b, stale=False, timeout=RECOVERY_LIMIT)
                wait_until(
                    lambda: order(b.url, headers).status_code == 201, "a market order to fill on B", RECOVERY_LIMIT
                )
                trading_after = time.monotonic() - back
                assert httpx.get(f"{b.url}/api/auth/me", headers=headers).status_code == 200
                keys = cache.client().keys("*")
                namespace = load_settings(database_url=database_url).redis_namespace()
                assert any(k.decode().startswith(namespace + "session:") for k in keys), keys
                wait_until(
                    lambda: _leaders(cache, namespace) == {"feed", "execution"}, "the leader locks", RECOVERY_LIMIT
                )
                recovered = time.monotonic() - back
                assert recovered < RECOVERY_LIMIT, recovered

            books = assert_books_hold(database_url, [])
            assert_no_unhandled_errors(a.log(), b.log())
        print(
            f"\nRedis down {outage:.1f} s; after it returned: quotes live on B in {live_after:.2f} s, a market order"
            f" filled on B in {trading_after:.2f} s, all (cache, leader locks) in {recovered:.2f} s;"
            f" {books.orders} orders"
        )


def _order(base: str, headers: dict, order_id: str) -> dict:
    return httpx.get(f"{base}/api/orders/{order_id}", headers=headers).json()["order"]


def _leaders(cache, namespace: str) -> set[str]:
    prefix = namespace + "leader:"
    return {k.decode().removeprefix(prefix) for k in cache.client().keys(prefix + "*")} & {"feed", "execution"}


async def test_a_leader_keeps_its_role_through_a_redis_outage():
    """Injected: Redis stopped under the holder of a leader lock, then started again empty.

    Checked: while Redis is down the holder keeps leading (renew says yes: nobody can take the lock); once Redis
    is back it re-takes the lost lock, and a contender still cannot get it."""
    with private_redis() as cache:
        holder = RedisLeadership(cache.url, "leader:test", lease=1.0)
        contender = RedisLeadership(cache.url, "leader:test", lease=1.0)
        await holder.acquire()
        cache.stop()
        await asyncio.sleep(1.5)  # past the lease
        assert await holder.renew()
        cache.start()
        assert cache.client().get("leader:test") is None  # the lock was lost with Redis's memory
        assert await holder.renew()
        assert not await asyncio.wait_for(asyncio.shield(_try(contender)), 3)
        await holder.close()
        await contender.close()


async def _try(leadership: RedisLeadership) -> bool:
    """One attempt at the lock, without waiting for it."""
    try:
        await asyncio.wait_for(leadership.acquire(), 0.5)
        return True
    except TimeoutError:
        return False


async def test_the_bus_delivers_in_process_while_redis_is_away():
    """Injected: Redis stopped under a subscribed bus, then started again empty.

    Checked: a message published while Redis is down still reaches this process's subscriber and the bus says it
    is degraded; after Redis returns the subscription is back within a second, messages go through Redis again
    (one published by another client arrives) and the bus is no longer degraded."""
    with private_redis() as cache:
        bus = RedisBus(cache.url, "sherwood:bus-test:")
        received: asyncio.Queue = asyncio.Queue()
        stop = asyncio.Event()

        async def follow() -> None:
            async for item in bus.subscribe("events"):
                received.put_nowait(item)
                if stop.is_set():
                    return

        follower = asyncio.create_task(follow())
        await asyncio.sleep(0.3)
        bus.publish("events", "before")
        assert await asyncio.wait_for(received.get(), 2) == ("events", "before")
        cache.stop()
        await bus.apublish("events", "during")
        assert bus.degraded
        assert await asyncio.wait_for(received.get(), 2) == ("events", "during")
        cache.start()
        other = cache.client()
        deadline = time.monotonic() + 3
        while other.publish("sherwood:bus-test:events", "after") == 0:  # nobody subscribed yet
            assert time.monotonic() < deadline, "the subscription did not come back"
            await asyncio.sleep(0.05)
        assert await asyncio.wait_for(received.get(), 2) == ("events", "after")
        bus.publish("events", "healthy")
        assert not bus.degraded
        stop.set()
        assert await asyncio.wait_for(received.get(), 2) == ("events", "healthy")
        await asyncio.wait({follower}, timeout=2)  # the follower returns by itself after the flagged message
        await bus.close()
