"""The health check of one instance: its name, the leader roles it holds, and whether PostgreSQL and Redis answer."""

import asyncio
from typing import TYPE_CHECKING, Literal

from anyio import to_thread
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from services.infra.cache import RedisCache

if TYPE_CHECKING:  # the runtime builds on this module
    from services.runtime import Runtime

CHECK_TIMEOUT = 3.0  # seconds; a load balancer's probe must get an answer, not hang with a dead server


class Health(BaseModel):
    status: Literal["ok", "degraded", "unavailable"]  # degraded: Redis is away, the app serves from PostgreSQL
    instance: str
    roles: list[str]  # leader roles held here: market_feed, execution_engine, alert_engine, league_clock
    database: Literal["ok", "unreachable"]
    redis: Literal["ok", "unreachable", "not_configured"]


def _database_answers(engine: Engine) -> bool:
    # Twice: after a PostgreSQL restart the first pooled connection is found dead and the pool is refreshed.
    for _ in range(2):
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            continue
    return False


async def _within_timeout(check, *args) -> bool:
    try:
        return await asyncio.wait_for(to_thread.run_sync(check, *args, abandon_on_cancel=True), CHECK_TIMEOUT)
    except TimeoutError:
        return False


async def check(rt: "Runtime") -> Health:
    database_ok = await _within_timeout(_database_answers, rt.engine)
    if isinstance(rt.cache, RedisCache):
        redis = "ok" if await _within_timeout(rt.cache.ping) else "unreachable"
    else:
        redis = "not_configured"
    return Health(
        status="unavailable" if not database_ok else "degraded" if redis == "unreachable" else "ok",
        instance=rt.settings.instance(),
        roles=sorted(rt.roles),
        database="ok" if database_ok else "unreachable",
        redis=redis,
    )
