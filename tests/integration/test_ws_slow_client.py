"""Clients that stop reading cost the others no latency and the server no memory."""

import asyncio
import statistics
import time
from collections.abc import Iterator

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect

from services.market import symbols
from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.factories import quote
from tests.support.server import started_app
from tests.support.ws import Tape, receive, receive_type, stalled_connection, ws_url

STALLED_CLIENTS = 20
READING_CLIENTS = 4


@pytest.fixture
def app(tmp_path) -> Iterator[tuple[str, int, str]]:
    with (
        fresh_postgres("ws_slow") as database_url,
        started_app(tmp_path / "app.log", DATABASE_URL=database_url, REDIS_URL=REDIS_URL) as app,
    ):
        yield app.url, app.process.pid, database_url


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


async def stalled_client(url: str) -> ClientConnection:
    """A client subscribed to everything that never reads again."""
    ws = await stalled_connection(ws_url(url))
    await receive(ws)
    await ws.send('{"type":"subscribe_all"}')
    await receive_type(ws, "quotes")
    return ws


async def test_stalled_clients_slow_no_one_down(app):
    url, pid, database_url = app
    tape = Tape(database_url)
    everything = [listing.symbol for listing in symbols.listings()]
    stalled = [await stalled_client(url) for _ in range(STALLED_CLIENTS)]
    latencies: list[int] = []

    async def read(ws: ClientConnection) -> None:
        while True:
            batch = await receive_type(ws, "quote_batch")
            now = time.time_ns() // 1_000_000
            latencies.extend(now - q["timestamp"] for q in batch["data"])

    readers = []
    for i in range(READING_CLIENTS):
        ws = await connect(ws_url(url))
        await receive(ws)
        await ws.send(orjson.dumps({"type": "subscribe", "symbols": everything[i * 5 : i * 5 + 5]}).decode())
        readers.append((ws, asyncio.create_task(read(ws))))

    async def publish_for(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await tape.publish(*(quote(s) for s in everything))
            await asyncio.sleep(0.05)  # every batch of a stalled client carries every symbol

    await publish_for(1.0)  # the stalled clients' buffers fill up
    baseline = peak = rss_mb(pid)
    for _ in range(6):
        await publish_for(0.5)
        peak = max(peak, rss_mb(pid))

    for ws, reader in readers:
        assert not reader.done(), reader
        reader.cancel()
        await ws.close()
    for ws in stalled:
        ws.transport.abort()
    await tape.close()
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert len(latencies) > 500
    assert p99 < 250, f"p99 {p99} ms"
    assert peak - baseline < 10, f"RSS grew {peak - baseline:.1f} MB while the stalled clients were connected"
