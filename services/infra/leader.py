"""Leader election: work that must run once across all instances (the market feed, the execution engine)
runs where the lock is held. The lock expires when its holder dies, so another instance takes over.

While Redis is unreachable nobody can take the lock, so its holder keeps leading: the feed keeps this
instance's quotes live and the engine keeps filling (each fill re-checks under a row lock, so even a second
leader during a partition cannot fill an order twice). A Redis that comes back empty has lost the lock: the
holder takes it again unless another instance got there first."""

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import redis

from services.infra import redis_clients

log = logging.getLogger(__name__)

LEASE_SECONDS = 6.0  # a dead leader is replaced within this long (plus ACQUIRE_EVERY)
RENEW_EVERY = LEASE_SECONDS / 3
ACQUIRE_EVERY = 0.5  # how often a follower tries the lock: one small script, and the takeover waits at most this

_TAKE = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if not holder then redis.call('set', KEYS[1], ARGV[1], 'px', ARGV[2]) return 1 end
return 0
"""
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


T = TypeVar("T")


class LeaseLostError(Exception):
    """The lock ran out while a long step ran: another instance may already do this work."""


class Leadership(Protocol):
    async def acquire(self) -> None:
        """Return once this process holds the lock."""
        ...

    async def renew(self) -> bool:
        """Extend the lease; False once it is lost (stop the work and acquire again)."""
        ...

    async def release(self) -> None: ...


class SoleLeadership:
    """The embedded default has one instance: it always leads."""

    async def acquire(self):
        return None

    async def renew(self):
        return True

    async def release(self):
        return None


class RedisLeadership:
    def __init__(self, url: str, key: str, *, lease: float = LEASE_SECONDS):
        self._redis = redis_clients.async_client(url)
        self._key = key
        self._lease_ms = int(lease * 1000)
        self._id = secrets.token_hex(8)

    async def acquire(self):
        while True:
            try:
                # Take the lock if it is free, or keep it if it is already ours (a role that failed and restarts).
                if await self._redis.eval(_TAKE, 1, self._key, self._id, self._lease_ms):
                    return
            except redis.RedisError as exc:
                log.debug("leader lock %s unavailable: %s", self._key, exc)
            await asyncio.sleep(ACQUIRE_EVERY)

    async def renew(self):
        try:
            return bool(await self._redis.eval(_TAKE, 1, self._key, self._id, self._lease_ms))
        except redis.RedisError:
            return True  # Redis is away: nobody can take the lock from us

    async def release(self):
        with contextlib.suppress(redis.RedisError):  # if Redis is away, the lease expires by itself
            await self._redis.eval(_RELEASE, 1, self._key, self._id)

    async def close(self) -> None:
        await self._redis.aclose()


async def keeping_lease(leadership: Leadership, step: Awaitable[T], *, every: float = RENEW_EVERY) -> T:
    """Await a long step (a start-up load, a backfill) while renewing the lease, which would otherwise run out
    before the step ends and let a second instance lead at the same time. Raises LeaseLostError if it is lost."""
    task = asyncio.ensure_future(step)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=every)
            if done:
                return task.result()
            if not await leadership.renew():
                raise LeaseLostError
    finally:
        if not task.done():
            task.cancel()  # not awaited: a worker thread finishes by itself, and nothing waits on it


async def lead_forever(
    leadership: Leadership, role: str, lead: Callable[[], Awaitable[None]], *, held: set[str]
) -> None:
    """Run `lead` whenever this process holds the lock, for as long as the process lives.

    `role` is in `held` while `lead` runs (the health check reports it). `lead` returns when it notices the
    lock is lost; if it fails, it starts again (logged) rather than leaving the role unfilled.
    """
    name = role.replace("_", " ")
    while True:
        await leadership.acquire()
        log.info("this instance now runs the %s", name)
        held.add(role)
        try:
            await lead()
        except asyncio.CancelledError:
            await leadership.release()
            raise
        except LeaseLostError:
            log.warning("lost the %s lock during a long step; another instance runs it now", name)
        except Exception:
            log.exception("the %s failed; starting it again", name)
            await asyncio.sleep(1)
        finally:
            held.discard(role)
