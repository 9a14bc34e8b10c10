"""The market feed: where this instance leads, run the simulator, publish its quotes and record their history."""

import asyncio
import copy
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import redis
from anyio import to_thread

from models.candle import DAY, MINUTE
from models.market import Candle, Quote
from models.types import utcnow
from services.infra.db import session_scope
from services.infra.leader import RENEW_EVERY, Leadership, keeping_lease, lead_forever
from services.market import history as market_history
from services.market import symbols
from services.market.candles import CandleBuilder
from services.market.clock import MarketClock, midnight
from services.market.quote_hub import QUOTES_CHANNEL, encode_batch
from services.market.simulator import MarketSimulator

if TYPE_CHECKING:  # the runtime builds on this module
    from services.runtime import Runtime

log = logging.getLogger(__name__)

TICK_SECONDS = 0.1  # ten batches a second; the configured rate sets how many quotes each carries
MAX_STEP_SECONDS = 0.5  # after a pause (closed market, slow loop) prices resume rather than jump
HISTORY_DAYS = 365
MINUTE_HISTORY_DAYS = 8


class MarketFeed:
    def __init__(
        self, rt: "Runtime", leadership: Leadership, clock: MarketClock, *, now: Callable[[], datetime] = utcnow
    ):
        self._rt = rt
        self._leadership = leadership
        self._clock = clock
        self._now = now

    async def run(self) -> None:
        """Publish whenever this instance holds the feed lock, for as long as the process lives."""
        await lead_forever(self._leadership, "market_feed", self._lead, held=self._rt.roles)

    async def _lead(self) -> None:
        settings = self._rt.settings
        per_tick = max(1, round(settings.market_feed_rate * TICK_SECONDS))
        sim = MarketSimulator(symbols.listings(), seed=settings.market_seed, symbols_per_step=per_tick)
        now = self._now()
        day = self._clock.trading_day(now)
        stored = await self._rt.quote_store.load()
        has_history = await keeping_lease(self._leadership, to_thread.run_sync(self._resume, sim, day, stored))
        await self._publish(sim.snapshot())  # every symbol is quoted from here on
        backfill = None
        if not has_history:
            # A new database's year of history is laid down behind the live quotes, from the market as first
            # published (a copy: the live tape moves on), so that the history ends where the quotes begin.
            history = copy.deepcopy(sim)
            backfill = asyncio.ensure_future(to_thread.run_sync(self._backfill, history, day, now))
        try:
            await self._trade(sim, day, backfill)
        finally:
            if backfill is not None and not backfill.done():
                backfill.cancel()  # not awaited: the worker thread finishes by itself

    async def _trade(self, sim: MarketSimulator, day: date, backfill: asyncio.Future | None) -> None:
        """Step the market and publish it, until the feed lock is lost."""
        builder = CandleBuilder()
        finished: dict[str, list[Candle]] = defaultdict(list)
        last_step = next_renew = time.monotonic()
        lagging = False
        while True:
            await asyncio.sleep(max(0.0, last_step + TICK_SECONDS - time.monotonic()))
            now, tick = self._now(), time.monotonic()
            dt, last_step = min(tick - last_step, MAX_STEP_SECONDS), tick
            today = self._clock.trading_day(now)
            if today != day:
                if backfill is not None:
                    await backfill  # the day closes from its minutes, the backfilled ones too
                await to_thread.run_sync(self._roll, dict(finished), sim.symbols, day, now)
                finished.clear()
                sim.roll_day()
                day = today
            quotes = sim.step(dt) if self._clock.is_open(now) else []  # an empty batch is the heartbeat
            for quote in quotes:
                if (candle := builder.add(quote)) is not None:
                    finished[quote.symbol].append(candle)
            await self._publish(quotes)
            if self._rt.bus.degraded:
                lagging = True  # the other instances are missing these ticks
            elif lagging:
                lagging = False
                await self._publish(sim.snapshot())  # Redis is back: every instance catches up at once
            if tick >= next_renew:
                next_renew = tick + RENEW_EVERY
                if backfill is not None and backfill.done():
                    backfill.result()  # a failed backfill fails the feed, which starts again and retries it
                    backfill = None
                if finished:
                    batch = dict(finished)
                    finished.clear()
                    await to_thread.run_sync(self._save, MINUTE, batch)
                if not await self._leadership.renew():
                    log.warning("lost the market feed lock; another instance publishes now")
                    return

    async def _publish(self, quotes: list[Quote]) -> None:
        try:
            await self._rt.quote_store.save(quotes)
        except redis.RedisError as exc:
            log.warning("could not store the latest quotes: %s", exc)
        await self._rt.bus.apublish(QUOTES_CHANNEL, encode_batch(quotes))

    def _save(self, resolution: str, candles: dict[str, list[Candle]]) -> None:
        with session_scope(self._rt.engine) as db:
            market_history.save(db, resolution, candles)

    def _roll(self, finished: dict[str, list[Candle]], names: tuple[str, ...], day: date, now: datetime) -> None:
        """Close a trading day: its last minutes, its daily candles, and minute history past its keep."""
        with session_scope(self._rt.engine) as db:
            market_history.save(db, MINUTE, finished)
            market_history.roll_day(db, names, day, self._clock)
            market_history.prune_minutes(db, before=now - timedelta(days=MINUTE_HISTORY_DAYS))

    def _resume(self, sim: MarketSimulator, day: date, stored: list[Quote]) -> bool:
        """Continue from where the last feed stopped; False when the database has no price history yet."""
        with session_scope(self._rt.engine) as db:
            latest = {q.symbol: q for q in stored}
            closes = market_history.latest_closes(db, MINUTE)
            prev_closes = market_history.latest_closes(db, DAY, before=midnight(day))
            for symbol in sim.symbols:
                quote = latest.get(symbol)
                if quote is not None:
                    same_day = self._clock.trading_day(_ms_time(quote.timestamp)) == day
                    sim.restore(
                        symbol,
                        last=quote.last,
                        prev_close=quote.prev_close if same_day else quote.last,
                        volume=quote.volume if same_day else 0,
                    )
                elif symbol in closes:
                    last = closes[symbol]
                    sim.restore(symbol, last=last, prev_close=prev_closes.get(symbol, last), volume=0)
            return market_history.has_history(db)

    def _backfill(self, sim: MarketSimulator, day: date, now: datetime) -> None:
        """A year of daily candles and today's minutes, ending at the simulator's prices."""
        started = time.monotonic()
        with session_scope(self._rt.engine) as db:
            opens, closes = self._clock.session(day)
            end = min(now, closes)
            if opens < end:
                market_history.save(db, MINUTE, sim.backfill_minutes(opens, end))
            # The daily candles last: they are what `has_history` looks for, so a backfill cut short runs again.
            market_history.save(db, DAY, sim.backfill_daily(HISTORY_DAYS, end=day))
        log.info("backfilled a year of price history in %.1f s", time.monotonic() - started)


def _ms_time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
