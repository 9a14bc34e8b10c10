"""The alert engine: fires price alerts when the last price reaches their level.

It runs on one instance at a time (the "alerts" leader lock), like the execution engine. An in-memory book
keeps each symbol's active alerts sorted by level, so a tick touches only the alerts it crosses. The book
is loaded from the database when this instance becomes leader and every REBUILD_EVERY after, as a safety
net for lost events; between loads, `alert_changed` events from every instance keep it current. A new
alert is checked against the latest quote as soon as it is indexed, so one created with the price already
at or beyond its level fires at once. Firing is a conditional update (services.alerts.trigger), so an
alert fires once however many attempts race.
"""

import asyncio
import bisect
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from anyio import to_thread

from models.market import Quote
from models.types import utcnow
from services.alerts import alerts
from services.infra.db import session_scope
from services.infra.leader import RENEW_EVERY, Leadership, keeping_lease, lead_forever

if TYPE_CHECKING:  # the runtime builds on this module
    from services.runtime import Runtime

log = logging.getLogger(__name__)

REBUILD_EVERY = 30.0  # seconds

_MAX_ID = uuid.UUID(int=(1 << 128) - 1)  # sorts after every id at the same level


class AlertBook:
    """Active alerts by symbol, each side sorted by level: (level, alert id) ascending."""

    def __init__(self) -> None:
        self._above: dict[str, list[tuple[Decimal, uuid.UUID]]] = {}
        self._below: dict[str, list[tuple[Decimal, uuid.UUID]]] = {}
        self._entries: dict[uuid.UUID, tuple[list, tuple[Decimal, uuid.UUID]]] = {}

    def add(self, alert_id: uuid.UUID, symbol: str, condition: str, price: Decimal) -> None:
        if alert_id in self._entries:
            return
        side = self._above if condition == "above" else self._below
        levels, entry = side.setdefault(symbol, []), (price, alert_id)
        bisect.insort(levels, entry)
        self._entries[alert_id] = (levels, entry)

    def remove(self, alert_id: uuid.UUID) -> None:
        found = self._entries.pop(alert_id, None)
        if found is not None:
            levels, entry = found
            del levels[bisect.bisect_left(levels, entry)]

    def crossed(self, symbol: str, last: Decimal) -> list[uuid.UUID]:
        """The alerts `last` reaches: `above` ones at or under it, `below` ones at or over it."""
        above, below = self._above.get(symbol, []), self._below.get(symbol, [])
        hits = [alert_id for _, alert_id in above[: bisect.bisect_right(above, (last, _MAX_ID))]]
        return hits + [alert_id for _, alert_id in below[bisect.bisect_left(below, (last,)) :]]

    def symbols(self) -> list[str]:
        return [s for side in (self._above, self._below) for s, levels in side.items() if levels]

    def __contains__(self, alert_id: uuid.UUID) -> bool:
        return alert_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)


def apply_change(book: AlertBook, event: dict) -> str:
    """File one `alert_changed` event in the book; returns the alert's symbol."""
    data = event["data"]
    alert_id = uuid.UUID(data["id"])
    if event.get("deleted") or data["status"] != "active":
        book.remove(alert_id)
    else:
        book.add(alert_id, data["symbol"], data["condition"], Decimal(data["price"]))
    return data["symbol"]


class AlertEngine:
    def __init__(self, rt: "Runtime", leadership: Leadership, *, now: Callable[[], datetime] = utcnow):
        self._rt = rt
        self._leadership = leadership
        self._now = now
        self._book = AlertBook()
        self._arrived: list[dict] | None = None  # changes heard while a load runs, replayed onto its result
        self._in_flight: set[uuid.UUID] = set()
        self._tasks: set[asyncio.Task] = set()

    async def run(self) -> None:
        await lead_forever(self._leadership, "alert_engine", self._lead, held=self._rt.roles)

    async def _lead(self) -> None:
        follow = asyncio.create_task(self._follow_changes())  # before the load: a change made during it is heard
        remove_listener = self._rt.hub.add_listener(self._on_quotes)
        try:
            await self._rebuild()
            next_rebuild = time.monotonic() + REBUILD_EVERY
            while True:
                await asyncio.sleep(RENEW_EVERY)
                if not await self._leadership.renew():
                    log.warning("lost the alerts lock; another instance fires alerts now")
                    return
                if time.monotonic() >= next_rebuild:
                    next_rebuild = time.monotonic() + REBUILD_EVERY
                    await self._rebuild()
        finally:
            remove_listener()
            follow.cancel()
            for task in list(self._tasks):
                task.cancel()

    def _on_quotes(self, quotes: Iterable[Quote]) -> None:
        """Called on the event loop with each batch of quotes: start a firing attempt for every alert crossed."""
        for quote in quotes:
            for alert_id in self._book.crossed(quote.symbol, quote.last):
                if alert_id not in self._in_flight:
                    self._in_flight.add(alert_id)
                    task = asyncio.create_task(self._fire(alert_id))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)

    async def _fire(self, alert_id: uuid.UUID) -> None:
        try:
            await to_thread.run_sync(self._trigger, alert_id)
            self._book.remove(alert_id)  # fired now, or already fired or deleted elsewhere: either way, done
        except Exception:
            log.exception("firing alert %s failed; the next quote tries again", alert_id)
        finally:
            self._in_flight.discard(alert_id)

    def _trigger(self, alert_id: uuid.UUID) -> None:
        with session_scope(self._rt.engine) as db:
            alerts.trigger(db, self._rt.bus, alert_id=alert_id, now=self._now())

    def _check_against_latest(self, symbols: Iterable[str]) -> None:
        """The last price may already be at or beyond a level the book just learnt of."""
        latest = self._rt.hub.latest
        self._on_quotes([latest[s] for s in set(symbols) if s in latest])

    async def _rebuild(self) -> None:
        self._arrived = []
        try:
            book = await keeping_lease(self._leadership, to_thread.run_sync(self._load))
        finally:
            arrived, self._arrived = self._arrived, None
        for event in arrived:
            apply_change(book, event)
        self._book = book
        self._check_against_latest(book.symbols())

    def _load(self) -> AlertBook:
        book = AlertBook()
        with session_scope(self._rt.engine) as db:
            for alert in alerts.active(db):
                book.add(alert.id, alert.symbol, alert.condition, alert.price)
        return book

    async def _follow_changes(self) -> None:
        """Alerts created or deleted on any instance reach the book between loads."""
        async for event in self._rt.events.follow(alerts.ALERT_CHANGED):
            try:
                symbol = apply_change(self._book, event)
                if self._arrived is not None:
                    self._arrived.append(event)
                self._check_against_latest([symbol])
            except (ValueError, KeyError, TypeError, AttributeError, ArithmeticError) as exc:
                log.warning("ignored a malformed alert change: %s", exc)
