"""Running alpaca-py's streams inside a test: until the server acknowledged them, and reading their updates."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

WAIT = 10


def ws_url(sherwood, path: str) -> str:
    return sherwood.alpaca.replace("http://", "ws://") + path


@contextlib.asynccontextmanager
async def running(stream) -> AsyncIterator[None]:
    """Run an alpaca-py stream on this loop until the server has acknowledged its listen (trade updates) or its
    subscription (market data), which the SDK reads but does not hand to the bot."""
    acknowledged = asyncio.Event()
    dispatch = stream._dispatch

    async def spy(message):
        if isinstance(message, dict) and (message.get("stream") == "listening" or message.get("T") == "subscription"):
            acknowledged.set()
        await dispatch(message)

    stream._dispatch = spy
    task = asyncio.create_task(stream._run_forever())
    try:
        await asyncio.wait_for(acknowledged.wait(), WAIT)
        yield
    finally:
        await stream.stop_ws()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        with contextlib.suppress(Exception):
            await stream.close()


async def next_update(updates: asyncio.Queue, event: str):
    while True:
        update = await asyncio.wait_for(updates.get(), WAIT)
        if update.event == event:
            return update
