"""`/ws` under hostile input: random, binary and oversized frames, floods, half-open and dropped sockets.

One app process (PostgreSQL + Redis, live simulated market). Three witness clients stay subscribed throughout;
after every family of abuse they must still get their quotes and answer pings within WITNESS_P95 — a bad client
never slows the others. Every connection the fuzz opens may only be closed with a documented code.
"""

import asyncio
import os
import random
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.databases import REDIS_URL, fresh_postgres
from tests.support.server import AppProcess, started_app
from tests.support.ws import assert_closed_with, receive, receive_type, ws_url

DOCUMENTED_CLOSES = {4401, 1008, 1009}  # bad token, flooding, frame over the hard cap
KNOWN_TYPES = {"connected", "quotes", "quote_batch", "alert", "order_update", "pong", "error"}
COMMANDS = ["auth", "subscribe", "unsubscribe", "subscribe_all", "unsubscribe_all", "ping"]
WITNESS_SYMBOLS = ["AAPL", "MSFT", "NVDA", "SPY", "KO"]
WITNESS_P95 = 0.5  # seconds for a ping round trip while the fuzz runs, on a 2-core box shared with the suite
QUOTES_WITHIN = 15.0  # seconds for a witness's next quote batch (the feed backfills history on first start)
FRAMES_PER_CLIENT = 80  # under the per-connection burst, so that the answers are errors, not rate limiting
RANDOM_CLIENTS = 8


def random_json(rng: random.Random, depth: int = 0):
    """Any JSON value, nested a little."""
    kind = rng.randrange(7 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, rng.randint(-(10**6), 10**6), rng.random() * 1e9])
    if kind in (3, 4):
        return random_text(rng, 20)
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(6))]
    return {random_text(rng, 8): random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


def random_text(rng: random.Random, longest: int) -> str:
    alphabet = 'AAPLMSFT\\"{}[],:. \x00\n\t\u00e9\u2603\U0001f4c8'
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(longest + 1)))


def random_frame(rng: random.Random) -> str:
    """A message shaped like the protocol's with wrong, missing or extra fields, other JSON, or junk text."""
    roll = rng.random()
    if roll < 0.5:
        message = {"type": rng.choice([*COMMANDS, "buy", ""])}
        if rng.random() < 0.7:
            message["symbols"] = rng.choice(
                [random_json(rng), [random_text(rng, 6) for _ in range(rng.randrange(300))], ["AAPL", "ZZZZ"]]
            )
        if rng.random() < 0.3:
            message["token"] = random_json(rng)
        return orjson.dumps(message).decode()
    if roll < 0.8:
        return orjson.dumps(random_json(rng)).decode()
    return random_text(rng, 200)


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator[AppProcess]:
    with fresh_postgres("wsfuzz") as database_url:
        log = Path(tmp_path_factory.mktemp("wsfuzz")) / "app.log"
        with started_app(log, DATABASE_URL=database_url, REDIS_URL=REDIS_URL, MARKET_FEED="simulator") as app:
            yield app


class Witness:
    """A well-behaved client: counts its quote batches and times its pings."""

    def __init__(self, ws: ClientConnection):
        self.ws = ws
        self.batches = 0
        self.round_trips: list[float] = []
        self._pong = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            kind = orjson.loads(frame)["type"]
            self.batches += kind == "quote_batch"
            if kind == "pong":
                self._pong.set()

    async def ping(self) -> None:
        self._pong.clear()
        started = time.perf_counter()
        await self.ws.send('{"type":"ping"}')
        await asyncio.wait_for(self._pong.wait(), 10)
        self.round_trips.append(time.perf_counter() - started)

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


async def open_witness(base_url: str) -> Witness:
    ws = await connect(ws_url(base_url))
    await receive_type(ws, "connected")
    await ws.send(orjson.dumps({"type": "subscribe", "symbols": WITNESS_SYMBOLS}).decode())
    await receive_type(ws, "quotes")
    return Witness(ws)


async def still_served(witnesses: list[Witness], seconds: float = 2.0) -> None:
    """Every witness keeps receiving quotes and answers pings quickly over the next `seconds`."""
    before = [w.batches for w in witnesses]
    for w in witnesses:
        w.round_trips.clear()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.gather(*(w.ping() for w in witnesses))
        await asyncio.sleep(0.1)
    trips = sorted(t for w in witnesses for t in w.round_trips)
    assert trips[int(0.95 * (len(trips) - 1))] < WITNESS_P95, trips
    async with asyncio.timeout(QUOTES_WITHIN):
        while not all(w.batches > b for w, b in zip(witnesses, before, strict=True)):
            await asyncio.sleep(0.05)


