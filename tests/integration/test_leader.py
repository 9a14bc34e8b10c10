"""The leader lock on real Redis: one holder at a time, and a dead holder is replaced when its lease runs out."""

import asyncio
import secrets

import pytest

from services.leader import RedisLeadership
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
