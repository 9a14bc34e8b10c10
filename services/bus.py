"""Publish/subscribe between the parts of Sherwood: Redis across instances, or in-process on the embedded default.

Publishing is safe from any thread (services run in worker threads); subscribers are async iterators
on the event loop. A subscriber that falls behind has its oldest messages dropped rather than letting
memory grow: quotes are superseded by newer ones, and events are re-read from the database on reconnect.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Protocol

import redis
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000
RECONNECT_DELAYS = (0.1, 0.25, 0.5, 1.0)  # seconds between Redis reconnect attempts, then the last one repeats


class Bus(Protocol):
    def publish(self, channel: str, message: str) -> None: ...
    async def apublish(self, channel: str, message: str) -> None: ...
    def subscribe(self, *channels: str) -> AsyncIterator[tuple[str, str]]: ...
    async def close(self) -> None: ...


def _put_dropping_oldest(queue: asyncio.Queue, item) -> None:
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)


class LocalBus:
    def __init__(self):
        self._subscribers: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue]]] = {}

    def publish(self, channel, message):
        for loop, queue in list(self._subscribers.get(channel, ())):
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                _put_dropping_oldest(queue, (channel, message))
            elif not loop.is_closed():
                loop.call_soon_threadsafe(_put_dropping_oldest, queue, (channel, message))

    async def apublish(self, channel, message):
        self.publish(channel, message)

    async def subscribe(self, *channels):
        entry = (asyncio.get_running_loop(), asyncio.Queue(QUEUE_LIMIT))
        for channel in channels:
            self._subscribers.setdefault(channel, set()).add(entry)
        try:
            while True:
                yield await entry[1].get()
        finally:
            for channel in channels:
                self._subscribers[channel].discard(entry)

    async def close(self):
        self._subscribers.clear()


class RedisBus:
    def __init__(self, url: str, namespace: str):
        self._ns = namespace
        self._sync = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._async = aioredis.Redis.from_url(url, socket_connect_timeout=2)

    def publish(self, channel, message):
        try:
            self._sync.publish(self._ns + channel, message)
        except redis.RedisError as exc:
            log.warning("publish to %s failed: %s", channel, exc)

    async def apublish(self, channel, message):
        try:
            await self._async.publish(self._ns + channel, message)
        except redis.RedisError as exc:
            log.warning("publish to %s failed: %s", channel, exc)

    async def subscribe(self, *channels):
        """Yield messages forever, reconnecting by itself after Redis goes away and comes back."""
        names = [self._ns + channel for channel in channels]
        attempt = 0
        while True:
            pubsub = self._async.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*names)
                if attempt:
                    log.info("resubscribed to %s after a Redis outage", ", ".join(channels))
                attempt = 0
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        yield message["channel"].decode().removeprefix(self._ns), message["data"].decode()
            except (redis.RedisError, OSError) as exc:
                if attempt == 0:
                    log.warning("lost the Redis subscription (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)])
                attempt += 1
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    await pubsub.aclose()

    async def close(self):
        await self._async.aclose()
        self._sync.close()
