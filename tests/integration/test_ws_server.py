"""Sherwood's uvicorn WebSocket protocol hangs up on clients that stopped reading; stock uvicorn waits forever."""

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable

import pytest
import uvicorn

from api.ws_server import WebSocketProtocol
from tests.support.server import free_port
from tests.support.ws import stalled_connection

CHUNK = secrets.token_urlsafe(12_288)  # 16 KiB that does not compress away


def flooding_app(outcome: asyncio.Future, *, close_after_blocked: float | None = None) -> Callable:
    """An ASGI app that writes to its client until a write fails or, when told, until a write is stuck and it closes."""

    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})
        try:
            while True:
                try:
                    await asyncio.wait_for(send({"type": "websocket.send", "text": CHUNK}), close_after_blocked)
                    await asyncio.sleep(0)  # the client shares this event loop
                except TimeoutError:
                    await send({"type": "websocket.close", "code": 1008})
        except Exception as exc:
            outcome.set_result(exc)

    return app


@pytest.fixture
async def serve() -> AsyncIterator[Callable]:
    servers: list[tuple[uvicorn.Server, asyncio.Task]] = []

    async def start(app, **options) -> str:
        port = free_port()
        config = uvicorn.Config(app, port=port, ws=WebSocketProtocol, lifespan="off", log_level="warning", **options)
        server = uvicorn.Server(config)
        servers.append((server, asyncio.create_task(server.serve())))
        while not server.started:
            await asyncio.sleep(0.01)
        return f"ws://127.0.0.1:{port}/"

    yield start
    for server, task in servers:
        server.should_exit = True
        await task


async def test_a_client_that_stops_answering_pings_is_hung_up_on(serve):
    outcome = asyncio.get_running_loop().create_future()
    url = await serve(flooding_app(outcome), ws_ping_interval=0.2, ws_ping_timeout=0.2, timeout_graceful_shutdown=1)
    client = await stalled_connection(url)
    async with asyncio.timeout(5):
        failure = await outcome
    assert isinstance(failure, OSError)  # the app's write failed: the socket is gone, not left closing forever
    client.transport.abort()


async def test_closing_a_client_that_stopped_reading_hangs_up_at_once(serve):
    outcome = asyncio.get_running_loop().create_future()
    app = flooding_app(outcome, close_after_blocked=0.3)
    url = await serve(app, ws_ping_interval=None, timeout_graceful_shutdown=1)
    client = await stalled_connection(url)
    async with asyncio.timeout(5):
        failure = await outcome
    assert isinstance(failure, OSError)
    client.transport.abort()
