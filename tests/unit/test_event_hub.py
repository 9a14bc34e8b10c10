"""The event hub: session revocations and per-user events reach the right listeners."""

import asyncio
import uuid

import orjson

from services.identity.auth import EVENTS_CHANNEL
from services.infra.bus import LocalBus
from services.infra.event_hub import EventHub, apublish_user_event, key_credential, publish_user_event


class Listener:
    def __init__(self):
        self.messages: list[dict] = []
        self.revoked = False

    def deliver(self, message: bytes) -> None:
        self.messages.append(orjson.loads(message))

    def revoke(self) -> None:
        self.revoked = True


def test_user_events_reach_every_listener_of_that_user_only():
    hub = EventHub(LocalBus())
    alice, alice_again, bob, unknown = Listener(), Listener(), Listener(), Listener()
    hub.register(alice, "hash-a1", "alice")
    hub.register(alice_again, "hash-a2", "alice")
    hub.register(bob, "hash-b", "bob")
    hub.register(unknown, "hash-u")  # token not checked yet: no user events

    hub.dispatch(orjson.dumps({"type": "order_update", "userId": "alice", "data": {"id": "o1"}}).decode())
    hub.dispatch(orjson.dumps({"type": "alert", "userId": "bob", "data": {"id": "a1"}}).decode())

    assert alice.messages == alice_again.messages == [{"type": "order_update", "data": {"id": "o1"}}]
    assert bob.messages == [{"type": "alert", "data": {"id": "a1"}}]
    assert unknown.messages == []


def test_a_revoked_session_reaches_its_listeners_even_before_the_user_is_known():
    hub = EventHub(LocalBus())
    checking, other = Listener(), Listener()
    hub.register(checking, "hash-1")
    hub.register(other, "hash-2", "alice")
    hub.dispatch('{"type":"session_revoked","tokenHash":"hash-1"}')
    assert checking.revoked and not other.revoked


def test_unregistered_listeners_hear_nothing_and_leave_no_trace():
    hub = EventHub(LocalBus())
    listener = Listener()
    hub.register(listener, "hash-1", "alice")
    hub.register(listener, "hash-2", "bob")  # re-registering replaces
    hub.dispatch('{"type":"session_revoked","tokenHash":"hash-1"}')
    hub.dispatch('{"type":"alert","userId":"alice","data":{}}')
    assert not listener.revoked and listener.messages == []
    hub.unregister(listener)
    hub.unregister(listener)
    assert not hub._by_credential and not hub._by_user and not hub._keys


def test_malformed_and_foreign_events_are_ignored():
    hub = EventHub(LocalBus())
    listener = Listener()
    hub.register(listener, "hash", "alice")
    for message in ["not json", "[]", '{"type":"alert"}', '{"type":"session_revoked"}', '{"type":"news"}']:
        hub.dispatch(message)
    assert listener.messages == [] and not listener.revoked


async def test_published_user_events_travel_over_the_bus():
    bus = LocalBus()
    hub = EventHub(bus)
    listener = Listener()
    user_id = uuid.uuid4()
    hub.register(listener, "hash", str(user_id))
    running = asyncio.create_task(hub.run())
    await asyncio.sleep(0)  # let the hub subscribe
    await asyncio.to_thread(publish_user_event, bus, user_id, "order_update", {"status": "filled"})
    async with asyncio.timeout(2):
        while not listener.messages:
            await asyncio.sleep(0.01)
    running.cancel()
    assert listener.messages == [{"type": "order_update", "data": {"status": "filled"}}]


async def test_followers_hear_their_kinds_in_order_from_the_one_subscription():
    bus = LocalBus()
    hub = EventHub(bus)
    running = asyncio.create_task(hub.run())
    orders, alerts = hub.follow("order_update"), hub.follow("alert_changed")
    first_order = asyncio.create_task(anext(orders))  # following starts with the first wait
    first_change = asyncio.create_task(anext(alerts))
    await asyncio.sleep(0)
    await apublish_user_event(bus, "alice", "order_update", {"id": "o1"})
    await bus.apublish(EVENTS_CHANNEL, '{"type":"alert_changed","id":"a1"}')
    await apublish_user_event(bus, "bob", "order_update", {"id": "o2"})
    async with asyncio.timeout(2):
        assert (await first_order)["data"] == {"id": "o1"}
        assert (await anext(orders))["data"] == {"id": "o2"}
        assert await first_change == {"type": "alert_changed", "id": "a1"}
    await orders.aclose()
    await alerts.aclose()
    assert not hub._followers  # a follower that stops leaves no queue behind
    running.cancel()


def test_a_keys_listener_hears_its_accounts_order_updates_only_and_its_keys_revocation():
    hub = EventHub(LocalBus())
    by_key, by_session = Listener(), Listener()
    hub.register(by_key, key_credential("PKA"), "alice", "account-1")
    hub.register(by_session, "hash-a", "alice")
    for kind, account in (("order_update", "account-1"), ("order_update", "account-2"), ("alert", None)):
        hub.dispatch(orjson.dumps({"type": kind, "userId": "alice", "data": {"accountId": account}}).decode())
    assert by_key.messages == [{"type": "order_update", "data": {"accountId": "account-1"}}]
    assert len(by_session.messages) == 3
    hub.dispatch('{"type":"key_revoked","keyId":"PKB"}')
    assert not by_key.revoked
    hub.dispatch('{"type":"key_revoked","keyId":"PKA"}')
    assert by_key.revoked and not by_session.revoked


def test_the_keys_of_checked_connections_and_their_revocation():
    hub = EventHub(LocalBus())
    checked, same_key, checking, by_session = Listener(), Listener(), Listener(), Listener()
    hub.register(checked, key_credential("PK1"), "alice", "account-1")
    hub.register(same_key, key_credential("PK1"), "alice", "account-1")
    hub.register(checking, key_credential("PK2"))  # still being checked: its check reads the row itself
    hub.register(by_session, "hash-1", "alice")
    assert hub.key_ids() == {"PK1"}
    hub.revoke(key_credential("PK1"))
    assert checked.revoked and same_key.revoked and not checking.revoked and not by_session.revoked
