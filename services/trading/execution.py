"""The execution engine: fills resting orders when the market reaches them, and expires day orders.

It runs on one instance at a time (a leader lock). An in-memory book per symbol keeps resting orders sorted
by the price that sets them off, so a tick touches only the orders it crosses. The book is rebuilt from the
database when this instance becomes leader and then every REBUILD_EVERY as a safety net for lost events
(every round while Redis is away);
between rebuilds, order updates from every instance keep it current. Each fill is its own transaction that
re-checks the order under lock, so an order fills once however many attempts race.

A trailing stop follows every last price in memory; where it stands is saved through the store (and announced
as an order update) at most once a second per order, and a fill attempt carries the best price seen, so an
unsaved move is never lost to the fill; a restart trails on from the last saved mark.
"""

import asyncio
import bisect
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from anyio import to_thread

from models.market import Quote
from models.order import Order, OrderType
from models.types import utcnow
from services.infra.db import session_scope
from services.infra.leader import RENEW_EVERY, Leadership, keeping_lease, lead_forever
from services.trading import orders, portfolio, rules

if TYPE_CHECKING:  # the runtime builds on this module
    from services.runtime import Runtime

log = logging.getLogger(__name__)

REBUILD_EVERY = 30.0  # seconds
SNAPSHOT_EVERY = 60.0  # seconds between equity snapshots of every account
IDEMPOTENCY_KEEP = timedelta(hours=48)
SAVE_TRAIL_EVERY = 1.0  # seconds: at most this often per trailing stop is its move saved and announced


class TriggerBook:
    """Resting orders of one symbol, each under the price that sets it off."""

    def __init__(self) -> None:
        # (price, order id) ascending. A buy limit fills when ask <= limit, a sell limit when bid >= limit;
        # a buy stop fires when last >= stop, a sell stop when last <= stop.
        self.buy_limits: list[tuple] = []
        self.sell_limits: list[tuple] = []
        self.buy_stops: list[tuple] = []
        self.sell_stops: list[tuple] = []
        self.at_market: set[uuid.UUID] = set()  # market orders queued for the open
        self.trailing: dict[uuid.UUID, Order] = {}  # trailing stops not yet triggered: their stop moves
        self._orders: dict[uuid.UUID, Order] = {}  # what a fill attempt needs of each (its account, its symbol)

    def _lists(self):
        return (self.buy_limits, self.sell_limits, self.buy_stops, self.sell_stops)

    def add(self, order: Order) -> None:
        self._orders[order.id] = order
        if order.order_type == OrderType.TRAILING_STOP and order.triggered_at is None:
            self.trailing[order.id] = order
        elif order.stop_price is not None and order.triggered_at is None:
            side = self.buy_stops if order.side == "buy" else self.sell_stops
            bisect.insort(side, (order.stop_price, order.id))
        elif order.limit_price is not None:
            side = self.buy_limits if order.side == "buy" else self.sell_limits
            bisect.insort(side, (order.limit_price, order.id))
        else:
            self.at_market.add(order.id)

    def remove(self, order_id: uuid.UUID) -> None:
        self._orders.pop(order_id, None)
        self.at_market.discard(order_id)
        self.trailing.pop(order_id, None)
        for entries in self._lists():
            entries[:] = [entry for entry in entries if entry[1] != order_id]

    def crossed(self, quote: Quote) -> list[Order]:
        """The orders this quote reaches (their fill re-checks under lock)."""
        hits = list(self.at_market)
        hits += [oid for _, oid in self.buy_limits[bisect.bisect_left(self.buy_limits, (quote.ask,)) :]]
        hits += [oid for _, oid in self.sell_limits[: bisect.bisect_right(self.sell_limits, (quote.bid, _MAX_ID))]]
        hits += [oid for _, oid in self.buy_stops[: bisect.bisect_right(self.buy_stops, (quote.last, _MAX_ID))]]
        hits += [oid for _, oid in self.sell_stops[bisect.bisect_left(self.sell_stops, (quote.last,)) :]]
        hits += [oid for oid, order in self.trailing.items() if _reached(order, quote.last)]
        return [self._orders[oid] for oid in hits]

    def follow(self, quote: Quote) -> list[Order]:
        """Move the trailing stops this quote betters (in memory); returns those that moved."""
        return [order for order in self.trailing.values() if rules.follow(order, quote.last)]

    def __len__(self) -> int:
        return len(self.at_market) + len(self.trailing) + sum(len(entries) for entries in self._lists())


