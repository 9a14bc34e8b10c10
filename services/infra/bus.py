"""Publish/subscribe between the parts of Sherwood: Redis across instances, or in-process on the embedded default.

Publishing is safe from any thread (services run in worker threads); subscribers are async iterators
on the event loop. A subscriber that falls behind has its oldest messages dropped rather than letting
memory grow: quotes are superseded by newer ones, and events are re-read from the database on reconnect.

While Redis is away, a message that cannot be published still reaches this process's own subscribers: the
instance running the market feed keeps live quotes, and its own sockets and engines keep hearing its events.
Other instances hear nothing until Redis returns (`degraded` tells the engines to re-read the database).
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import redis

from services.infra import redis_clients

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "events"  # per-user events and revocations of sessions and API keys, heard by every instance
QUEUE_LIMIT = 10_000
RECONNECT_DELAYS = (0.1, 0.25, 0.5)  # seconds between Redis reconnect attempts, then the last one repeats
LOCAL_POLL = 0.2  # seconds a subscriber waits on Redis before looking for messages published in-process


class Bus(Protocol):
    degraded: bool  # True while messages may not be reaching the other instances

    def publish(self, channel: str, message: str) -> None: ...
    async def apublish(self, channel: str, message: str) -> None: ...
    def subscribe(self, *channels: str) -> AsyncIterator[tuple[str, str]]: ...
    async def close(self) -> None: ...


def put_dropping_oldest(queue: asyncio.Queue, item) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)


class LocalBus:
    degraded = False

    def __init__(self):
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = {}

    def publish(self, channel, message):
        for loop, queue in list(self._subscribers.get(channel, ())):
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                put_dropping_oldest(queue, (channel, message))
            elif not loop.is_closed():
                loop.call_soon_threadsafe(put_dropping_oldest, queue, (channel, message))

    async def apublish(self, channel, message):
        self.publish(channel, message)

    async def subscribe(self, *channels):
        queue = self.attach(*channels)
        try:
            while True:
                yield await queue.get()
        finally:
            self.detach(queue, *channels)

    def attach(self, *channels: str) -> asyncio.Queue:
        """A queue (of this event loop) that receives what is published on these channels."""
        queue = asyncio.Queue(QUEUE_LIMIT)
        for channel in channels:
            self._subscribers.setdefault(channel, set()).add((asyncio.get_running_loop(), queue))
        return queue

    def detach(self, queue: asyncio.Queue, *channels: str) -> None:
        for channel in channels:
            self._subscribers[channel] = {entry for entry in self._subscribers[channel] if entry[1] is not queue}

    async def close(self):
        self._subscribers.clear()


async def _drain_for(queue: asyncio.Queue, seconds: float) -> AsyncIterator:
    """Yield what arrives on `queue` for `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            yield await asyncio.wait_for(queue.get(), left)
        except TimeoutError:
            return


class _Batches:
    """The messages waiting for the next round trip to Redis, and the task making the round trips."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.sender: asyncio.Task | None = None
        self._messages: list[tuple[str, str]] = []
        self._sent = loop.create_future()

    def join(self, channel: str, message: str) -> asyncio.Future:
        """Add a message to the next round trip; the future is done once it has gone."""
        self._messages.append((channel, message))
        return self._sent

    def take(self) -> tuple[list[tuple[str, str]], asyncio.Future] | None:
        if not self._messages:
            return None
        taken = self._messages, self._sent
        self._messages, self._sent = [], self.loop.create_future()
        return taken


class RedisBus:
    def __init__(self, url: str, namespace: str):
        self._ns = namespace
        self._sync = redis_clients.sync_client(url)
        self._async = redis_clients.async_client(url, socket_timeout=None)  # subscriptions wait on purpose
        self._local = LocalBus()  # this process's subscribers, for what Redis cannot take
        self._batches: _Batches | None = None
        self.degraded = False

    def publish(self, channel, message):
        try:
            self._sync.publish(self._ns + channel, message)
            self.degraded = False
        except redis.RedisError as exc:
            self._publish_here(channel, message, exc)

    async def apublish(self, channel, message):
        """Published when it returns. What is published while a round trip is on its way goes in one pipeline when
        it is back (a group commit): under load one round trip carries many orders' events; when quiet, none waits."""
        loop = asyncio.get_running_loop()
        if self._batches is None or self._batches.loop is not loop:  # a new event loop (tests run several)
            self._batches = _Batches(loop)
        sent = self._batches.join(channel, message)
        if self._batches.sender is None:
            self._batches.sender = loop.create_task(self._send_batches(self._batches))
        await asyncio.shield(sent)

    async def _send_batches(self, batches: "_Batches") -> None:
        try:
            while (batch := batches.take()) is not None:
                messages, sent = batch
                try:
                    if len(messages) == 1:
                        await self._async.publish(self._ns + messages[0][0], messages[0][1])
                    else:
                        async with self._async.pipeline(transaction=False) as pipe:
                            for channel, message in messages:
                                pipe.publish(self._ns + channel, message)
                            await pipe.execute()
                    self.degraded = False
                except redis.RedisError as exc:
                    for channel, message in messages:
                        self._publish_here(channel, message, exc)
                finally:
                    if not sent.done():
                        sent.set_result(None)
        finally:
            batches.sender = None

    def _publish_here(self, channel: str, message: str, exc: Exception) -> None:
        if not self.degraded:
            log.warning("publish to %s failed (%s); delivering in this process only until Redis returns", channel, exc)
        self.degraded = True
        self._local.publish(channel, message)

    async def subscribe(self, *channels):
        """Yield messages forever, reconnecting by itself after Redis goes away and comes back; what this process
        published while Redis was away arrives too."""
        names = [self._ns + channel for channel in channels]
        here = self._local.attach(*channels)
        attempt = 0
        try:
            while True:
                pubsub = self._async.pubsub(ignore_subscribe_messages=True)
                try:
                    await pubsub.subscribe(*names)
                    if attempt:
                        log.info("resubscribed to %s after a Redis outage", ", ".join(channels))
                        self.degraded = False
                    attempt = 0
                    while True:
                        while not here.empty():
                            yield here.get_nowait()
                        message = await pubsub.get_message(timeout=LOCAL_POLL)
                        if message is not None:
                            yield message["channel"].decode().removeprefix(self._ns), message["data"].decode()
                except (redis.RedisError, OSError) as exc:
                    if attempt == 0:
                        log.warning("lost the Redis subscription (%s); reconnecting", exc)
                        self.degraded = True
                    delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                    attempt += 1
                    async for item in _drain_for(here, delay):
                        yield item
                finally:
                    with contextlib.suppress(redis.RedisError, OSError):
                        await pubsub.aclose()
        finally:
            self._local.detach(here, *channels)

    async def close(self):
        await self._async.aclose()
        self._sync.close()