async def drain(ws: ClientConnection) -> None:
    """Read up to a pong; every message must be well-formed. A close must carry a documented code."""
    await ws.send('{"type":"ping"}')
    while True:
        message = await receive(ws, timeout=10)
        assert message.get("type") in KNOWN_TYPES, message
        if message["type"] == "error":
            assert message["code"] and message["message"], message
        if message["type"] == "pong":
            return


async def send_random_frames(base_url: str, seed: int) -> int:
    """One client sends random frames in chunks; reconnects after a documented close. Returns frames sent."""
    rng = random.Random(seed)  # the same frames every run: a failure is a regression, not bad luck
    examples = [random_frame(rng) for _ in range(FRAMES_PER_CLIENT)]
    sent = 0
    ws = await connect(ws_url(base_url))
    await receive(ws)
    for start in range(0, len(examples), 10):
        try:
            for frame in examples[start : start + 10]:
                await ws.send(frame)
                sent += 1
            await drain(ws)
        except ConnectionClosed:
            assert ws.close_code in DOCUMENTED_CLOSES, (ws.close_code, ws.close_reason)
            ws = await connect(ws_url(base_url))
            await receive(ws)
    await ws.close()
    return sent


async def test_random_binary_and_oversized_frames(app):
    witnesses = [await open_witness(app.url) for _ in range(3)]
    await still_served(witnesses, 1.0)

    sent = await asyncio.gather(*(send_random_frames(app.url, seed) for seed in range(RANDOM_CLIENTS)))
    assert sum(sent) == RANDOM_CLIENTS * FRAMES_PER_CLIENT
    await still_served(witnesses)

    async with connect(ws_url(app.url)) as ws:  # binary frames are refused one by one, the socket stays
        await receive(ws)
        for _ in range(50):
            await ws.send(os.urandom(64))
            assert (await receive(ws))["code"] == "INVALID_MESSAGE"
        await drain(ws)
    async with connect(ws_url(app.url), max_size=None) as ws:  # oversized, under the hard cap: refused, kept open
        await receive(ws)
        for size in (16 * 1024 + 1, 100_000, 1024 * 1024):
            await ws.send("x" * size)
            assert (await receive(ws))["code"] == "MESSAGE_TOO_LARGE"
        await drain(ws)
    for _ in range(5):  # over the hard cap: closed with 1009
        async with connect(ws_url(app.url), max_size=None) as ws:
            await receive(ws)
            await ws.send("x" * (1024 * 1024 + 1))
            await assert_closed_with(ws, 1009)
    await still_served(witnesses)
    await asyncio.gather(*(w.close() for w in witnesses))


def raw_socket(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    return sock


def handshake(path: str = "/ws") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def test_floods_half_open_and_dropped_sockets(app):
    witnesses = [await open_witness(app.url) for _ in range(3)]
    sockets: list[socket.socket] = []
    try:
        # Floods: pings as fast as the socket takes them, never reading; the server closes each with 1008.
        floods = [await connect(ws_url(app.url), max_queue=None) for _ in range(3)]
        for ws in floods:
            await receive(ws)

        async def flood(ws: ClientConnection) -> None:
            with pytest.raises(ConnectionClosed):
                for _ in range(5000):
                    await ws.send('{"type":"ping"}')
                async with asyncio.timeout(10):
                    async for _ in ws:
                        pass
            assert ws.close_code == 1008

        await asyncio.gather(*(flood(ws) for ws in floods))
        await still_served(witnesses)

        # Half-open: 30 sockets that never speak, 30 stuck mid-handshake, 30 upgraded that send half a frame.
        for _ in range(30):
            sockets.append(raw_socket(app.url))
        for _ in range(30):
            sock = raw_socket(app.url)
            sock.sendall(handshake()[:40])
            sockets.append(sock)
        for _ in range(30):
            sock = raw_socket(app.url)
            sock.sendall(handshake())
            sock.sendall(struct.pack("!BB", 0x81, 0xFE) + b"\x00")  # a masked text frame cut inside its length
            sockets.append(sock)
        await still_served(witnesses)

        # Dropped: 30 clients subscribe to everything, then vanish with a TCP reset instead of a close frame.
        for _ in range(30):
            sock = raw_socket(app.url)
            sock.sendall(handshake())
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        await still_served(witnesses)

        async with connect(ws_url(app.url)) as ws:  # a newcomer is served as usual
            await receive_type(ws, "connected")
            await ws.send('{"type":"subscribe_all"}')
            assert len((await receive_type(ws, "quotes"))["data"]) > 50
    finally:
        for sock in sockets:
            sock.close()
        await asyncio.gather(*(w.close() for w in witnesses))
    log = app.log()
    assert "Traceback" not in log, log[log.find("Traceback") - 300 :][:4000]
