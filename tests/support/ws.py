"""Helpers for `/ws` tests: JSON reads with deadlines, signed-up users, and quotes published onto an app's bus."""

import asyncio
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
import redis.asyncio as aioredis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from models.market import Quote
from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from settings import load_settings
from tests.support.databases import REDIS_URL
from tests.support.factories import PASSWORD, random_email

TIMEOUT = 5.0  # seconds any single expected message may take


def ws_url(base_url: str, token: str | None = None) -> str:
    url = base_url.replace("http://", "ws://", 1) + "/ws"
    return f"{url}?token={token}" if token else url


async def receive(ws: ClientConnection, timeout: float = TIMEOUT) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def receive_type(ws: ClientConnection, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The next message of this type, skipping quote batches and anything else on the way."""
    async with asyncio.timeout(timeout):
        while (message := await receive(ws, timeout)).get("type") != kind:
            pass
    return message


async def assert_open(ws: ClientConnection) -> None:
    await ws.send('{"type":"ping"}')
    await receive_type(ws, "pong")


async def assert_closed_with(ws: ClientConnection, code: int) -> None:
    """Read on until the server closes the connection, which it must do with this code."""
    with pytest.raises(ConnectionClosed):
        while True:
            await receive(ws)
    assert ws.close_code == code


async def stalled_connection(url: str) -> ClientConnection:
    """A client that stops reading as soon as one message waits unread (max_queue=1), with a tiny receive
    buffer: the server's writes soon pile up on the server's side."""
    parts = urlsplit(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname, parts.port))
    sock.setblocking(False)
    return await connect(url, sock=sock, max_queue=1)


def sign_up(base_url: str) -> tuple[str, str]:
    """A new user's id and session token."""
    email = random_email()
    user = httpx.post(f"{base_url}/api/auth/register", json={"email": email, "password": PASSWORD}).json()["user"]
    token = httpx.post(f"{base_url}/api/auth/login", json={"email": email, "password": PASSWORD}).json()["token"]
    return user["id"], token


class Tape:
    """Publishes quotes onto the Redis bus of the app on `database_url`, the way the market feed does."""

    def __init__(self, database_url: str):
        self.namespace = load_settings(database_url=database_url).redis_namespace()
        self.redis = aioredis.Redis.from_url(REDIS_URL)

    async def publish(self, *quotes: Quote) -> None:
        mapping = {q.symbol: orjson.dumps(q.model_dump(mode="json")) for q in quotes}
        await self.redis.hset(self.namespace + "quotes", mapping=mapping)
        await self.redis.publish(self.namespace + QUOTES_CHANNEL, encode_batch(quotes))

    async def close(self) -> None:
        await self.redis.aclose()
