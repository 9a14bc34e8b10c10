"""The leader lock on real Redis: one holder at a time, and a dead holder is replaced when its lease runs out."""

import asyncio
import secrets

import pytest
import redis.asyncio as aioredis

from services.infra.leader import LeaseLostError, RedisLeadership, keeping_lease
from tests.support.databases import REDIS_URL


@pytest.fixture
def key():
    return f"sherwood:test-leader:{secrets.token_hex(4)}"


async def test_only_one_instance_leads_until_it_lets_go(key):
    first, second = RedisLeadership(REDIS_URL, key), RedisLeadership(REDIS_URL, key)
    await first.acquire()
    contender = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.5)
    assert not contender.done() and await first.renew()
    await first.release()
    await asyncio.wait_for(contender, 5)
    assert await second.renew() and not await first.renew()
    await second.release()
    await first.close()
    await second.close()


async def test_a_silent_leader_is_replaced_when_its_lease_expires(key):
    dead, heir = RedisLeadership(REDIS_URL, key, lease=0.6), RedisLeadership(REDIS_URL, key, lease=0.6)
    await dead.acquire()  # and never renews again, as if killed
    await asyncio.wait_for(heir.acquire(), 5)
    assert not await dead.renew()
    await heir.release()
    await dead.close()
    await heir.close()


async def intruder_got_in(key: str, seconds: float) -> bool:
    """Whether another instance could take the lock at any moment during these seconds."""
    client = aioredis.Redis.from_url(REDIS_URL)
    try:
        for _ in range(int(seconds / 0.1)):
            if await client.set(key, "intruder", nx=True, px=600):
                return True
            await asyncio.sleep(0.1)
        return False
    finally:
        await client.aclose()


async def test_a_step_longer_than_the_lease_keeps_it_and_no_second_leader_starts(key):
    # A fresh database's backfill once outlasted the lease: a second instance started the feed meanwhile.
    leader = RedisLeadership(REDIS_URL, key, lease=0.6)
    await leader.acquire()
    step = asyncio.sleep(2.0, result="loaded")  # more than three leases
    kept, intruded = await asyncio.gather(keeping_lease(leader, step, every=0.2), intruder_got_in(key, 1.9))
    assert kept == "loaded" and not intruded
    assert await leader.renew()

    # Without it the lease runs out during the same step, and the intruder gets in.
    intruded = await asyncio.gather(asyncio.sleep(2.0), intruder_got_in(key, 1.9))
    assert intruded[1]
    await leader.close()


async def test_a_lease_lost_during_a_long_step_stops_the_leader(key):
    leader = RedisLeadership(REDIS_URL, key, lease=0.6)
    await leader.acquire()
    client = aioredis.Redis.from_url(REDIS_URL)
    await client.set(key, "someone else", px=5000)  # as if the lease had run out and another took it
    with pytest.raises(LeaseLostError):
        await keeping_lease(leader, asyncio.sleep(2.0), every=0.2)
    await client.delete(key)
    await client.aclose()
    await leader.close()
