"""Per-user events (order updates, alerts) and revocations of sessions and API keys, routed to the live connections
of this process.

Whichever instance causes an event publishes it on the bus; every instance subscribes once and hands it
to its own connections of that user, session or key. A connection made with an API key hears only the order
updates of the key's account.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, Protocol

import orjson

from services.infra.bus import EVENTS_CHANNEL, QUEUE_LIMIT, Bus, put_dropping_oldest

log = logging.getLogger(__name__)

UserEventKind = Literal["order_update", "alert"]
USER_EVENT_KINDS = frozenset(UserEventKind.__args__)


class Listener(Protocol):
    def deliver(self, message: bytes) -> None:
        """Take one encoded `{"type", "data"}` message for this connection's user; must not block."""

    def revoke(self) -> None:
        """The session or API key this connection authenticated with has ended."""


KEY_PREFIX = "key:"


def key_credential(key_id: str) -> str:
    """How a connection made with an API key registers (a session's registers with its token hash)."""
    return KEY_PREFIX + key_id


def publish_user_event(bus: Bus, user_id: Any, kind: UserEventKind, data: Mapping[str, Any]) -> None:
    """Tell every instance about an event of this user; `data` is the JSON form REST shows. Safe from any thread."""
    bus.publish(EVENTS_CHANNEL, _user_event(user_id, kind, data))


async def apublish_user_event(bus: Bus, user_id: Any, kind: UserEventKind, data: Mapping[str, Any]) -> None:
    """`publish_user_event` from the event loop."""
    await bus.apublish(EVENTS_CHANNEL, _user_event(user_id, kind, data))


def _user_event(user_id: Any, kind: UserEventKind, data: Mapping[str, Any]) -> str:
    return orjson.dumps({"type": kind, "userId": str(user_id), "data": data}).decode()


class EventHub:
    def __init__(self, bus: Bus):
        self._bus = bus
        self._by_credential: dict[str, set[Listener]] = defaultdict(set)
        self._by_user: dict[str, set[Listener]] = defaultdict(set)
        self._keys: dict[Listener, tuple[str, str | None, str | None]] = {}  # credential, user, account
        self._followers: dict[asyncio.Queue, frozenset[str]] = {}

    def register(
        self, listener: Listener, credential: str, user_id: str | None = None, account_id: str | None = None
    ) -> None:
        """Route the revocation of `credential` (a session's token hash, or `key_credential`) and, once the user is
        known, the user's events to `listener`: with `account_id` (an API key's), that account's order updates only.

        Register with the credential alone before checking it, so a revocation racing the check still arrives.
        """
        self.unregister(listener)
        self._keys[listener] = (credential, user_id, account_id)
        self._by_credential[credential].add(listener)
        if user_id is not None:
            self._by_user[user_id].add(listener)

    def unregister(self, listener: Listener) -> None:
        credential, user_id, _ = self._keys.pop(listener, (None, None, None))
        _discard(self._by_credential, credential, listener)
        _discard(self._by_user, user_id, listener)

    def key_ids(self) -> set[str]:
        """The API keys this process's checked connections authenticated with (one that is still being checked
        is left out: its check reads the key's row anyway)."""
        return {
            credential.removeprefix(KEY_PREFIX)
            for credential, user_id, _ in self._keys.values()
            if user_id is not None and credential.startswith(KEY_PREFIX)
        }

    def revoke(self, credential: str) -> None:
        """End every connection of this credential, as a `session_revoked` or `key_revoked` event does."""
        for listener in list(self._by_credential.get(credential, ())):
            listener.revoke()

    async def follow(self, *kinds: str) -> AsyncIterator[dict[str, Any]]:
        """Every event of these kinds this process hears, in order, from the one subscription and parse that
        serves all its followers (the engines); a follower that falls behind loses its oldest events."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_LIMIT)
        self._followers[queue] = frozenset(kinds)
        try:
            while True:
                yield await queue.get()
        finally:
            del self._followers[queue]

    async def run(self) -> None:
        """Follow the events channel for as long as the process lives."""
        async for _channel, message in self._bus.subscribe(EVENTS_CHANNEL):
            self.dispatch(message)

    def dispatch(self, message: str) -> None:
        try:
            event = orjson.loads(message)
            kind = event["type"]
            for queue, kinds in self._followers.items():
                if kind in kinds:
                    put_dropping_oldest(queue, event)
            if kind in ("session_revoked", "key_revoked"):
                self.revoke(event["tokenHash"] if kind == "session_revoked" else key_credential(event["keyId"]))
            elif kind in USER_EVENT_KINDS:
                listeners = [
                    listener
                    for listener in self._by_user.get(event["userId"], ())
                    if _hears(self._keys[listener][2], kind, event["data"])
                ]
                if listeners:
                    encoded = orjson.dumps({"type": kind, "data": event["data"]})
                    for listener in listeners:
                        listener.deliver(encoded)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignored a malformed event: %s", exc)


def _hears(account_id: str | None, kind: str, data: Mapping[str, Any]) -> bool:
    """Whether a connection limited to `account_id` (None: the whole user) hears this event."""
    return account_id is None or (kind == "order_update" and data.get("accountId") == account_id)


def _discard(index: dict[str, set[Listener]], key: str | None, listener: Listener) -> None:
    listeners = index.get(key) if key is not None else None
    if listeners is not None:
        listeners.discard(listener)
        if not listeners:
            del index[key]
