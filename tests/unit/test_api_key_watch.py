"""The watch on API key sockets: it asks the database only while the bus is degraded and once more after, and
closes the sockets of the keys the database calls dead."""

import asyncio

from services.infra.bus import LocalBus
from services.infra.event_hub import EventHub, key_credential
from services.trading import api_keys
from tests.unit.test_event_hub import Listener


class Bus(LocalBus):
    degraded = False


async def test_it_checks_while_degraded_and_once_after_and_closes_dead_keys_sockets(monkeypatch):
    asked: list[set[str]] = []
    dead = {"PKDEAD"}

    def dead_in(_engine, key_ids: set[str]) -> set[str]:
        asked.append(set(key_ids))
        return key_ids & dead

    monkeypatch.setattr(api_keys, "RECHECK_EVERY", 0.02)
    monkeypatch.setattr(api_keys, "_dead_in", dead_in)
    bus = Bus()
    hub = EventHub(bus)
    doomed, alive = Listener(), Listener()
    hub.register(doomed, key_credential("PKDEAD"), "alice", "account-1")
    hub.register(alive, key_credential("PKLIVE"), "alice", "account-1")
    watch = asyncio.create_task(api_keys.close_dead_sockets(None, bus, hub))
    try:
        await asyncio.sleep(0.1)
        assert asked == []  # a healthy bus: nothing read
        bus.degraded = True
        while not doomed.revoked:
            await asyncio.sleep(0.01)
        assert not alive.revoked and asked[0] == {"PKDEAD", "PKLIVE"}
        hub.unregister(doomed)  # the socket closed
        bus.degraded = False
        await asyncio.sleep(0.1)
        checks = len(asked)
        assert asked[-1] == {"PKLIVE"}  # once more after the bus recovered ...
        await asyncio.sleep(0.1)
        assert len(asked) == checks  # ... and then no more
    finally:
        watch.cancel()
