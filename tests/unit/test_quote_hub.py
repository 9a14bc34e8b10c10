"""The quote hub: latest quotes, newest-only client streams, staleness, listeners."""

import asyncio
import time
from decimal import Decimal
from itertools import pairwise

import orjson

from services.infra.bus import LocalBus
from services.market.quote_hub import BATCH_INTERVAL, QUOTES_CHANNEL, STALE_AFTER, QuoteHub, encode_batch
from services.market.quote_store import MemoryQuoteStore
from tests.support.factories import quote as make_quote


def quote(symbol="AAPL", last="100.00", timestamp=1_000):
    return make_quote(symbol, last, timestamp=timestamp)


class Clock:
    now = 100.0

    def __call__(self):
        return self.now


def test_latest_quotes_never_roll_back():
    hub = QuoteHub(LocalBus(), MemoryQuoteStore())
    hub.receive([quote(last="101.00", timestamp=2_000)])
    hub.receive([quote(last="99.00", timestamp=1_000)])  # arrived late
    assert hub.latest["AAPL"].last == Decimal("101.00")
    assert orjson.loads(hub.wire["AAPL"])["last"] == 101.0


def test_stale_when_the_feed_falls_silent():
    clock = Clock()
    hub = QuoteHub(LocalBus(), MemoryQuoteStore(), clock=clock)
    assert hub.stale  # nothing heard yet
    hub.receive([])  # a heartbeat
    assert not hub.stale
    clock.now += STALE_AFTER + 0.1
    assert hub.stale
    hub.receive([], heard=False)  # quotes loaded from the store are not news from the feed
    assert hub.stale


async def test_stream_gets_a_snapshot_then_only_the_newest_quote_of_its_symbols():
    hub = QuoteHub(LocalBus(), MemoryQuoteStore())
    hub.receive([quote("AAPL", "100.00", 1), quote("MSFT", "400.00", 1)])
    stream = hub.open_stream()
    snapshot = stream.subscribe(["AAPL", "AAPL", "TSLA"])
    assert [orjson.loads(w)["symbol"] for w in snapshot] == ["AAPL"]
    for i in range(2, 50):
        hub.receive([quote("AAPL", f"{100 + i}.00", i), quote("MSFT", "401.00", i)])
    batch = orjson.loads(await asyncio.wait_for(stream.next_batch(), 1))
    assert batch == {"type": "quote_batch", "data": [orjson.loads(hub.wire["AAPL"])]}
    assert batch["data"][0]["last"] == 149.0
    stream.close()
    hub.receive([quote("AAPL", "200.00", 99)])
    assert not hub._streams["AAPL"]


async def test_batches_are_at_least_the_batch_interval_apart():
    hub = QuoteHub(LocalBus(), MemoryQuoteStore())
    stream = hub.open_stream()
    stream.subscribe(["AAPL"])
    arrivals = []
    for i in range(5):
        hub.receive([quote(timestamp=i)])
        await asyncio.wait_for(stream.next_batch(), 1)
        arrivals.append(time.monotonic())
    gaps = [b - a for a, b in pairwise(arrivals)]
    assert min(gaps) >= BATCH_INTERVAL * 0.95


async def test_run_follows_the_bus_and_tells_listeners():
    bus, store = LocalBus(), MemoryQuoteStore()
    await store.save([quote("SPY", "500.00", 1)])
    hub = QuoteHub(bus, store)
    heard = []
    hub.add_listener(heard.append)
    task = asyncio.create_task(hub.run())
    await asyncio.sleep(0.01)
    assert hub.latest["SPY"].last == Decimal("500.00")  # loaded from the store at start

    bus.publish(QUOTES_CHANNEL, "not json")  # ignored, the hub keeps going
    bus.publish(QUOTES_CHANNEL, encode_batch([quote("SPY", "501.25", 2)]))
    for _ in range(100):
        if heard:
            break
        await asyncio.sleep(0.01)
    assert [q.last for q in heard[0]] == [Decimal("501.25")] and hub.latest["SPY"].last == Decimal("501.25")
    task.cancel()


async def test_quotes_are_flagged_stale_on_streams_when_the_feed_falls_silent_and_live_when_it_returns():
    clock, store = Clock(), MemoryQuoteStore()
    hub = QuoteHub(LocalBus(), store, clock=clock, stale_after=3.0)
    hub.receive([quote("AAPL", "100.00", 1), quote("MSFT", "400.00", 1)])
    stream = hub.open_stream()
    stream.subscribe(["AAPL"])
    watcher = asyncio.create_task(hub.watch())
    try:
        clock.now += 3.1  # silent past the limit
        stale = orjson.loads(await asyncio.wait_for(stream.next_batch(), 2))["data"]
        assert [(q["symbol"], q["last"], q.get("stale")) for q in stale] == [("AAPL", 100.0, True)]
        assert orjson.loads(stream.subscribe(["MSFT"])[0])["stale"] is True  # a new subscriber's snapshot too

        await store.save([quote("MSFT", "405.00", 5)])  # ticked while this process heard nothing
        hub.receive([quote("AAPL", "101.00", 6)])  # the feed is heard again
        live = orjson.loads(await asyncio.wait_for(stream.next_batch(), 2))["data"]
        assert all("stale" not in q for q in live) and {q["symbol"] for q in live} == {"AAPL", "MSFT"}
        for _ in range(100):  # the hub catches up from the store
            if hub.latest["MSFT"].last == Decimal("405.00"):
                break
            await asyncio.sleep(0.01)
        assert hub.latest["MSFT"].last == Decimal("405.00") and not hub.stale
    finally:
        watcher.cancel()