def _reached(order: Order, last) -> bool:
    return last >= order.stop_price if order.side == "buy" else last <= order.stop_price


_MAX_ID = uuid.UUID(int=(1 << 128) - 1)  # sorts after every id at the same price


class ExecutionEngine:
    def __init__(self, rt: "Runtime", leadership: Leadership, *, now: Callable[[], datetime] = utcnow):
        self._rt = rt
        self._leadership = leadership
        self._now = now
        self._books: dict[str, TriggerBook] = defaultdict(TriggerBook)
        self._in_flight: set[uuid.UUID] = set()
        self._tasks: set[asyncio.Task] = set()
        self._marks: dict[uuid.UUID, Order] = {}  # each trailing stop as it stands in memory (ahead of the saved)
        self._saving: set[uuid.UUID] = set()  # trailing stops with a save scheduled
        self._saved_at: dict[uuid.UUID, float] = {}  # when each was last saved (monotonic)

    async def run(self) -> None:
        await lead_forever(self._leadership, "execution_engine", self._lead, held=self._rt.roles)

    async def _lead(self) -> None:
        await self._rebuild()
        remove_listener = self._rt.hub.add_listener(self._on_quotes)
        follow = asyncio.create_task(self._follow_order_updates())
        now = time.monotonic()
        next_rebuild, next_snapshot = now + REBUILD_EVERY, now + SNAPSHOT_EVERY
        was_degraded = False
        try:
            while True:
                await asyncio.sleep(RENEW_EVERY)
                if not await self._leadership.renew():
                    log.warning("lost the execution lock; another instance fills orders now")
                    return
                await self._expire_due()
                now = time.monotonic()
                # While the bus is degraded (Redis away), other instances' orders reach the book only from the
                # database: re-read it every round, and once more when the bus recovers.
                degraded = self._rt.bus.degraded
                if now >= next_rebuild or degraded or was_degraded:
                    next_rebuild = now + REBUILD_EVERY
                    await self._rebuild()
                was_degraded = degraded
                if now >= next_snapshot:
                    next_snapshot = now + SNAPSHOT_EVERY
                    await self._housekeeping()
        finally:
            remove_listener()
            follow.cancel()
            for task in list(self._tasks):
                task.cancel()

    def _on_quotes(self, quotes: list[Quote]) -> None:
        """Called by the hub on the event loop for each batch: start a fill attempt for every order crossed."""
        for quote in quotes:
            book = self._books.get(quote.symbol)
            if not book:
                continue
            for order in book.follow(quote):
                self._marks[order.id] = order
                if order.id not in self._saving:
                    self._saving.add(order.id)
                    self._spawn(self._save_trail(order))
            for order in book.crossed(quote):
                if order.id not in self._in_flight:
                    self._in_flight.add(order.id)
                    self._spawn(self._attempt(order, quote))

    def _spawn(self, work) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _save_trail(self, order: Order) -> None:
        """Save a trailing stop's move, at most once a second: moves in between are saved together."""
        rt = self._rt
        try:
            wait = self._saved_at.get(order.id, 0.0) + SAVE_TRAIL_EVERY - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        finally:
            self._saving.discard(order.id)  # from here on, a new move schedules the next save
        self._saved_at[order.id] = time.monotonic()
        moved = self._marks.get(order.id, order)
        try:
            await orders.trail(rt.store, rt.bus, resting=moved, mark=moved.high_water_mark, now=self._now())
        except Exception:
            log.exception("saving trailing stop %s failed; it trails on in memory", order.id)

    async def _attempt(self, resting: Order, quote: Quote) -> None:
        rt = self._rt
        try:
            now = self._now()
            mark = self._marks[resting.id].high_water_mark if resting.id in self._marks else None
            order = await orders.fill(
                rt.store, rt.bus, resting=resting, quote=quote, clock=rt.clock, now=now, mark=mark
            )
            # No re-check against the latest quote here: an order the market cannot fill yet (closed) would spin.
            self._place_in_book(order, check=False)
        except Exception:
            log.exception("filling order %s failed; it stays pending", resting.id)
        finally:
            self._in_flight.discard(resting.id)

    def _place_in_book(self, order: Order | None, *, check: bool = True) -> None:
        """Re-file an order after a change (on the event loop: the book is not shared with threads)."""
        if order is None:
            return
        book = self._books[order.symbol]
        book.remove(order.id)
        if order.status == "pending":
            self._catch_up(order)
            book.add(order)  # e.g. a stop_limit whose stop fired now rests as a limit
            if check:
                self._check_against_latest(order.symbol)
        else:
            self._drop_trail(order.id)

    def _catch_up(self, order: Order) -> None:
        """A trailing stop read from the database trails on from the best price this engine has seen of it."""
        seen = self._marks.get(order.id)
        if seen is not None and order.order_type == OrderType.TRAILING_STOP:
            rules.follow(order, seen.high_water_mark)
            self._marks[order.id] = order

    def _drop_trail(self, order_id: uuid.UUID) -> None:
        self._marks.pop(order_id, None)
        self._saved_at.pop(order_id, None)

    def _forget(self, symbol: str, order_id: uuid.UUID) -> None:
        book = self._books.get(symbol)
        if book is not None:
            book.remove(order_id)
        self._drop_trail(order_id)

    def _check_against_latest(self, *symbols: str) -> None:
        """A quote may have crossed an order before the book knew of it: try the latest one too."""
        latest = self._rt.hub.latest
        self._on_quotes([latest[s] for s in symbols if s in latest])

    async def _rebuild(self) -> None:
        def load() -> dict[str, TriggerBook]:
            books: dict[str, TriggerBook] = defaultdict(TriggerBook)
            with session_scope(self._rt.engine) as db:
                for order in orders.resting(db):
                    books[order.symbol].add(order)
            return books

        self._books = await keeping_lease(self._leadership, to_thread.run_sync(load))
        trailing = {oid: order for book in self._books.values() for oid, order in book.trailing.items()}
        for order_id in set(self._marks) - set(trailing):
            self._drop_trail(order_id)
        for order in trailing.values():
            self._catch_up(order)
        self._check_against_latest(*self._books)

    async def _follow_order_updates(self) -> None:
        """Orders placed or ended on any instance reach the book between rebuilds."""
        async for event in self._rt.events.follow("order_update"):
            try:
                order = event["data"]
                if order["status"] == "pending":  # resting: read it whole, for its trigger prices
                    self._place_in_book(await to_thread.run_sync(self._load, uuid.UUID(order["id"])))
                else:
                    self._forget(order["symbol"], uuid.UUID(order["id"]))
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("ignored a malformed order update: %s", exc)

    def _load(self, order_id: uuid.UUID) -> Order | None:
        with session_scope(self._rt.engine) as db:
            return db.get(Order, order_id)

    async def _expire_due(self) -> None:
        now, rt = self._now(), self._rt

        def due() -> list[Order]:
            with session_scope(rt.engine) as db:
                return orders.due_to_expire(db, now)

        for order in await to_thread.run_sync(due):
            await orders.expire(rt.store, rt.bus, resting=order, now=now)

    async def _housekeeping(self) -> None:
        def work() -> None:
            now = self._now()
            with session_scope(self._rt.engine) as db:
                portfolio.record_snapshots(db, self._rt.hub.latest, now)
                orders.purge_idempotency(db, before=now - IDEMPOTENCY_KEEP)

        await to_thread.run_sync(work)
