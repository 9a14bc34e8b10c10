"""Injected: the session cache's Redis stopped while a user logs out, then started again with its data intact
(as after a network partition).
Checked: the logged-out token is never served from the cache again, by this instance during the outage or by
any instance once Redis answers; and the cache's warnings do not repeat on every call of the outage."""

import logging

import pytest
import redis
import redis.asyncio as aioredis

from services.infra.cache import RedisCache
from tests.support.private_servers import private_redis

pytestmark = pytest.mark.timeout(60)


async def test_a_delete_that_failed_is_owed_until_redis_takes_it(caplog):
    with private_redis(persistent=True) as server:
        cache = RedisCache(
            redis.Redis.from_url(server.url, socket_timeout=0.3), aioredis.Redis.from_url(server.url), "t:"
        )
        other_instance = server.client()
        cache.set("session:abc", "user-1", ttl=3600)
        server.stop()
        with caplog.at_level(logging.WARNING, logger="services.infra.cache"):
            cache.delete("session:abc")  # the logout, while Redis cannot be reached
            for _ in range(3):
                assert cache.get("session:abc") is None
                assert await cache.aget("session:abc") is None
                assert cache.get("session:other") is None  # a miss, with a warning the first time only
                assert cache.hit("quota", window=60) == (0, 60)  # counters fail open
        server.start()
        assert other_instance.get("t:session:abc") == b"user-1"  # Redis came back with the stale entry...
        assert await cache.aget("session:abc") is None  # owed: not read from Redis even though it answers
        assert cache.get("session:abc") is None
        assert other_instance.get("t:session:abc") is None  # ...and this instance's next call settled the debt
        cache.set("session:abc", "user-2", ttl=3600)  # a key written anew is no longer owed
        assert cache.get("session:abc") == "user-2"
        assert await cache.aget("session:abc") == "user-2"
        await cache.aclose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
