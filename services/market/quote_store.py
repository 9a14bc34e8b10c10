"""The latest quote of every symbol, where every instance can read it: a Redis hash, or process memory."""

import logging
from typing import Protocol

import orjson
import redis

from models.market import Quote
from services.infra import redis_clients

log = logging.getLogger(__name__)


class QuoteStore(Protocol):
    async def save(self, quotes: list[Quote]) -> None: ...
    async def load(self) -> list[Quote]: ...


class MemoryQuoteStore:
    def __init__(self):
        self._quotes: dict[str, Quote] = {}

    async def save(self, quotes):
        self._quotes.update((q.symbol, q) for q in quotes)

    async def load(self):
        return list(self._quotes.values())


class RedisQuoteStore:
    def __init__(self, url: str, namespace: str):
        self._redis = redis_clients.async_client(url)
        self._key = namespace + "quotes"

    async def save(self, quotes):
        if quotes:
            mapping = {q.symbol: orjson.dumps(q.model_dump(mode="json")) for q in quotes}
            await self._redis.hset(self._key, mapping=mapping)

    async def load(self):
        try:
            raw = await self._redis.hgetall(self._key)
        except redis.RedisError as exc:
            log.warning("could not load the latest quotes: %s", exc)
            return []
        return [Quote.model_validate(orjson.loads(value)) for value in raw.values()]

    async def close(self) -> None:
        await self._redis.aclose()
