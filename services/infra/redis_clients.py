"""Redis clients as every part of Sherwood makes them: short timeouts, and one retry on a dropped connection.

After Redis restarts, every pooled connection is dead; without the retry the first command on each one fails
(a missed quote catch-up, a cache miss, a lost leader renewal) although Redis is back.
"""

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

TIMEOUT = 2.0  # seconds to connect, and to wait for an answer (where the caller does not wait on purpose)
_RETRY_ON = [redis.ConnectionError, redis.TimeoutError]


def sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=_RETRY_ON,
    )


def async_client(url: str, *, socket_timeout: float | None = TIMEOUT) -> aioredis.Redis:
    """`socket_timeout=None` for a client that blocks on purpose (a pub/sub subscription)."""
    return aioredis.Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=TIMEOUT,
        retry=AsyncRetry(NoBackoff(), 1),
        retry_on_error=_RETRY_ON,
    )
