"""A small key-value cache with expiry: Redis when configured, process memory on the embedded default.

The cache is only ever a fast path. A Redis outage must not fail a request, so every Redis error is
logged and answered as a miss; PostgreSQL stays the source of truth.
"""

import logging
import threading
import time
from typing import Protocol

import redis
import redis.asyncio as aioredis

log = logging.getLogger(__name__)


class Cache(Protocol):
    def get(self, key: str, *, refresh_ttl: int | None = None) -> str | None: ...
    async def aget(self, key: str, *, refresh_ttl: int | None = None) -> str | None:
        """`get` for the event loop (no worker thread needed)."""
        ...

    async def aclose(self) -> None: ...
    def set(self, key: str, value: str, *, ttl: int) -> None: ...
    def delete(self, *keys: str) -> None: ...
    def add(self, key: str, value: str, *, ttl: int) -> bool:
        """Set the key only if it is absent; True when this call set it."""
        ...

    async def adelete(self, *keys: str) -> None: ...
    async def aget_and_add(self, key: str, claim: str, value: str, *, ttl: int) -> tuple[str | None, bool]:
        """`get(key)` and `add(claim, value, ttl=ttl)` together (one round trip to Redis)."""
        ...

    async def aset_and_delete(self, key: str, value: str, *, ttl: int, gone: str) -> None:
        """`set(key, value, ttl=ttl)`, then `delete(gone)` (one round trip to Redis)."""
        ...

    def hit(self, key: str, *, window: int) -> tuple[int, int]:
        """Count one event in a fixed window; returns (events so far, seconds until the window ends)."""
        ...

    def count(self, key: str) -> tuple[int, int]:
        """Events counted by `hit` in the current window, and the seconds it has left (0, 0 when none)."""
        ...

    async def ahit(self, key: str, *, window: int) -> tuple[int, int]: ...
    async def acount(self, key: str) -> tuple[int, int]: ...


class MemoryCache:
    def __init__(self, clock=time.monotonic):
        self._items: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def _live(self, key: str) -> tuple[str, float] | None:
        item = self._items.get(key)
        if item is not None and item[1] <= self._clock():
            del self._items[key]
            return None
        return item

    def get(self, key, *, refresh_ttl=None):
        with self._lock:
            item = self._live(key)
            if item is None:
                return None
            if refresh_ttl is not None:
                self._items[key] = (item[0], self._clock() + refresh_ttl)
            return item[0]

    async def aget(self, key, *, refresh_ttl=None):
        return self.get(key, refresh_ttl=refresh_ttl)  # never blocks for long: a dict behind a lock

    async def aclose(self):
        pass

    def set(self, key, value, *, ttl):
        with self._lock:
            self._sweep()
            self._items[key] = (value, self._clock() + ttl)

    def delete(self, *keys):
        with self._lock:
            for key in keys:
                self._items.pop(key, None)

    def add(self, key, value, *, ttl):
        with self._lock:
            if self._live(key) is not None:
                return False
            self._items[key] = (value, self._clock() + ttl)
            return True

    # The event loop's versions: a dict behind a lock never blocks for long.
    async def adelete(self, *keys):
        self.delete(*keys)

    async def aget_and_add(self, key, claim, value, *, ttl):
        return self.get(key), self.add(claim, value, ttl=ttl)

    async def aset_and_delete(self, key, value, *, ttl, gone):
        self.set(key, value, ttl=ttl)
        self.delete(gone)

    async def ahit(self, key, *, window):
        return self.hit(key, window=window)

    async def acount(self, key):
        return self.count(key)

    def hit(self, key, *, window):
        with self._lock:
            item = self._live(key)
            count, expires = (int(item[0]) + 1, item[1]) if item else (1, self._clock() + window)
            self._items[key] = (str(count), expires)
            return count, max(1, int(expires - self._clock() + 0.999))

    def count(self, key):
        with self._lock:
            item = self._live(key)
            if item is None:
                return 0, 0
            return int(item[0]), max(1, int(item[1] - self._clock() + 0.999))

    def _sweep(self) -> None:
        # Expired keys are otherwise only dropped when read; keep memory bounded under churn.
        if len(self._items) > 10_000:
            now = self._clock()
            self._items = {k: v for k, v in self._items.items() if v[1] > now}


