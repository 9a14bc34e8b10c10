"""Fixed one-minute request quotas, counted in the shared cache so every instance agrees.

The cache is the only place a count lives: Redis when configured (all instances share one counter), process
memory on the embedded default. A Redis outage must not take the site down, so a failed count lets the call
through (the cache logs it) rather than refusing or failing it.
"""

from dataclasses import dataclass

from services.infra.cache import Cache
from services.infra.errors import DomainError

WINDOW = 60  # seconds


@dataclass(frozen=True)
class Quota:
    """Where a caller stands in the current window: the `X-RateLimit-*` headers say the same."""

    limit: int
    remaining: int
    reset: int  # seconds until the window ends and the count starts again

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


async def take(cache: Cache, key: str, *, limit: int, what: str) -> Quota:
    """Count one call against `key`; RATE_LIMITED (with Retry-After and the quota headers) beyond `limit` a minute."""
    count, reset = await cache.ahit(f"rate:{key}", window=WINDOW)
    quota = Quota(limit=limit, remaining=max(0, limit - count), reset=reset)
    if count > limit:
        raise DomainError(
            "RATE_LIMITED",
            f"More than {limit} {what} in a minute; slow down.",
            {"retryAfter": reset, "limit": limit},
            retry_after=reset,
            headers=quota.headers(),
        )
    return quota


async def peek(cache: Cache, key: str, *, limit: int) -> Quota:
    """The quota of `key` without counting a call (a replayed order, say)."""
    count, reset = await cache.acount(f"rate:{key}")
    return Quota(limit=limit, remaining=max(0, limit - count), reset=reset or WINDOW)
