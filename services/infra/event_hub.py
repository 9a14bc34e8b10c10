"""Per-user events (order updates, alerts) and session revocations, routed to the live connections of this process.

Whichever instance causes an event publishes it on the bus; every instance subscribes once and hands it
to its own connections of that user or session.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal, Protocol

import orjson

from services.infra.bus import QUEUE_LIMIT, Bus, put_dropping_oldest

EVENTS_CHANNEL = "events"  # user events and session revocations, between instances

log = logging.getLogger(__name__)

UserEventKind = Literal["order_update", "alert"]
USER_EVENT_KINDS = frozenset(UserEventKind.__args__)


class Listener(Protocol):
    def deliver(self, message: bytes) -> None:
        """Take one encoded `{"type", "data"}` message for this connection's user; must not block."""

    def revoke(self) -> None:
        """The session this connection authenticated with has ended."""


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
        self._by_session: dict[str, set[Listener]] = defaultdict(set)
        self._by_user: dict[str, set[Listener]] = defaultdict(set)
        self._keys: dict[Listener, tuple[str, str | None]] = {}
        self._followers: dict[asyncio.Queue, frozenset[str]] = {}

    def register(self, listener: Listener, token_hash: str, user_id: str | None = None) -> None:
        """Route this session's revocation and, once the user is known, the user's events to `listener`.

        Register with the token hash alone before checking the token, so a logout racing the check still arrives.
        """
        self.unregister(listener)
        self._keys[listener] = (token_hash, user_id)
        self._by_session[token_hash].add(listener)
        if user_id is not None:
            self._by_user[user_id].add(listener)

    def unregister(self, listener: Listener) -> None:
        token_hash, user_id = self._keys.pop(listener, (None, None))
        _discard(self._by_session, token_hash, listener)
        _discard(self._by_user, user_id, listener)

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
            if kind == "session_revoked":
                for listener in list(self._by_session.get(event["tokenHash"], ())):
                    listener.revoke()
            elif kind in USER_EVENT_KINDS:
                listeners = list(self._by_user.get(event["userId"], ()))
                if listeners:
                    encoded = orjson.dumps({"type": kind, "data": event["data"]})
                    for listener in listeners:
                        listener.deliver(encoded)
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            log.warning("ignored a malformed event: %s", exc)


def _discard(index: dict[str, set[Listener]], key: str | None, listener: Listener) -> None:
    listeners = index.get(key) if key is not None else None
    if listeners is not None:
        listeners.discard(listener)
        if not listeners:
            del index[key]
