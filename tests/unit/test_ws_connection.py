"""A `/ws` connection's life, over a stand-in socket: how it ends and what it cleans up."""

import asyncio
import threading

import orjson
import pytest

from api import ws
from services.infra.bus import LocalBus
from services.infra.event_hub import EventHub
from services.market.quote_hub import QuoteHub
from services.market.quote_store import MemoryQuoteStore


class Socket:
    """Just enough of Starlette's WebSocket: what the client sends, and what it is sent."""

    def __init__(self, *, stalled: bool = False):
        self.incoming: asyncio.Queue[dict] = asyncio.Queue()
        self.sent: list[dict] = []
        self.closed_with: int | None = None
        self.stalled = stalled

    async def receive(self) -> dict:
        return await self.incoming.get()

    async def send(self, message: dict) -> None:
        if self.stalled:
            await asyncio.Event().wait()  # a client that never reads: the send never completes
        self.sent.append(orjson.loads(message["text"]))

    async def close(self, code: int) -> None:
        self.closed_with = code


@pytest.fixture
def hubs() -> tuple[QuoteHub, EventHub]:
    return QuoteHub(LocalBus(), MemoryQuoteStore()), EventHub(LocalBus())


async def test_a_client_that_stops_reading_is_dropped_and_forgotten(hubs, monkeypatch):
    monkeypatch.setattr(ws, "SEND_TIMEOUT", 0.05)
    quotes, events = hubs
    socket = Socket(stalled=True)
    connection = ws.Connection(socket, quotes, events)
    connection._stream.subscribe(["AAPL"])
    events.register(connection, "hash", "alice")
    async with asyncio.timeout(2):
        await connection.serve(None)
    assert socket.closed_with == ws.CLOSE_POLICY_VIOLATION
    assert not quotes._streams["AAPL"] and not events._keys


@pytest.mark.parametrize(
    ("auth", "revocation"),
    [
        ({"token": "t0ken"}, {"type": "session_revoked", "tokenHash": ws.auth.token_hash("t0ken")}),
        ({"keyId": "PK" + "0" * 18, "secret": "s" * 40}, {"type": "key_revoked", "keyId": "PK" + "0" * 18}),
    ],
)
async def test_a_revocation_during_the_check_still_ends_the_connection(hubs, monkeypatch, auth, revocation):
    checking, release = asyncio.Event(), threading.Event()

    async def slow_check(_credentials):
        checking.set()
        await asyncio.to_thread(release.wait, 2)
        raise AssertionError("the connection should not wait for this answer to end")

    monkeypatch.setattr(ws, "identify", slow_check)
    quotes, events = hubs
    socket = Socket()
    serving = asyncio.create_task(ws.Connection(socket, quotes, events).serve(None))
    await socket.incoming.put({"type": "websocket.receive", "text": orjson.dumps({"type": "auth", **auth}).decode()})
    async with asyncio.timeout(2):
        await checking.wait()
    events.dispatch(orjson.dumps(revocation).decode())
    release.set()
    async with asyncio.timeout(2):
        await serving
    assert socket.sent[-1]["code"] == "INVALID_TOKEN"
    assert socket.closed_with == ws.CLOSE_INVALID_TOKEN


async def test_a_client_that_owes_too_many_events_is_dropped(hubs, monkeypatch):
    monkeypatch.setattr(ws, "EVENT_BACKLOG", 2)
    quotes, events = hubs
    socket = Socket(stalled=True)
    connection = ws.Connection(socket, quotes, events)
    serving = asyncio.create_task(connection.serve(None))
    for _ in range(4):
        connection.deliver(b'{"type":"alert","data":{}}')
    async with asyncio.timeout(2):
        await serving
    assert socket.closed_with == ws.CLOSE_POLICY_VIOLATION