_GET_AND_ADD = """
local found = redis.call('GET', KEYS[1])
local added = redis.call('SET', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[2])
return {found, added and 1 or 0}
"""
_SET_AND_DELETE = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return redis.call('DEL', KEYS[2])
"""


class RedisCache:
    """Deletes that fail (a logout while Redis is unreachable) are owed: until Redis has taken them, this instance
    treats those keys as missing and retries them before anything else, so a logged-out token does not come back
    to life from a Redis that returns with its data."""

    LOG_EVERY = 10.0  # seconds between repeats of a failure's warning: an outage fails every call

    def __init__(self, client: redis.Redis, async_client: aioredis.Redis, namespace: str):
        self._redis = client
        self._async = async_client
        self._ns = namespace
        self._owed: set[str] = set()
        self._owed_lock = threading.Lock()
        # Two commands as one script, one command on the wire: a pipeline costs the client more, twice an order.
        self._get_and_add = async_client.register_script(_GET_AND_ADD)
        self._set_and_delete = async_client.register_script(_SET_AND_DELETE)
        self._last_warning = -self.LOG_EVERY

    def _warn(self, what: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._last_warning >= self.LOG_EVERY:
            self._last_warning = now
            log.warning("%s (Redis: %s); repeats of this warning are muted for %.0f s", what, exc, self.LOG_EVERY)

    def _settle_owed(self) -> None:
        if not self._owed:
            return
        with self._owed_lock:
            keys, self._owed = list(self._owed), set()
        try:
            self._redis.delete(*keys)
        except redis.RedisError:
            with self._owed_lock:
                self._owed.update(keys)

    def ping(self) -> bool:
        """Whether Redis answers (the health check)."""
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False

    def get(self, key, *, refresh_ttl=None):
        self._settle_owed()
        if self._ns + key in self._owed:
            return None
        try:
            if refresh_ttl is None:
                value = self._redis.get(self._ns + key)
            else:
                value = self._redis.getex(self._ns + key, ex=refresh_ttl)
        except redis.RedisError as exc:
            self._warn("cache get failed, treating as a miss", exc)
            return None
        return value.decode() if value is not None else None

    async def aget(self, key, *, refresh_ttl=None):
        if self._ns + key in self._owed:
            return None
        try:
            if refresh_ttl is None:
                value = await self._async.get(self._ns + key)
            else:
                value = await self._async.getex(self._ns + key, ex=refresh_ttl)
        except (redis.RedisError, OSError) as exc:
            self._warn("cache get failed, treating as a miss", exc)
            return None
        return value.decode() if value is not None else None

    async def aclose(self):
        await self._async.aclose()

    def set(self, key, value, *, ttl):
        self._settle_owed()
        try:
            self._redis.set(self._ns + key, value, ex=ttl)
        except redis.RedisError as exc:
            self._warn("cache set failed", exc)
        else:
            with self._owed_lock:
                self._owed.discard(self._ns + key)  # written anew: the old value is gone

    def delete(self, *keys):
        names = [self._ns + key for key in keys]
        try:
            self._redis.delete(*names)
        except redis.RedisError as exc:
            self._owe(names, exc)

    async def adelete(self, *keys):
        names = [self._ns + key for key in keys]
        try:
            await self._async.delete(*names)
        except (redis.RedisError, OSError) as exc:
            self._owe(names, exc)

    def _owe(self, names: list[str], exc: Exception) -> None:
        with self._owed_lock:
            self._owed.update(names)
        log.error("cache delete failed; retried when Redis answers again: %s", exc)

    def add(self, key, value, *, ttl):
        try:
            return bool(self._redis.set(self._ns + key, value, ex=ttl, nx=True))
        except redis.RedisError as exc:
            self._warn("cache add failed, letting the database decide", exc)
            return True

    async def aget_and_add(self, key, claim, value, *, ttl):
        try:
            found, added = await self._get_and_add(keys=[self._ns + key, self._ns + claim], args=[value, ttl])
        except (redis.RedisError, OSError) as exc:
            self._warn("cache get-and-add failed, a miss and letting the database decide", exc)
            return None, True
        return (found.decode() if found is not None else None), bool(added)

    async def aset_and_delete(self, key, value, *, ttl, gone):
        try:
            await self._set_and_delete(keys=[self._ns + key, self._ns + gone], args=[value, ttl])
        except (redis.RedisError, OSError) as exc:
            self._warn("cache set-and-delete failed", exc)

    # The rate counters, for worker threads (login attempts) and for the event loop (quotas).

    def hit(self, key, *, window):
        pipe = _count_hit(self._redis.pipeline(), self._ns + key, window)
        try:
            return _hit(pipe.execute())
        except redis.RedisError as exc:
            self._warn("rate counter failed, allowing", exc)
            return 0, window

    async def ahit(self, key, *, window):
        pipe = _count_hit(self._async.pipeline(), self._ns + key, window)
        try:
            return _hit(await pipe.execute())
        except (redis.RedisError, OSError) as exc:
            self._warn("rate counter failed, allowing", exc)
            return 0, window

    def count(self, key):
        pipe = _read_count(self._redis.pipeline(), self._ns + key)
        try:
            return _count(pipe.execute())
        except redis.RedisError as exc:
            self._warn("rate counter failed, allowing", exc)
            return 0, 0

    async def acount(self, key):
        pipe = _read_count(self._async.pipeline(), self._ns + key)
        try:
            return _count(await pipe.execute())
        except (redis.RedisError, OSError) as exc:
            self._warn("rate counter failed, allowing", exc)
            return 0, 0


# One pipeline shape for the blocking and the asyncio client alike.


def _count_hit(pipe, name: str, window: int):
    pipe.incr(name)
    pipe.expire(name, window, nx=True)
    pipe.ttl(name)
    return pipe


def _hit(answers: list) -> tuple[int, int]:
    count, _, ttl = answers
    return int(count), max(1, int(ttl))


def _read_count(pipe, name: str):
    pipe.get(name)
    pipe.ttl(name)
    return pipe


def _count(answers: list) -> tuple[int, int]:
    value, ttl = answers
    return (int(value), max(1, int(ttl))) if value is not None else (0, 0)
